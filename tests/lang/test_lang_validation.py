"""Every error case, with its position."""
import textwrap

import pytest

from levante.lang import DSLError, DSLErrors, parse_actions, parse_workbook, parse_workflows, validate


def errs(text, **kw):
    """[(line, column, message)] of a document's errors."""
    return [(e.line, e.column, e.message) for e in validate(textwrap.dedent(text), **kw)]


def msgs(text, **kw):
    return [(e.line, e.message) for e in validate(textwrap.dedent(text), **kw)]


# ---------------------------------------------------------------- document


def test_missing_task_example_from_contract():
    text = textwrap.dedent("""\
        ---
        version: '2.0'
        wf:
          tasks:
            a:
              on-success:
                - missing_task
        """)
    with pytest.raises(DSLErrors) as ei:
        parse_workflows(text)
    assert str(ei.value) == "line 7, column 11: Task 'missing_task' not found."
    assert (ei.value.line, ei.value.column) == (7, 11)
    assert isinstance(ei.value.errors[0], DSLError)


def test_yaml_syntax_error():
    text = "version: '2.0'\nwf:\n  tasks:\n    a: b: c\n"
    [(line, col, msg)] = errs(text)
    assert (line, col) == (4, 9)
    assert msg.startswith("Definition could not be parsed: mapping values are not allowed")
    with pytest.raises(DSLErrors) as ei:
        parse_workflows(text)
    assert ei.value.line == 4


def test_yaml_unclosed_flow():
    [(line, _, msg)] = errs("version: '2.0'\nwf: {tasks: [\n")
    assert line == 3 and msg.startswith("Definition could not be parsed: ")


def test_yaml_tab_indentation():
    [(line, col, _)] = errs("version: '2.0'\nwf:\n\ttasks: {}\n")
    assert (line, col) == (3, 1)


def test_yaml_unsafe_tag_and_unhashable_key():
    assert errs("version: '2.0'\nwf: !!python/object:os.system {}\n")[0][:2] == (2, 5)
    assert errs("version: '2.0'\n? [a]\n: b\n")[0][0] == 2


def test_several_documents():
    [(line, _, msg)] = errs("version: '2.0'\n---\nversion: '2.0'\n")
    assert line == 2 and "single document" in msg


@pytest.mark.parametrize("text", ["", "# only a comment\n", "---\n"])
def test_empty(text):
    assert errs(text) == [(1, 1, "Definition is empty.")]


@pytest.mark.parametrize("text, kind", [("- a\n- b\n", "list"), ("just text\n", "string"), ("42", "number")])
def test_not_a_mapping(text, kind):
    assert errs(text) == [(1, 1, f"Definition must be a YAML mapping, got {kind}.")]


def test_missing_version():
    assert msgs("""\
        wf:
          tasks:
            a: {}
        """) == [(1, "Missing required key 'version' (must be '2.0').")]


@pytest.mark.parametrize("value", ["'1.0'", "'2.1'", "abc", "true", "[2]", ""])
def test_wrong_version(value):
    text = f"# comment\nversion: {value}\nwf:\n  tasks:\n    a: {{}}\n"
    [(line, msg)] = msgs(text)
    assert line == 2 and msg.startswith("Unsupported DSL version")


def test_no_workflows():
    assert msgs("version: '2.0'\n") == [(1, "No workflows found in the definition.")]


def test_workflow_body_not_mapping():
    assert errs("""\
        version: '2.0'
        wf1: hello
        wf2:
        wf3: [1]
        """) == [
        (2, 6, "Workflow 'wf1' must be a mapping, got string."),
        (3, 1, "Workflow 'wf2' must be a mapping, got null."),
        (4, 6, "Workflow 'wf3' must be a mapping, got list."),
    ]


def test_workflow_name_not_string():
    assert msgs("version: '2.0'\n123:\n  tasks:\n    a: {}\n") == [
        (2, "Workflow name must be a non-empty string, got 123.")]


# ---------------------------------------------------------------- workflow keys


def test_unknown_workflow_key():
    assert errs("""\
        version: '2.0'
        wf:
          tasks:
            a: {}
          bogus_key: 1
        """) == [(5, 3, "Unknown key 'bogus_key' in workflow 'wf'.")]


