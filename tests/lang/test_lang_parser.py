"""Semantics of the workflow language parser."""
import textwrap

import pytest

from levante.lang import (
    DSLErrors, InputParam, OnClause, RetryPolicy, Transition, WithItems,
    parse_actions, parse_workbook, parse_workflows,
)


def wfs(text, **kw):
    return parse_workflows(textwrap.dedent(text), **kw)


def one(text, **kw):
    [wf] = wfs(text, **kw)
    return wf


def test_version_forms():
    for v in ("'2.0'", '"2.0"', "2.0"):
        assert one(f"version: {v}\nwf:\n  tasks:\n    t: {{action: std.noop}}\n").name == "wf"


def test_workflow_fields():
    wf = one("""
        version: '2.0'
        wf:
          type: direct
          description: Does things
          tags: [a, b]
          input:
            - a
            - b: 2
            - c: null
            - d: {x: <% $.y %>}
          output:
            res: <% $.r %>
          output-on-error:
            err: <% $.e %>
          vars:
            v1: 1
          tasks:
            t:
              action: std.noop
        """)
    assert wf.description == "Does things"
    assert wf.tags == ("a", "b")
    assert wf.input == (InputParam("a"), InputParam("b", 2), InputParam("c", None),
                        InputParam("d", {"x": "<% $.y %>"}))
    assert wf.input[0].required and not wf.input[2].required
    assert wf.output == {"res": "<% $.r %>"}
    assert wf.output_on_error == {"err": "<% $.e %>"}
    assert wf.vars == {"v1": 1}
    assert wf.task_defaults == {}
    assert wf.line == 3


def test_several_workflows_and_definitions():
    text = textwrap.dedent("""\
        ---
        version: '2.0'

        # first one
        wf1:
          tasks:
            a:
              action: std.noop   # trailing comment

        # second one
        wf2:
          description: |
            multi
            line

          tasks:
            b:
              action: std.echo output=1
        """)
    wf1, wf2 = parse_workflows(text)
    assert (wf1.line, wf2.line) == (5, 11)
    # Several workflows: each is the version line and its own lines.
    assert wf1.definition == (
        "version: '2.0'\nwf1:\n  tasks:\n    a:\n      action: std.noop   # trailing comment\n")
    assert wf2.definition == (
        "version: '2.0'\nwf2:\n  description: |\n    multi\n    line\n\n  tasks:\n    b:\n"
        "      action: std.echo output=1\n")
    assert parse_workflows(wf2.definition)[0].description == "multi\nline\n"


def test_one_workflow_definition_is_the_text_byte_for_byte():
    # As Mistral: no header added, comments and blank lines kept.
    text = "---\n# mine\nversion: \"2.0\"\nwf:   # the one\n  tasks:\n    t: {}\n\n\n"
    [wf] = parse_workflows(text)
    assert wf.definition == text
    [a] = parse_actions("version: '2.0'\n\nact:\n  base: std.noop\n")
    assert a.definition == "version: '2.0'\n\nact:\n  base: std.noop\n"


def test_flow_style_definition_falls_back_to_dump():
    wf1, wf2 = parse_workflows("{version: '2.0', a: {tasks: {t: {action: std.noop}}}, b: {tasks: {u: {}}}}")
    assert wf1.definition.startswith("version: '2.0'\n")
    assert parse_workflows(wf1.definition)[0].tasks["t"].action == "std.noop"
    assert list(parse_workflows(wf2.definition)[0].tasks) == ["u"]


def test_action_inline_and_explicit_input():
    wf = one("""
        version: '2.0'
        wf:
          tasks:
            t:
              action: std.echo output="inline" other=1
              input:
                output: explicit
                more: <% $.x %>
        """)
    t = wf.tasks["t"]
    assert t.action == "std.echo"
    # Mistral merges the inline parameters over `input:` (utils.merge_dicts(input, params)).
    assert t.input == {"output": "inline", "other": 1, "more": "<% $.x %>"}


def test_workflow_task_inline():
    wf = one("""
        version: '2.0'
        wf:
          tasks:
            t:
              workflow: sub_wf param1=<% $.p %> flag=true
        """)
    t = wf.tasks["t"]
    assert t.workflow == "sub_wf" and t.action is None
    assert t.input == {"param1": "<% $.p %>", "flag": True}


