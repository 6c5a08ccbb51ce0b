"""Workflow-language semantics pinned against the real Mistral 23 server.

Each case below was run, unchanged, on a real Mistral 23.0.0 server and on
Levante, and both gave the same execution state, output, task states,
published variables and task results. The tests hold Levante to what Mistral
did. Cases where the two servers disagreed are deliberately left out.
"""
from __future__ import annotations

import json
import textwrap
import uuid

from tests.api.helpers import FINAL
from tests.conftest import wait_for_state


def define(mistral, text: str, *tokens: str) -> dict[str, str]:
    """Create the workflows of ``text``, each token replaced by a fresh name."""
    names = {t: f"pin_{t.lower()}_{uuid.uuid4().hex[:10]}" for t in tokens}
    for token in sorted(names, key=len, reverse=True):
        text = text.replace(token, names[token])
    mistral.workflows.create(textwrap.dedent(text))
    return names


def run(mistral, text: str, *tokens: str, wf_input=None, states=FINAL, **params):
    """Define ``text`` (main workflow token first), run it, wait for ``states``.

    Returns the execution and its tasks by name."""
    names = define(mistral, text, *tokens)
    ex = mistral.executions.create(names[tokens[0]], workflow_input=wf_input or {}, **params)
    ex = wait_for_state(lambda: mistral.executions.get(ex.id), states, timeout=30)
    tasks = {t.name: mistral.tasks.get(t.id) for t in mistral.tasks.list(ex.id)}
    return ex, tasks


def js(value):
    return json.loads(value) if value else value


def actions_of(mistral, task) -> list:
    return list(mistral.action_executions.list(task.id))


def test_no_output_clause_returns_published_context_without_input(mistral):
    """Pinned against Mistral 23: with no `output` clause the execution output is
    the final context - the published `y` (7) but not the input `x` - and the
    task shows published {"y": 7} and result 7."""
    ex, tasks = run(mistral, """
        version: '2.0'
        WF:
          input: [x]
          tasks:
            t:
              action: std.echo output=7
              publish:
                y: <% task().result %>
    """, "WF", wf_input={"x": 5})
    assert ex.state == "SUCCESS"
    assert js(ex.output) == {"y": 7}
    assert js(tasks["t"].published) == {"y": 7}
    assert js(tasks["t"].result) == 7


def test_publish_precedence_task_then_on_success_then_on_complete(mistral):
    """Pinned against Mistral 23: a variable set in `publish`,
    `on-success.publish.branch` and `on-complete.publish.branch` ends up with
    the on-complete value; keys from each clause are all published, and the
    next task (from on-success.next) already sees the on-complete value."""
    ex, tasks = run(mistral, """
        version: '2.0'
        WF:
          output:
            v: <% $.v %>
            a: <% $.a %>
            b: <% $.b %>
            c: <% $.c %>
            seen: <% $.seen %>
          tasks:
            t1:
              action: std.echo output=1
              publish:
                v: base
                a: base
              on-success:
                publish:
                  branch:
                    v: success
                    b: success
                next: [t2]
              on-complete:
                publish:
                  branch:
                    v: complete
                    c: complete
            t2:
              action: std.echo output=<% $.v %>
              publish:
                seen: <% task().result %>
    """, "WF")
    assert ex.state == "SUCCESS"
    assert js(ex.output) == {"v": "complete", "a": "base", "b": "success",
                             "c": "complete", "seen": "complete"}
    assert js(tasks["t1"].published) == {"v": "complete", "a": "base", "b": "success",
                                         "c": "complete"}
    assert js(tasks["t2"].result) == "complete"


def test_with_items_over_empty_list(mistral):
    """Pinned against Mistral 23: with-items over [] succeeds without running an
    action; the task result is [] and publishing task().result gives []."""
    ex, tasks = run(mistral, """
        version: '2.0'
        WF:
          output:
            r: <% $.r %>
          tasks:
            t:
              with-items: i in <% [] %>
              action: std.echo output=<% $.i %>
              publish:
                r: <% task().result %>
    """, "WF")
    assert ex.state == "SUCCESS"
    assert js(ex.output) == {"r": []}
    assert tasks["t"].state == "SUCCESS"
    assert js(tasks["t"].result) == []
    assert js(tasks["t"].published) == {"r": []}
    assert actions_of(mistral, tasks["t"]) == []