def test_tasks_missing_empty_wrong():
    assert msgs("""\
        version: '2.0'
        wf1:
          description: no tasks
        wf2:
          tasks:
        wf3:
          tasks: {}
        wf4:
          tasks: [a, b]
        """) == [
        (2, "Missing required key 'tasks' in workflow 'wf1'."),
        (5, "'tasks' of workflow 'wf2' must not be empty."),
        (7, "'tasks' of workflow 'wf3' must not be empty."),
        (9, "'tasks' of workflow 'wf4' must be a mapping of task names to tasks, got list."),
    ]


def test_workflow_field_types():
    assert msgs("""\
        version: '2.0'
        wf:
          type: sideways
          description: [not, text]
          tags: oops
          input:
            - ok
            - {a: 1, b: 2}
            - 5
            - ok
          vars: [1]
          tasks:
            a: {}
        """) == [
        (3, "Invalid type 'sideways' of workflow 'wf': must be 'direct' or 'reverse'."),
        (4, "'description' of workflow 'wf' must be a string, got list."),
        (5, "'tags' of workflow 'wf' must be a list of strings."),
        (8, "Invalid input parameter in workflow 'wf': expected a name or a single-key mapping "
            "{name: default}, got {'a': 1, 'b': 2}."),
        (9, "Invalid input parameter in workflow 'wf': expected a name or a single-key mapping "
            "{name: default}, got 5."),
        (10, "Duplicate input parameter 'ok' in workflow 'wf'."),
        (11, "'vars' of workflow 'wf' must be a mapping, got list."),
    ]


def test_input_not_a_list():
    assert msgs("version: '2.0'\nwf:\n  input: {a: 1}\n  tasks:\n    t: {}\n") == [
        (3, "'input' of workflow 'wf' must be a list of names or single-key mappings.")]


# ---------------------------------------------------------------- tasks


def test_task_errors():
    assert errs("""\
        version: '2.0'
        wf:
          tasks:
            a: just a string
            fail:
              action: std.noop
            b:
              action: std.noop
              workflow: other
              bogus: 1
              requires: [a]
        """) == [
        (4, 8, "Task 'a' of workflow 'wf' must be a mapping, got string."),
        (7, 5, "Task 'b' cannot have both 'action' and 'workflow'."),
        (10, 7, "Unknown key 'bogus' in task 'b'."),
        (11, 7, "Key 'requires' is not allowed in task 'b': it belongs to reverse workflows."),
    ]


def test_direct_keys_in_reverse_workflow():
    assert msgs("""\
        version: '2.0'
        wf:
          type: reverse
          tasks:
            a:
              on-success: b
              join: all
            b: {}
        """) == [
        (6, "Key 'on-success' is not allowed in task 'a': it belongs to direct workflows."),
        (7, "Key 'join' is not allowed in task 'a': it belongs to direct workflows."),
    ]


def test_action_and_input_errors():
    assert msgs("""\
        version: '2.0'
        wf:
          tasks:
            a:
              action: [std.echo]
            b:
              action: std.echo output="x
            c:
              action: x=1
            d:
              action: std.echo
              input: [1, 2]
              publish: <% $.x %>
              publish-on-error: 3
            e:
              workflow: ""
        """) == [
        (5, "'action' of task 'a' must be a non-empty string."),
        (7, "Invalid 'action' of task 'b': Unterminated quoted string in 'std.echo output=\"x'"),
        (9, "Invalid 'action' of task 'c': missing action name in 'x=1'."),
        (12, "'input' of task 'd' must be a mapping or an expression, got list."),
        (13, "'publish' of task 'd' must be a mapping, got string."),
        (14, "'publish-on-error' of task 'd' must be a mapping, got number."),
        (16, "'workflow' of task 'e' must be a non-empty string."),
    ]


def test_unknown_action_reports_task_line():
    assert errs("""\
        version: '2.0'
        wf:
          tasks:
            a:
              description: uses an unknown action
              action: no.such.action x=1
        """, known_action=lambda n: False) == [(4, 5, "Action 'no.such.action' not found.")]


def test_known_action_exceptions_mean_unknown():
    def boom(name):
        raise RuntimeError("db down")
    assert msgs("version: '2.0'\nwf:\n  tasks:\n    a:\n      action: x\n", known_action=boom) == [
        (4, "Action 'x' not found.")]


# ---------------------------------------------------------------- transitions