def test_action_expression():
    t = one("""
        version: '2.0'
        wf:
          tasks:
            t:
              action: <% $.action_name %>
        """, known_action=lambda n: False).tasks["t"]
    assert t.action == "<% $.action_name %>"


def test_task_without_action_is_noop_spec():
    t = one("version: '2.0'\nwf:\n  tasks:\n    t:\n    u: {}\n").tasks
    assert t["t"].action is None and t["t"].workflow is None and t["t"].input == {}
    assert t["u"].action is None


def test_transitions_forms():
    wf = one("""
        version: '2.0'
        wf:
          tasks:
            a:
              on-success: b
              on-error:
                - c
                - d: <% $.x > 1 %>
                - fail msg="a failed": <% $.fatal %>
              on-complete:
                - succeed
                - pause msg='wait'
              on-skip: d
            b: {}
            c: {}
            d: {}
        """)
    a = wf.tasks["a"]
    assert a.on_success == OnClause(next=(Transition("b"),))
    assert a.on_error.next == (
        Transition("c"), Transition("d", "<% $.x > 1 %>"),
        Transition("fail", "<% $.fatal %>", {"msg": "a failed"}))
    assert a.on_complete.next == (Transition("succeed"), Transition("pause", None, {"msg": "wait"}))
    assert a.on_complete.next[0].is_command
    assert a.on_skip.next == (Transition("d"),)
    assert [t.name for t in wf.start_tasks()] == ["a"]


def test_engine_command_with_plain_condition_key():
    a = one("""
        version: '2.0'
        wf:
          tasks:
            a:
              on-complete:
                - fail: <% $.bad %>
        """).tasks["a"]
    assert a.on_complete.next == (Transition("fail", "<% $.bad %>"),)


def test_task_names_with_spaces_and_equals_like_commands():
    wf = one("""
        version: '2.0'
        wf:
          tasks:
            first task:
              on-success: second task
            second task: {}
        """)
    assert wf.tasks["first task"].on_success.next == (Transition("second task"),)


def test_advanced_on_clause():
    wf = one("""
        version: '2.0'
        wf:
          tasks:
            a:
              on-success:
                publish:
                  branch:
                    x: 1
                  global:
                    g: <% $.y %>
                next:
                  - b: <% $.x = 1 %>
                  - c
              on-error:
                publish:
                  err: <% task().result %>
                next: c
              on-complete:
                publish:
                  only: 1
            b: {}
            c: {}
        """)
    a = wf.tasks["a"]
    assert a.on_success == OnClause(
        next=(Transition("b", "<% $.x = 1 %>"), Transition("c")),
        publish={"x": 1}, publish_global={"g": "<% $.y %>"})
    assert a.on_error == OnClause(next=(Transition("c"),), publish={"err": "<% task().result %>"})
    assert a.on_complete == OnClause(publish={"only": 1})


def test_single_mapping_transitions():
    a = one("""
        version: '2.0'
        wf:
          tasks:
            a:
              on-success: {b: <% $.ok %>}
            b: {}
        """).tasks["a"]
    assert a.on_success.next == (Transition("b", "<% $.ok %>"),)


def test_join_and_publish():
    wf = one("""
        version: '2.0'
        wf:
          tasks:
            a:
              on-success: d
              publish:
                x: 1
              publish-on-error:
                y: 2
            b:
              on-success: d
            c:
              on-success: e
            d:
              join: all
            e:
              join: 2
            f:
              join: one
        """)
    assert wf.tasks["d"].join == "all"
    assert wf.tasks["e"].join == 2
    assert wf.tasks["f"].join == "one"
    assert wf.tasks["a"].join is None
    assert wf.tasks["a"].publish == {"x": 1}
    assert wf.tasks["a"].publish_on_error == {"y": 2}


def test_with_items_forms():
    wf = one("""
        version: '2.0'
        wf:
          tasks:
            a:
              with-items: x in <% $.xs %>
              concurrency: 2
            b:
              with-items:
                - x in <% $.xs %>
                - y in {{ _.ys }}
                - z in [1, 2, 'three']
              concurrency: <% $.c %>
        """)
    assert wf.tasks["a"].with_items == WithItems((("x", "<% $.xs %>"),))
    assert wf.tasks["a"].concurrency == 2
    assert wf.tasks["b"].with_items == WithItems(
        (("x", "<% $.xs %>"), ("y", "{{ _.ys }}"), ("z", [1, 2, "three"])))
    assert wf.tasks["b"].concurrency == "<% $.c %>"


