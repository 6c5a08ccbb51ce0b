"""Language, engine and definition behaviours that follow Mistral 23, through
the real python-mistralclient (issue: behaviours that differed from Mistral 23).

Each test says what Mistral 23 does; Levante must do the same.
"""
from __future__ import annotations

import json

from tests.api.helpers import api_error
from tests.api.lang_helpers import actions_of, define, finished, output, settled, tasks_by_name


# ------------------------------------------------------------------ engine commands

def test_fail_command_with_a_quoted_message_containing_spaces(mistral):
    """Mistral 23 accepts `fail(msg='...')` at create; the message becomes the
    execution's state_info and the output's `result`."""
    n = define(mistral, """
        version: '2.0'
        WF_FAIL:
          tasks:
            t:
              action: std.fail
              on-error:
                - fail(msg='custom failure message')
    """, "WF_FAIL")
    ex = finished(mistral, mistral.executions.create(n["WF_FAIL"]).id)
    assert ex.state == "ERROR"
    assert ex.state_info == "custom failure message"
    assert output(ex)["result"] == "custom failure message"


def test_succeed_and_pause_commands_with_quoted_messages(mistral):
    n = define(mistral, """
        version: '2.0'
        WF_OK:
          tasks:
            t:
              action: std.fail
              on-error:
                - succeed(msg='it failed, and that is fine')
        WF_PAUSE:
          tasks:
            t:
              action: std.noop
              on-success:
                - pause(msg="waiting for the operator's go, then resume")
                - after
            after:
              action: std.echo output="resumed"
              publish:
                said: <% task().result %>
    """, "WF_OK", "WF_PAUSE")
    ex = finished(mistral, mistral.executions.create(n["WF_OK"]).id)
    assert ex.state == "SUCCESS"
    ex = settled(mistral, mistral.executions.create(n["WF_PAUSE"]).id)
    assert ex.state == "PAUSED"
    assert ex.state_info == "waiting for the operator's go, then resume"
    mistral.executions.update(ex.id, "RUNNING")
    ex = finished(mistral, ex.id)
    assert ex.state == "SUCCESS"
    assert output(ex) == {"said": "resumed"}


# ------------------------------------------------------------------ task input

def test_task_input_may_be_one_expression(mistral):
    """Mistral 23 accepts `input: <% $.params %>` and runs the action with that mapping."""
    n = define(mistral, """
        version: '2.0'
        WF_IN:
          input: [params]
          tasks:
            t:
              action: std.echo
              input: <% $.params %>
              publish:
                got: <% task().result %>
    """, "WF_IN")
    ex = finished(mistral, mistral.executions.create(
        n["WF_IN"], workflow_input={"params": {"output": "via expression"}}).id)
    assert ex.state == "SUCCESS", ex.state_info
    assert output(ex) == {"got": "via expression"}
    (t,) = mistral.tasks.list(ex.id)
    (a,) = actions_of(mistral, t.id)
    assert json.loads(a.input) == {"output": "via expression"}


# ------------------------------------------------------------------ keep-result

def test_keep_result_false_empties_the_action_output(mistral):
    """Mistral 23: with `keep-result: false` the task still publishes from the
    result, then the action execution's output is `{}` and the task result null."""
    n = define(mistral, """
        version: '2.0'
        WF_KEEP:
          tasks:
            t:
              action: std.echo output="big"
              keep-result: false
              publish:
                size: <% len(task().result) %>
    """, "WF_KEEP")
    ex = finished(mistral, mistral.executions.create(n["WF_KEEP"]).id)
    assert ex.state == "SUCCESS", ex.state_info
    assert output(ex) == {"size": 3}
    t = mistral.tasks.get(tasks_by_name(mistral, ex.id)["t"].id)
    assert json.loads(t.result) is None
    (a,) = actions_of(mistral, t.id)
    assert json.loads(mistral.action_executions.get(a.id).output) == {}


# ------------------------------------------------------------------ reverse workflows

def test_reverse_workflow_without_or_with_an_unknown_task_name_is_refused(mistral):
    """Mistral 23 answers 400 at POST /v2/executions and stores no execution."""
    n = define(mistral, """
        version: '2.0'
        WF_REV:
          type: reverse
          tasks:
            a:
              action: std.noop
            b:
              action: std.noop
              requires: [a]
    """, "WF_REV")
    before = {e.id for e in mistral.executions.list(limit=1000)}
    err = api_error(mistral.executions.create, n["WF_REV"])
    assert err.error_code == 400
    assert "Invalid task name" in err.error_message and "task_name" in err.error_message
    err = api_error(mistral.executions.create, n["WF_REV"], task_name="nope")
    assert err.error_code == 400
    assert "task_name=nope" in err.error_message and "a, b" in err.error_message
    after = {e.id for e in mistral.executions.list(limit=1000)}
    assert after == before
    ex = finished(mistral, mistral.executions.create(n["WF_REV"], task_name="b").id)
    assert ex.state == "SUCCESS"


# ------------------------------------------------------------------ output-on-error

def test_output_on_error_is_exactly_its_keys_plus_result(mistral):
    """Mistral 23: {"result": <failure>} merged with the evaluated output-on-error;
    the variables the tasks published do not leak in."""
    n = define(mistral, """
        version: '2.0'
        WF_OOE:
          output-on-error:
            stage: <% $.stage %>
          tasks:
            prepare:
              action: std.noop
              publish:
                stage: prepared
                other: not in the output
              on-success: deploy
            deploy:
              action: std.fail error_data="image not found"
    """, "WF_OOE")
    ex = finished(mistral, mistral.executions.create(n["WF_OOE"]).id)
    assert ex.state == "ERROR"
    out = output(mistral.executions.get(ex.id))
    assert set(out) == {"result", "stage"}
    assert out["stage"] == "prepared"
    assert out["result"].startswith("Failure caused by error in tasks: deploy")