def test_transition_targets_not_found():
    assert errs("""\
        version: '2.0'
        wf:
          task-defaults:
            on-error: nowhere
          tasks:
            a:
              on-success: missing1
              on-error:
                - b
                - missing2
                - missing3: <% $.x %>
              on-complete:
                publish: {x: 1}
                next:
                  - missing4
              on-skip: {missing5: <% true %>}
            b: {}
        """) == [
        (4, 15, "Task 'nowhere' not found."),
        (7, 19, "Task 'missing1' not found."),
        (10, 11, "Task 'missing2' not found."),
        (11, 11, "Task 'missing3' not found."),
        (15, 13, "Task 'missing4' not found."),
        (16, 17, "Task 'missing5' not found."),
    ]


def test_transition_shape_errors():
    assert msgs("""\
        version: '2.0'
        wf:
          tasks:
            a:
              on-success:
                - {b: <% true %>, c: <% false %>}
                - [b]
                - b x=1
                - fail msg="unterminated
              on-error:
                publish: [1]
                next: b
                later: c
              on-complete:
                - 5
            b: {}
            c: {}
        """) == [
        (6, "Invalid transition in 'on-success' of task 'a': a mapping item must have exactly "
            "one key ({task_name: condition})."),
        (7, "Invalid transition in 'on-success' of task 'a': expected a task name or "
            "{task_name: condition}."),
        (8, "Invalid transition 'b x=1': only engine commands (fail, succeed, pause, noop) "
            "take parameters."),
        (9, "Invalid transition 'fail msg=\"unterminated': Unterminated quoted string in "
            "'fail msg=\"unterminated'"),
        (11, "'publish' of 'on-error' of task 'a' must be a mapping, got list."),
        (13, "Unknown key 'later' in 'on-error' of task 'a' (expected 'publish' and/or 'next')."),
        (15, "Invalid transition target 5."),
    ]


def test_requires_errors():
    assert msgs("""\
        version: '2.0'
        wf:
          type: reverse
          tasks:
            a:
              requires: [b, ghost]
            b:
              requires: {x: 1}
            c:
              requires: nothing
        """) == [
        (6, "Task 'ghost' not found."),
        (8, "'requires' of task 'b' must be a task name or a list of task names."),
        (10, "Task 'nothing' not found."),
    ]


# ---------------------------------------------------------------- policies


def test_policy_errors():
    assert msgs("""\
        version: '2.0'
        wf:
          tasks:
            a:
              join: 0
              with-items: x on <% $.xs %>
              concurrency: -1
              wait-before: soon
              wait-after: true
              timeout: [1]
              pause-before: maybe
              keep-result: 1
              safe-rerun: yes please
              fail-on: 3
              target: 4
              description: 5
              tags: [1]
            b:
              join: many
              with-items:
                - x in <% $.xs %>
                - y in notalist
                - 3 in [1]
                - q in [1, 2
                - r in <% $.a %> and more
            c:
              with-items: []
        """) == [
        (5, "'join' of task 'a' must be 'all', 'one' or a positive integer, got 0."),
        (6, "Invalid 'with-items' of task 'a': 'x on <% $.xs %>'; expected 'var in <% $.list %>' "
            "or 'var in [literal, list]'."),
        (7, "'concurrency' of task 'a' must be a non-negative integer or an expression, got -1."),
        (8, "'wait-before' of task 'a' must be a non-negative number or an expression, got 'soon'."),
        (9, "'wait-after' of task 'a' must be a non-negative number or an expression, got True."),
        (10, "'timeout' of task 'a' must be a non-negative number or an expression, got [1]."),
        (11, "'pause-before' of task 'a' must be a boolean or an expression, got 'maybe'."),
        (12, "'keep-result' of task 'a' must be a boolean or an expression, got 1."),
        (13, "'safe-rerun' of task 'a' must be a boolean or an expression, got 'yes please'."),
        (14, "'fail-on' of task 'a' must be an expression or a boolean, got 3."),
        (15, "'target' of task 'a' must be a string, got number."),
        (16, "'description' of task 'a' must be a string, got number."),
        (17, "'tags' of task 'a' must be a list of strings."),
        (19, "'join' of task 'b' must be 'all', 'one' or a positive integer, got 'many'."),
        (22, "Invalid 'with-items' of task 'b': 'y in notalist'; expected 'var in <% $.list %>' "
             "or 'var in [literal, list]'."),
        (23, "Invalid 'with-items' of task 'b': '3 in [1]'; expected 'var in <% $.list %>' "
             "or 'var in [literal, list]'."),
        (24, "Invalid 'with-items' of task 'b': 'q in [1, 2'; expected 'var in <% $.list %>' "
             "or 'var in [literal, list]'."),
        (25, "Invalid 'with-items' of task 'b': 'r in <% $.a %> and more'; expected "
             "'var in <% $.list %>' or 'var in [literal, list]'."),
        (27, "'with-items' of task 'c' must not be empty."),
    ]