def test_policies():
    wf = one("""
        version: '2.0'
        wf:
          tasks:
            a:
              retry:
                count: 3
                delay: 0.5
                break-on: <% $.stop %>
                continue-on: <% $.go %>
              wait-before: 1
              wait-after: <% $.w %>
              timeout: 30
              pause-before: <% $.p %>
              fail-on: <% $.f %>
              keep-result: false
              safe-rerun: true
              target: <% $.host %>
              description: the a task
              tags: [x]
            b:
              retry: count=<% $.n %> delay=2
        """)
    a = wf.tasks["a"]
    assert a.retry == RetryPolicy(3, 0.5, "<% $.stop %>", "<% $.go %>")
    assert (a.wait_before, a.wait_after, a.timeout) == (1, "<% $.w %>", 30)
    assert a.pause_before == "<% $.p %>"
    assert a.fail_on == "<% $.f %>"
    assert a.keep_result is False and a.safe_rerun is True
    assert a.target == "<% $.host %>"
    assert a.description == "the a task" and a.tags == ("x",)
    assert wf.tasks["b"].retry == RetryPolicy(count="<% $.n %>", delay=2)
    assert wf.tasks["b"].keep_result is True


def test_task_defaults_policies():
    wf = one("""
        version: '2.0'
        wf:
          task-defaults:
            retry:
              count: 2
              delay: 1
            timeout: 10
            keep-result: false
            safe-rerun: true
            concurrency: 3
            wait-before: 1
            wait-after: 2
            pause-before: false
            fail-on: <% false %>
            target: h
          tasks:
            a:
              timeout: 99
              retry: count=7
            b:
              keep-result: true
        """)
    assert wf.task_defaults["timeout"] == 10
    assert wf.task_defaults["retry"] == {"count": 2, "delay": 1}
    a, b = wf.tasks["a"], wf.tasks["b"]
    assert a.timeout == 99 and a.retry == RetryPolicy(count=7)
    assert a.keep_result is False and a.safe_rerun is True
    assert b.timeout == 10 and b.retry == RetryPolicy(2, 1)
    assert b.keep_result is True
    for t in (a, b):
        assert (t.concurrency, t.wait_before, t.wait_after, t.pause_before, t.fail_on, t.target) == (
            3, 1, 2, False, "<% false %>", "h")


def test_task_defaults_transitions():
    wf = one("""
        version: '2.0'
        wf:
          task-defaults:
            on-error:
              - handle_error
            on-complete: log
          tasks:
            a:
              on-success: b
            b:
              on-error: other
            other: {}
            handle_error:
              on-complete: []
            log: {}
        """)
    t = wf.tasks
    assert t["a"].on_error.next == (Transition("handle_error"),)
    assert t["a"].on_complete.next == (Transition("log"),)
    assert t["b"].on_error.next == (Transition("other"),)
    # no self transitions from defaults
    assert t["handle_error"].on_error is None
    assert t["log"].on_complete is None
    assert t["log"].on_error.next == (Transition("handle_error"),)
    # an explicitly empty clause still gets the default (like Mistral)
    assert t["handle_error"].on_complete.next == (Transition("log"),)
    assert [s.name for s in wf.start_tasks()] == ["a"]


def test_task_defaults_advanced_clause_self_removed():
    wf = one("""
        version: '2.0'
        wf:
          task-defaults:
            on-success:
              publish: {p: 1}
              next: [a]
          tasks:
            a: {}
            b: {}
        """)
    assert wf.tasks["a"].on_success == OnClause(publish={"p": 1})
    assert wf.tasks["b"].on_success == OnClause(next=(Transition("a"),), publish={"p": 1})


def test_reverse_workflow():
    wf = one("""
        version: '2.0'
        wf:
          type: reverse
          task-defaults:
            requires: [init]
          tasks:
            init:
              action: std.noop
            a:
              requires: init
            b:
              requires: [a, init]
            c:
              requires: [a, b]
        """)
    assert wf.type == "reverse"
    t = wf.tasks
    assert t["init"].requires == ()
    assert t["a"].requires == ("init",)
    assert t["b"].requires == ("a", "init")
    assert t["c"].requires == ("a", "b", "init")


