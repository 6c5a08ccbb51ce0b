"""Execution control, engine commands and joins, end to end through
python-mistralclient (raw HTTP only where the client has no call)."""
from __future__ import annotations

import json
import time
import uuid

import httpx
import pytest
from mistralclient.api.base import APIException

from tests.api.lang_helpers import actions_of, define, finished, output, settled, task_names, tasks_by_name, until


# ------------------------------------------------------------------ execution control

WAITING = """
    version: '2.0'
    WF_WAIT:
      tasks:
        wait:
          action: std.async_noop
          on-success: after
        after:
          action: std.noop
"""


def _running_waiting_execution(mistral):
    n = define(mistral, WAITING, "WF_WAIT")
    ex = mistral.executions.create(n["WF_WAIT"])
    wait = until(lambda: tasks_by_name(mistral, ex.id).get("wait"), what="task 'wait'")
    action = until(lambda: actions_of(mistral, wait.id), what="the async action")[0]
    assert mistral.executions.get(ex.id).state == "RUNNING"
    return ex, action


@pytest.mark.parametrize("target", ["SUCCESS", "ERROR"])
def test_force_a_running_execution_to_a_final_state(mistral, target):
    ex, action = _running_waiting_execution(mistral)
    updated = mistral.executions.update(ex.id, target)
    assert updated.state == target
    assert finished(mistral, ex.id).state == target

    # A late result does not bring it back to life.
    try:
        mistral.action_executions.update(action.id, state="SUCCESS", output={"late": True})
    except APIException:
        pass
    time.sleep(0.5)
    ex = mistral.executions.get(ex.id)
    assert ex.state == target
    assert "after" not in task_names(mistral, ex.id)


def test_invalid_transition_success_to_paused_is_refused(mistral):
    n = define(mistral, """
        version: '2.0'
        WF_DONE:
          tasks:
            only:
              action: std.noop
    """, "WF_DONE")
    ex = finished(mistral, mistral.executions.create(n["WF_DONE"]).id)
    assert ex.state == "SUCCESS"
    with pytest.raises(APIException) as err:
        mistral.executions.update(ex.id, "PAUSED")
    assert err.value.error_code == 400
    assert mistral.executions.get(ex.id).state == "SUCCESS"


def test_create_from_a_source_execution_reruns_the_same_workflow_and_input(mistral):
    n = define(mistral, """
        version: '2.0'
        WF_SRC:
          input:
            - who
            - greeting: hello
          tasks:
            greet:
              action: std.echo output="<% $.greeting %> <% $.who %>"
              publish:
                line: <% task().result %>
    """, "WF_SRC")
    first = finished(mistral, mistral.executions.create(
        n["WF_SRC"], workflow_input={"who": "ann", "greeting": "hi"}).id)
    assert first.state == "SUCCESS", first.state_info

    second = mistral.executions.create(source_execution_id=first.id)
    assert second.id != first.id
    second = finished(mistral, second.id)
    assert second.state == "SUCCESS", second.state_info
    assert second.workflow_name == n["WF_SRC"]
    assert second.workflow_id == first.workflow_id
    assert json.loads(second.input) == json.loads(first.input) == {"who": "ann", "greeting": "hi"}
    assert output(second) == output(first) == {"line": "hi ann"}
    # Mistral records where the execution came from.
    assert f"Based on the execution '{first.id}'" in (second.description or "")


def test_client_supplied_execution_id_is_idempotent(mistral, server):
    n = define(mistral, """
        version: '2.0'
        WF_IDEM:
          tasks:
            only:
              action: std.echo output="once"
    """, "WF_IDEM")
    exec_id = str(uuid.uuid4())
    body = {"id": exec_id, "workflow_name": n["WF_IDEM"], "input": "{}"}
    r1 = httpx.post(f"{server.url}/executions", json=body, timeout=10)
    r2 = httpx.post(f"{server.url}/executions", json=body, timeout=10)
    # Mistral answers 201 both times; the second call just returns the existing one.
    assert r1.status_code == 201, r1.text
    assert r2.status_code == 201, r2.text
    assert r1.json()["id"] == r2.json()["id"] == exec_id

    ex = finished(mistral, exec_id)
    assert ex.state == "SUCCESS"
    rows = [e for e in mistral.executions.list(workflow_name=n["WF_IDEM"])]
    assert [e.id for e in rows] == [exec_id]
    assert len(tasks_by_name(mistral, exec_id)) == 1


# ------------------------------------------------------------------ engine commands

def test_fail_command_with_message(mistral):
    n = define(mistral, """
        version: '2.0'
        WF_FAIL:
          input:
            - free_gb
          tasks:
            measure:
              action: std.echo output=<% $.free_gb %>
              publish:
                free: <% task().result %>
              on-success:
                - fail msg="Only <% $.free %> GB free": <% $.free < 10 %>
                - install
            install:
              action: std.noop
    """, "WF_FAIL")
    ex = finished(mistral, mistral.executions.create(n["WF_FAIL"], workflow_input={"free_gb": 2}).id)
    assert ex.state == "ERROR"
    assert ex.state_info == "Only 2 GB free"
    # The entry after 'fail' is not followed; the task itself succeeded.
    tasks = tasks_by_name(mistral, ex.id)
    assert set(tasks) == {"measure"}
    assert tasks["measure"].state == "SUCCESS"