def test_retry_errors():
    assert msgs("""\
        version: '2.0'
        wf:
          tasks:
            a:
              retry: 3
            b:
              retry: count=x delay=1
            c:
              retry: count=3 tries=2
            d:
              retry:
                count: -1
                delay: later
                backoff: 2
            e:
              retry: count 3
        """) == [
        (5, "'retry' of task 'a' must be a mapping or a 'count=N delay=N' string, got number."),
        (7, "'count' of 'retry' of task 'b' must be a non-negative integer or an expression, got 'x'."),
        (9, "Unknown key 'tries' in 'retry' of task 'c'."),
        (12, "'count' of 'retry' of task 'd' must be a non-negative integer or an expression, got -1."),
        (13, "'delay' of 'retry' of task 'd' must be a non-negative number or an expression, got 'later'."),
        (14, "Unknown key 'backoff' in 'retry' of task 'd'."),
        (16, "Invalid 'retry' of task 'e': Invalid parameter 'count' in 'count 3' (expected key=value)"),
    ]


def test_task_defaults_errors():
    assert msgs("""\
        version: '2.0'
        wf:
          task-defaults:
            action: std.noop
            timeout: never
          tasks:
            a: {}
        wf2:
          task-defaults: [1]
          tasks:
            a: {}
        """) == [
        (4, "Unknown key 'action' in task-defaults of workflow 'wf'."),
        (5, "'timeout' of task-defaults of workflow 'wf' must be a non-negative number or an "
            "expression, got 'never'."),
        (9, "'task-defaults' of workflow 'wf2' must be a mapping, got list."),
    ]


# ---------------------------------------------------------------- expressions


def test_yaql_errors_everywhere():
    assert errs("""\
        version: '2.0'
        wf:
          input:
            - a: <% 1 + %>
          vars:
            v: <% $.( %>
          output:
            o: "<% $.ok %> and <% $.bad. %>"
          tasks:
            t:
              action: std.echo output=<% $.x = %>
              input:
                deep:
                  - k: <% ] %>
              publish:
                p: <% $.y[ %>
              with-items: x in <% $.xs. %>
              on-success:
                - u: <% $.z and %>
              description: <% this is not checked %>
            u: {}
        """) == [
        (4, 10, "Invalid YAQL expression '1 +': Parse error: unexpected end of statement"),
        (6, 8, "Invalid YAQL expression '$.(': Parse error: unexpected end of statement"),
        (8, 24, "Invalid YAQL expression '$.bad.': Parse error: unexpected end of statement"),
        (11, 31, "Invalid YAQL expression '$.x =': Parse error: unexpected end of statement"),
        (14, 16, "Invalid YAQL expression ']': Parse error: unexpected ']' at position 0 of "
                 "expression ']'"),
        (16, 12, "Invalid YAQL expression '$.y[': Parse error: unexpected end of statement"),
        (17, 24, "Invalid YAQL expression '$.xs.': Parse error: unexpected end of statement"),
        (19, 14, "Invalid YAQL expression '$.z and': Parse error: unexpected end of statement"),
    ]


def test_valid_yaql_is_fine():
    assert errs("""\
        version: '2.0'
        wf:
          tasks:
            t:
              action: std.echo output=<% $.a.where($.x > 1).select($.y) %>
              publish:
                a: <% task(t).result[0].body %>
                b: <% $.letter in ['a', 'b'] and not $.x = true %>
                c: <% let(x => 1) -> $x %>
                d: "<% $.a %>-<% $.b %>"
                e: <% json_pp($.x) %>
        """) == []