def test_known_action():
    text = """
        version: '2.0'
        wf:
          tasks:
            a:
              action: std.echo output=1
            b:
              action: my.unknown
            c:
              action: <% $.dynamic %>
            d: {}
        """
    known = {"std.echo"}
    with pytest.raises(DSLErrors) as ei:
        wfs(text, known_action=known.__contains__)
    assert [(e.message, e.line) for e in ei.value.errors] == [("Action 'my.unknown' not found.", 7)]
    assert one(text).tasks["b"].action == "my.unknown"


WORKBOOK = """\
version: '2.0'
name: my_wb
description: A workbook
tags: [t1]

actions:
  greet:
    base: std.echo output="Hi <% $.name %>"
    base-input:
      extra: 1
    input:
      - name
      - punct: "!"
    output: <% $ %>
  greet2:
    base: greet name=bob

workflows:
  main:
    tasks:
      a:
        action: greet name=x
        on-success: b
      b:
        action: my_wb.greet2
        on-success: c
      c:
        workflow: sub x=1
      d:
        workflow: my_wb.sub
      e:
        action: std.noop
  sub:
    input: [x]
    tasks:
      s:
        action: std.echo output=<% $.x %>
"""


def test_workbook():
    wb = parse_workbook(WORKBOOK, known_action=lambda n: n.startswith("std."))
    assert wb.name == "my_wb" and wb.description == "A workbook" and wb.tags == ("t1",)
    assert list(wb.actions) == ["my_wb.greet", "my_wb.greet2"]
    greet = wb.actions["my_wb.greet"]
    assert greet.name == "my_wb.greet"
    assert greet.base == "std.echo"
    assert greet.base_input == {"output": "Hi <% $.name %>", "extra": 1}
    assert greet.input == (InputParam("name"), InputParam("punct", "!"))
    assert greet.output == "<% $ %>"
    assert greet.line == 7
    assert wb.actions["my_wb.greet2"].base == "my_wb.greet"
    assert wb.actions["my_wb.greet2"].base_input == {"name": "bob"}
    main = wb.workflows["my_wb.main"]
    assert main.name == "my_wb.main"
    t = main.tasks
    assert t["a"].action == "my_wb.greet" and t["a"].input == {"name": "x"}
    assert t["b"].action == "my_wb.greet2"
    assert t["c"].workflow == "my_wb.sub" and t["c"].input == {"x": 1}
    assert t["d"].workflow == "my_wb.sub"
    assert t["e"].action == "std.noop"
    assert wb.workflows["my_wb.sub"].input == (InputParam("x"),)
    assert wb.definition == WORKBOOK
    # As Mistral: a workbook's workflow is its own lines, dedented, without a version line.
    assert main.definition.startswith("main:\n  tasks:\n    a:\n")
    assert main.definition.endswith("    e:\n      action: std.noop\n")
    assert greet.definition.startswith("greet:\n  base: std.echo")


def test_workbook_unknown_global_action():
    with pytest.raises(DSLErrors) as ei:
        parse_workbook(WORKBOOK.replace("action: std.noop", "action: nope"),
                       known_action=lambda n: n.startswith("std."))
    assert [(e.message, e.line) for e in ei.value.errors] == [("Action 'nope' not found.", 31)]


def test_workbook_without_actions_or_workflows():
    wb = parse_workbook("version: '2.0'\nname: empty\n")
    assert wb.workflows == {} and wb.actions == {}


def test_parse_actions():
    text = textwrap.dedent("""\
        ---
        version: '2.0'

        hello:
          base: std.echo output="Hello <% $.name %>"
          input:
            - name
          description: says hello
          tags: [greeting]

        hello2:
          base: hello
          base-input:
            name: <% $.who %>
          input: [who]
          output: <% $.result %>
        """)
    a, b = parse_actions(text)
    assert a.name == "hello" and a.base == "std.echo"
    assert a.base_input == {"output": "Hello <% $.name %>"}
    assert a.input == (InputParam("name"),)
    assert a.description == "says hello" and a.tags == ("greeting",)
    assert a.line == 4
    assert a.definition == (
        "version: '2.0'\n"
        'hello:\n  base: std.echo output="Hello <% $.name %>"\n  input:\n    - name\n'
        "  description: says hello\n  tags: [greeting]\n")
    assert b.base == "hello" and b.base_input == {"name": "<% $.who %>"}
    assert b.output == "<% $.result %>"
    assert parse_actions(a.definition)[0] == a.__class__(**{**a.__dict__, "line": 2})