def test_with_items_concurrency_keeps_item_order(mistral):
    """Pinned against Mistral 23: with-items over [3, 1, 2, 5, 4] with
    concurrency 2 runs five actions and the result is in item order:
    [30, 10, 20, 50, 40]."""
    ex, tasks = run(mistral, """
        version: '2.0'
        WF:
          output:
            r: <% $.r %>
          tasks:
            t:
              with-items: i in <% [3, 1, 2, 5, 4] %>
              concurrency: 2
              action: std.echo output=<% $.i * 10 %>
              publish:
                r: <% task().result %>
    """, "WF")
    assert ex.state == "SUCCESS"
    assert js(ex.output) == {"r": [30, 10, 20, 50, 40]}
    assert js(tasks["t"].result) == [30, 10, 20, 50, 40]
    assert [a.state for a in actions_of(mistral, tasks["t"])] == ["SUCCESS"] * 5


def test_retry_continue_on_repeats_successful_action(mistral):
    """Pinned against Mistral 23: retry count=2 with a continue-on condition that
    stays true runs the (succeeding) action three times; the task ends SUCCESS
    with result 1."""
    ex, tasks = run(mistral, """
        version: '2.0'
        WF:
          output:
            r: <% $.r %>
          tasks:
            t:
              action: std.echo output=1
              publish:
                r: <% task().result %>
              retry:
                count: 2
                delay: 1
                continue-on: <% task().result = 1 %>
    """, "WF")
    assert ex.state == "SUCCESS"
    assert js(ex.output) == {"r": 1}
    assert tasks["t"].state == "SUCCESS"
    assert js(tasks["t"].result) == 1
    assert [a.state for a in actions_of(mistral, tasks["t"])] == ["SUCCESS"] * 3


def test_keep_result_false_hides_result_but_publish_sees_it(mistral):
    """Pinned against Mistral 23: with keep-result false the task's result reads
    null, yet `publish` still saw the action's result ("abc")."""
    ex, tasks = run(mistral, """
        version: '2.0'
        WF:
          output:
            y: <% $.y %>
          tasks:
            t:
              action: std.echo output="abc"
              keep-result: false
              publish:
                y: <% task().result %>
    """, "WF")
    assert ex.state == "SUCCESS"
    assert js(ex.output) == {"y": "abc"}
    assert js(tasks["t"].published) == {"y": "abc"}
    assert js(tasks["t"].result) is None


def test_fail_command_in_list_with_a_task(mistral):
    """Pinned against Mistral 23: `on-success: [t2, fail msg="x"]` still runs t2
    to SUCCESS and fails the execution with state_info "x" and output
    {"result": "x"}."""
    ex, tasks = run(mistral, """
        version: '2.0'
        WF:
          tasks:
            t1:
              action: std.noop
              on-success:
                - t2
                - fail msg="x"
            t2:
              action: std.echo output=2
    """, "WF")
    assert ex.state == "ERROR"
    assert ex.state_info == "x"
    assert js(ex.output) == {"result": "x"}
    # t2's action may still be running when the execution has failed (in Mistral too).
    t2 = wait_for_state(lambda: mistral.tasks.get(tasks["t2"].id), FINAL, timeout=30)
    assert {"t1": tasks["t1"].state, "t2": t2.state} == {"t1": "SUCCESS", "t2": "SUCCESS"}
    assert js(t2.result) == 2


def test_pause_command_before_a_task_in_list(mistral):
    """Pinned against Mistral 23: `on-success: [pause, t2]` pauses the execution
    (state PAUSED, output {}) and t2 is not started."""
    ex, tasks = run(mistral, """
        version: '2.0'
        WF:
          tasks:
            t1:
              action: std.noop
              on-success:
                - pause
                - t2
            t2:
              action: std.noop
    """, "WF", states=("PAUSED", *FINAL))
    try:
        assert ex.state == "PAUSED"
        assert js(ex.output) in ({}, None)
        assert {n: t.state for n, t in tasks.items()} == {"t1": "SUCCESS"}
    finally:
        mistral.executions.update(ex.id, "CANCELLED")


def test_vars_shadow_input_of_the_same_name(mistral):
    """Pinned against Mistral 23: with input a="from_input" and `vars: {a:
    from_vars}`, `$.a` is "from_vars"; an input default (b) and a var (c) are
    both visible."""
    ex, _ = run(mistral, """
        version: '2.0'
        WF:
          input:
            - a: in_default
            - b: b_default
          vars:
            a: from_vars
            c: c_var
          output:
            a: <% $.a %>
            b: <% $.b %>
            c: <% $.c %>
          tasks:
            t:
              action: std.noop
    """, "WF", wf_input={"a": "from_input"})
    assert ex.state == "SUCCESS"
    assert js(ex.output) == {"a": "from_vars", "b": "b_default", "c": "c_var"}