def test_jinja_errors():
    assert errs("""\
        version: '2.0'
        wf:
          tasks:
            t:
              action: std.echo output="{{ _.x }}"
              publish:
                ok: "{{ _.x | default('y') }}"
                bad: "{{ _.x | }}"
                block: "{% if _.x %}yes"
        """) == [
        (8, 15, "Invalid Jinja expression '{{ _.x | }}': expected token 'name', got 'end of print statement'"),
        (9, 17, "Invalid Jinja expression '{% if _.x %}yes': Unexpected end of template. Jinja was "
                "looking for the following tags: 'elif' or 'else' or 'endif'. The innermost block "
                "that needs to be closed is 'if'."),
    ]


# ---------------------------------------------------------------- workbooks / actions


def test_workbook_errors():
    assert msgs("""\
        version: '2.0'
        description: no name
        triggers: {}
        workflows:
          wf:
            tasks:
              a:
                on-success: nope
        actions:
          act:
            bogus: 1
          self_based:
            base: self_based
          bad_base:
            base: x=1
        """, kind="workbook") == [
        (1, "Missing required key 'name' in workbook."),
        (3, "Unknown key 'triggers' in workbook."),
        (8, "Task 'nope' not found."),
        (10, "Missing required key 'base' in action 'act'."),
        (11, "Unknown key 'bogus' in action 'act'."),
        (13, "Action 'self_based' cannot be based on itself."),
        (15, "Invalid 'base' of action 'bad_base': missing action name in 'x=1'."),
    ]
    with pytest.raises(DSLErrors):
        parse_workbook(textwrap.dedent("version: '2.0'\nworkflows: {}\n"))


def test_workbook_sections_types():
    assert msgs("""\
        version: '2.0'
        name: [x]
        workflows: [a]
        actions: 3
        """, kind="workbook") == [
        (2, "Workbook name must be a non-empty string, got ['x']."),
        (3, "'workflows' of the workbook must be a mapping of names to workflows, got list."),
        (4, "'actions' of the workbook must be a mapping of names to actions, got number."),
    ]


def test_actions_document_errors():
    assert msgs("""\
        version: '2.0'
        a1: 5
        a2:
          base: std.echo output=<% 1 + %>
          input: {x: 1}
          base-input: [1]
        """, kind="actions") == [
        (2, "Action 'a1' must be a mapping, got number."),
        (4, "Invalid YAQL expression '1 +': Parse error: unexpected end of statement"),
        (5, "'input' of action 'a2' must be a list of names or single-key mappings."),
        (6, "'base-input' of action 'a2' must be a mapping, got list."),
    ]
    with pytest.raises(DSLErrors):
        parse_actions("version: '2.0'\n")


# ---------------------------------------------------------------- collection / robustness


def test_all_errors_collected_in_order():
    text = textwrap.dedent("""\
        version: '2.0'
        wf1:
          tasks:
            a:
              on-success: x1
        wf2:
          bogus: 1
          tasks:
            b:
              on-error: x2
        """)
    with pytest.raises(DSLErrors) as ei:
        parse_workflows(text)
    assert [(e.line, e.message) for e in ei.value.errors] == [
        (5, "Task 'x1' not found."),
        (7, "Unknown key 'bogus' in workflow 'wf2'."),
        (10, "Task 'x2' not found."),
    ]
    assert str(ei.value).count("\n") == 2


def test_validate_autodetects_workbook():
    wb = "version: '2.0'\nname: wb\nworkflows:\n  wf:\n    tasks:\n      a: {}\n"
    assert validate(wb) == []
    assert validate(wb, kind="workflows") != []


def test_validate_unknown_kind():
    with pytest.raises(ValueError):
        validate("version: '2.0'\n", kind="nonsense")


@pytest.mark.parametrize("bad", [None, 5, b"\xff\xfe", "x: " + "[" * 1500, object()])
def test_validate_never_raises(bad):
    out = validate(bad)
    assert out and all(isinstance(e, DSLError) for e in out)


def test_validate_accepts_bytes():
    assert validate(b"version: '2.0'\nwf:\n  tasks:\n    a: {}\n") == []


def test_alias_bomb_is_quick():
    import time
    lines = ["version: '2.0'", "a0: &a0 ['<% $.x %>', '<% $.x %>']"]
    for i in range(1, 25):
        lines.append(f"a{i}: &a{i} [*a{i-1}, *a{i-1}]")
    lines.append("wf:\n  vars:\n    v: *a24\n  tasks:\n    t: {}")
    start = time.time()
    out = validate("\n".join(lines) + "\n")
    assert time.time() - start < 5
    assert out  # a0..a24 are not workflows