def test_parse_actions_known_action():
    with pytest.raises(DSLErrors) as ei:
        parse_actions("version: '2.0'\na:\n  base: nope.x\n", known_action=lambda n: False)
    assert (ei.value.message, ei.value.line) == ("Action 'nope.x' not found.", 3)


def test_merge_keys_and_anchors():
    wf = one("""
        version: '2.0'
        wf:
          tasks:
            a: &base
              action: std.echo output=1
              timeout: 5
            b:
              <<: *base
              timeout: 6
        """)
    assert wf.tasks["b"].action == "std.echo" and wf.tasks["b"].timeout == 6
    assert wf.tasks["b"].input == {"output": 1}


def test_json_document():
    wf = one('{"version": "2.0", "wf": {"tasks": {"t": {"action": "std.echo output=1"}}}}')
    assert wf.tasks["t"].input == {"output": 1}


def test_specs_are_hashable_free_and_frozen():
    wf = one("version: '2.0'\nwf:\n  tasks:\n    t: {}\n")
    with pytest.raises(Exception):
        wf.name = "x"


def test_crlf_definition():
    text = "version: '2.0'\r\nwf:\r\n  tasks:\r\n    t:\r\n      action: std.noop\r\n"
    [wf] = parse_workflows(text)
    assert wf.tasks["t"].line == 4
    assert wf.definition == text
    assert parse_workflows(wf.definition)[0].tasks["t"].action == "std.noop"


def test_overridden_duplicate_key_is_not_validated_twice():
    # the first 'action' is overridden by the second; only the last counts
    wf = one("""
        version: '2.0'
        wf:
          tasks:
            t:
              action: std.echo output=<% $.x %>
              action: std.noop
        """)
    assert wf.tasks["t"].action == "std.noop" and wf.tasks["t"].input == {}


def test_large_workflow_parses_quickly():
    import time
    lines = ["version: '2.0'", "wf:", "  input: [a]", "  tasks:"]
    n = 400
    for i in range(n):
        nxt = f"t{i + 1}: <% $.a > {i} %>" if i < n - 1 else "succeed"
        lines += [f"    t{i}:", f"      action: std.echo output=<% $.a + {i} %>",
                  "      publish:", f"        r{i}: <% task().result %>",
                  "      on-success:", f"        - {nxt}"]
    text = "\n".join(lines) + "\n"
    parse_workflows(text)
    start = time.perf_counter()
    [wf] = parse_workflows(text)
    assert time.perf_counter() - start < 1.0
    assert len(wf.tasks) == n
    assert [t.name for t in wf.start_tasks()] == ["t0"]


def test_engine_commands_in_parentheses_with_conditions():
    a = one("""
        version: '2.0'
        wf:
          tasks:
            a:
              on-error:
                - fail(msg='custom failure message'): <% $.fatal %>
                - pause(msg="a, b = c")
              on-complete:
                - succeed(msg=<% $.why %>)
                - noop
        """).tasks["a"]
    assert a.on_error.next == (
        Transition("fail", "<% $.fatal %>", {"msg": "custom failure message"}),
        Transition("pause", None, {"msg": "a, b = c"}))
    assert a.on_complete.next == (Transition("succeed", None, {"msg": "<% $.why %>"}), Transition("noop"))


def test_task_named_like_a_command_is_a_task():
    wf = one("""
        version: '2.0'
        wf:
          tasks:
            a:
              on-error: fail
            fail:
              action: std.noop
        """)
    assert list(wf.tasks) == ["a", "fail"]
    assert wf.tasks["a"].on_error.next == (Transition("fail"),)
    assert [t.name for t in wf.start_tasks()] == ["a"]
    with pytest.raises(DSLErrors) as ei:
        wfs("""
            version: '2.0'
            wf:
              tasks:
                a:
                  on-error: fail msg="x"
                fail: {}
            """)
    assert "(a task has that name)" in ei.value.errors[0].message