def test_publish_global_readable_by_dollar_and_global(mistral):
    """Pinned against Mistral 23: a `global` publish is readable later both as
    `$.g` and `global(g)`; the publishing task's `published` shows only its
    branch variables ({"b": "bval"})."""
    ex, tasks = run(mistral, """
        version: '2.0'
        WF:
          output:
            g_dollar: <% $.g %>
            b: <% $.b %>
            t2: <% $.t2pub %>
          tasks:
            t1:
              action: std.noop
              on-success:
                publish:
                  global:
                    g: gval
                  branch:
                    b: bval
                next: [t2]
            t2:
              action: std.noop
              publish:
                t2pub:
                  dollar: <% $.g %>
                  glob: <% global(g) %>
                  b: <% $.b %>
    """, "WF")
    assert ex.state == "SUCCESS"
    both = {"dollar": "gval", "glob": "gval", "b": "bval"}
    assert js(ex.output) == {"g_dollar": "gval", "b": "bval", "t2": both}
    assert js(tasks["t1"].published) == {"b": "bval"}
    assert js(tasks["t2"].published) == {"t2pub": both}


def test_subworkflow_output_is_the_task_result(mistral):
    """Pinned against Mistral 23: a workflow task's result is the child's
    output ({"doubled": 6}), and the parent publishes it."""
    ex, tasks = run(mistral, """
        version: '2.0'
        PARENT:
          tasks:
            p:
              workflow: CHILD
              input:
                n: 3
              publish:
                child: <% task().result %>
          output:
            child: <% $.child %>
        CHILD:
          input: [n]
          output:
            doubled: <% $.n * 2 %>
          tasks:
            c:
              action: std.noop
    """, "PARENT", "CHILD")
    assert ex.state == "SUCCESS"
    assert js(ex.output) == {"child": {"doubled": 6}}
    assert tasks["p"].state == "SUCCESS"
    assert js(tasks["p"].result) == {"doubled": 6}
    assert len(mistral.executions.list(task=tasks["p"].id)) == 1


def test_reverse_workflow_runs_only_what_task_name_requires(mistral):
    """Pinned against Mistral 23: a reverse workflow started with task_name=b
    runs a then b (b sees a's publish); c (requires b) and the independent d
    are not run; output {"av": "a", "bv": "ab"}."""
    ex, tasks = run(mistral, """
        version: '2.0'
        WF:
          type: reverse
          tasks:
            a:
              action: std.echo output="a"
              publish:
                av: <% task().result %>
            b:
              action: std.echo output=<% $.av + "b" %>
              requires: [a]
              publish:
                bv: <% task().result %>
            c:
              action: std.echo output="c"
              requires: [b]
            d:
              action: std.echo output="d"
    """, "WF", task_name="b")
    assert ex.state == "SUCCESS"
    assert js(ex.output) == {"av": "a", "bv": "ab"}
    assert {n: t.state for n, t in tasks.items()} == {"a": "SUCCESS", "b": "SUCCESS"}
    assert js(tasks["b"].result) == "ab"


def test_jinja_whole_expression_keeps_list_type(mistral):
    """Pinned against Mistral 23: "{{ _.x }}" with x=[1, 2] publishes the list
    [1, 2]; embedded in text ("pre {{ _.x }}") it renders as "pre [1, 2]"."""
    ex, tasks = run(mistral, """
        version: '2.0'
        WF:
          input:
            - x: [1, 2]
          output:
            y: <% $.y %>
            z: <% $.z %>
          tasks:
            t:
              action: std.noop
              publish:
                y: "{{ _.x }}"
                z: "pre {{ _.x }}"
    """, "WF")
    assert ex.state == "SUCCESS"
    assert js(ex.output) == {"y": [1, 2], "z": "pre [1, 2]"}
    assert js(tasks["t"].published) == {"y": [1, 2], "z": "pre [1, 2]"}


def test_yaql_interpolation_renders_python_repr(mistral):
    """Pinned against Mistral 23: YAQL embedded in a string renders values as
    Python would: "v: {'k': 'v', 'n': 1}", "l: [1, 'a', None, True]",
    "n: None", "b: True"."""
    ex, _ = run(mistral, """
        version: '2.0'
        WF:
          input:
            - d: {k: v, n: 1}
          output:
            s: "v: <% $.d %>"
            l: "l: <% [1, 'a', null, true] %>"
            n: "n: <% null %>"
            b: "b: <% true %>"
          tasks:
            t:
              action: std.noop
    """, "WF")
    assert ex.state == "SUCCESS"
    assert js(ex.output) == {"s": "v: {'k': 'v', 'n': 1}", "l": "l: [1, 'a', None, True]",
                             "n": "n: None", "b": "b: True"}