def test_succeed_command_ends_the_execution(mistral):
    n = define(mistral, """
        version: '2.0'
        WF_SUCCEED:
          tasks:
            check:
              action: std.echo output="done already"
              publish:
                status: <% task().result %>
              on-success:
                - succeed
                - do_the_work
            do_the_work:
              action: std.fail
    """, "WF_SUCCEED")
    ex = finished(mistral, mistral.executions.create(n["WF_SUCCEED"]).id)
    assert ex.state == "SUCCESS", ex.state_info
    assert task_names(mistral, ex.id) == ["check"]


def test_pause_command_then_resume_continues_the_rest_of_the_list(mistral):
    n = define(mistral, """
        version: '2.0'
        WF_PAUSE:
          tasks:
            prepare:
              action: std.echo output="prepared"
              on-success:
                - pause msg="Waiting for approval"
                - deploy
            deploy:
              action: std.echo output="deployed"
              publish:
                result: <% task().result %>
    """, "WF_PAUSE")
    ex = settled(mistral, mistral.executions.create(n["WF_PAUSE"]).id)
    assert ex.state == "PAUSED"
    assert ex.state_info == "Waiting for approval"
    time.sleep(0.3)
    assert task_names(mistral, ex.id) == ["prepare"]

    mistral.executions.update(ex.id, "RUNNING")
    ex = finished(mistral, ex.id)
    assert ex.state == "SUCCESS", ex.state_info
    assert task_names(mistral, ex.id) == ["deploy", "prepare"]
    assert output(ex)["result"] == "deployed"


# ------------------------------------------------------------------ joins

def test_join_one_runs_the_join_task_once(mistral):
    n = define(mistral, """
        version: '2.0'
        WF_JOIN_ONE:
          tasks:
            fast:
              action: std.echo output="fast"
              on-success: first_wins
            medium:
              action: std.echo output="medium" delay=0.3
              on-success: first_wins
            slow:
              action: std.echo output="slow" delay=0.6
              on-success: first_wins
            first_wins:
              join: one
              action: std.echo output="joined"
    """, "WF_JOIN_ONE")
    ex = finished(mistral, mistral.executions.create(n["WF_JOIN_ONE"]).id)
    assert ex.state == "SUCCESS", ex.state_info
    time.sleep(0.3)
    names = [t.name for t in mistral.tasks.list(ex.id)]
    assert names.count("first_wins") == 1, names
    assert sorted(names) == ["fast", "first_wins", "medium", "slow"]
    joined = tasks_by_name(mistral, ex.id)["first_wins"]
    assert len(actions_of(mistral, joined.id)) == 1


def test_diamond_join_all_runs_once_and_sees_both_branches(mistral):
    n = define(mistral, """
        version: '2.0'
        WF_DIAMOND:
          tasks:
            start:
              action: std.echo output=5
              publish:
                base: <% task().result %>
              on-success:
                - left
                - right
            left:
              action: std.echo output=<% $.base + 1 %> delay=0.2
              publish:
                l: <% task().result %>
              on-success: merge
            right:
              action: std.echo output=<% $.base * 2 %>
              publish:
                r: <% task().result %>
              on-success: merge
            merge:
              join: all
              action: std.echo output=<% $.l + $.r %>
              publish:
                total: <% task().result %>
    """, "WF_DIAMOND")
    ex = finished(mistral, mistral.executions.create(n["WF_DIAMOND"]).id)
    assert ex.state == "SUCCESS", ex.state_info
    names = [t.name for t in mistral.tasks.list(ex.id)]
    assert sorted(names) == ["left", "merge", "right", "start"]
    assert output(ex)["total"] == 16


def test_on_complete_alone_does_not_handle_an_error(mistral):
    # Pins Mistral's all_errors_handled(): only a followed on-error transition
    # handles a failed task; on-complete runs its tasks, but the execution
    # still ends in ERROR.
    n = define(mistral, """
        version: '2.0'
        WF_ONCOMPLETE:
          tasks:
            work:
              action: std.fail error_data="work failed"
              on-complete: cleanup
            cleanup:
              action: std.echo output="cleaned"
    """, "WF_ONCOMPLETE")
    ex = finished(mistral, mistral.executions.create(n["WF_ONCOMPLETE"]).id)
    assert ex.state == "ERROR"
    assert "work failed" in (ex.state_info or "")
    tasks = tasks_by_name(mistral, ex.id)
    assert tasks["work"].state == "ERROR"
    assert tasks["cleanup"].state == "SUCCESS"
