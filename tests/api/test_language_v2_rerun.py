"""Reverse workflows, rerun and skip of failed tasks, end to end through
python-mistralclient (and raw HTTP where the client has no call)."""
from __future__ import annotations

import json
import time

import httpx
import pytest
from mistralclient.api.base import APIException

from tests.api.lang_helpers import actions_of, define, finished, output, tasks_by_name, until


# ------------------------------------------------------------------ reverse

REVERSE = """
    version: '2.0'
    WF_REV:
      type: reverse
      tasks:
        fetch:
          action: std.echo output="src"
          publish:
            fetched: <% task().result %>
        build:
          action: std.echo output="built from <% $.fetched %>"
          requires: [fetch]
          publish:
            built: <% task().result %>
        test:
          action: std.noop
          requires: build
        docs:
          action: std.noop
          requires: [fetch]
        unrelated:
          action: std.noop
"""


def test_reverse_workflow_runs_only_what_the_target_requires(mistral):
    n = define(mistral, REVERSE, "WF_REV")
    ex = mistral.executions.create(n["WF_REV"], task_name="build")
    ex = finished(mistral, ex.id)
    assert ex.state == "SUCCESS", ex.state_info
    tasks = tasks_by_name(mistral, ex.id)
    assert set(tasks) == {"fetch", "build"}
    assert {t.state for t in tasks.values()} == {"SUCCESS"}
    assert output(ex)["built"] == "built from src"
    assert json.loads(ex.params)["task_name"] == "build"


def test_reverse_workflow_takes_the_whole_closure(mistral):
    n = define(mistral, REVERSE, "WF_REV")
    ex = finished(mistral, mistral.executions.create(n["WF_REV"], task_name="test").id)
    assert ex.state == "SUCCESS", ex.state_info
    assert set(tasks_by_name(mistral, ex.id)) == {"fetch", "build", "test"}


# ------------------------------------------------------------------ rerun

def test_rerun_with_the_missing_env_variable_succeeds(mistral):
    n = define(mistral, """
        version: '2.0'
        WF_ENV:
          tasks:
            login:
              action: std.echo output=<% env().get('token') %>
              fail-on: <% task().result = null %>
              publish:
                token: <% task().result %>
              on-success: use
            use:
              action: std.echo output="used <% $.token %>"
              publish:
                used: <% task().result %>
    """, "WF_ENV")
    ex = finished(mistral, mistral.executions.create(n["WF_ENV"], env={"other": 1}).id)
    assert ex.state == "ERROR"
    login = tasks_by_name(mistral, ex.id)["login"]
    assert login.state == "ERROR"

    mistral.tasks.rerun(login.id, env={"token": "s3cret"})
    ex = finished(mistral, ex.id)
    assert ex.state == "SUCCESS", ex.state_info
    assert output(ex) == {"token": "s3cret", "used": "used s3cret"}
    tasks = tasks_by_name(mistral, ex.id)
    assert tasks["login"].id == login.id and tasks["login"].state == "SUCCESS"
    assert tasks["use"].state == "SUCCESS"
    # Both the failed and the new action execution are kept.
    assert len(actions_of(mistral, login.id)) == 2
    # The new env is merged into the execution's params.
    assert json.loads(mistral.executions.get(ex.id).params)["env"] == {"other": 1, "token": "s3cret"}


WITH_ITEMS_ASYNC = """
    version: '2.0'
    WF_ITEMS:
      tasks:
        each:
          with-items: x in [1, 2, 3]
          action: std.async_noop
          publish:
            results: <% task().result %>
"""


def _fail_one_item(mistral, exec_id: str):
    """Complete the three item actions: two succeed, one fails; return the task,
    the result list after the failure and the index of the failed item."""
    task = until(lambda: tasks_by_name(mistral, exec_id).get("each"), what="task 'each'")
    acts = until(lambda: (lambda a: a if len(a) == 3 else None)(actions_of(mistral, task.id)),
                 what="three item actions")
    mistral.action_executions.update(acts[0].id, state="SUCCESS", output={"v": "first"})
    mistral.action_executions.update(acts[2].id, state="SUCCESS", output={"v": "third"})
    mistral.action_executions.update(acts[1].id, state="ERROR", output={"v": "item failed"})
    ex = finished(mistral, exec_id)
    assert ex.state == "ERROR"
    task = mistral.tasks.get(task.id)
    assert task.state == "ERROR"
    result = json.loads(task.result)
    # As in Mistral, the failed item's place in the result holds its error.
    values = [r["v"] for r in result]
    assert sorted(values) == sorted(["first", "third", "item failed"]), result
    return task, result, values.index("item failed")


def test_with_items_rerun_without_reset_reruns_only_the_failed_item(mistral):
    n = define(mistral, WITH_ITEMS_ASYNC, "WF_ITEMS")
    ex = mistral.executions.create(n["WF_ITEMS"])
    task, result, failed_index = _fail_one_item(mistral, ex.id)

    mistral.tasks.rerun(task.id, reset=False)
    new = until(lambda: [a for a in actions_of(mistral, task.id) if a.state == "RUNNING"],
                what="the rerun of the failed item")
    time.sleep(0.3)     # give a wrong implementation time to start more
    acts = actions_of(mistral, task.id)
    assert len(acts) == 4, [a.state for a in acts]
    assert len([a for a in acts if a.state == "RUNNING"]) == 1
    mistral.action_executions.update(new[0].id, state="SUCCESS", output={"v": "fixed"})

    ex = finished(mistral, ex.id)
    assert ex.state == "SUCCESS", ex.state_info
    expected = list(result)
    expected[failed_index] = {"v": "fixed"}
    assert output(ex) == {"results": expected}
    assert mistral.tasks.get(task.id).state == "SUCCESS"


def test_with_items_rerun_with_reset_reruns_every_item(mistral):
    n = define(mistral, WITH_ITEMS_ASYNC, "WF_ITEMS")
    ex = mistral.executions.create(n["WF_ITEMS"])
    task, _, _ = _fail_one_item(mistral, ex.id)

    mistral.tasks.rerun(task.id, reset=True)
    new = until(lambda: (lambda r: r if len(r) == 3 else None)(
        [a for a in actions_of(mistral, task.id) if a.state == "RUNNING"]), what="three new item actions")
    for a in new:
        mistral.action_executions.update(a.id, state="SUCCESS", output={"v": "again"})
    ex = finished(mistral, ex.id)
    assert ex.state == "SUCCESS", ex.state_info
    assert output(ex) == {"results": [{"v": "again"}] * 3}
    assert len(actions_of(mistral, task.id)) == 6


def test_skip_a_failed_task_follows_on_skip(mistral, server):
    n = define(mistral, """
        version: '2.0'
        WF_SKIP:
          tasks:
            optional:
              action: std.fail error_data="not today"
              on-success: after_success
              on-skip: after_skip
            after_success:
              action: std.noop
            after_skip:
              action: std.echo output="went on"
              publish:
                note: <% task().result %>
    """, "WF_SKIP")
    ex = finished(mistral, mistral.executions.create(n["WF_SKIP"]).id)
    assert ex.state == "ERROR"
    optional = tasks_by_name(mistral, ex.id)["optional"]

    resp = httpx.put(f"{server.url}/tasks/{optional.id}", json={"state": "SKIPPED"}, timeout=10)
    assert resp.status_code == 200, resp.text
    assert resp.json()["id"] == optional.id

    ex = finished(mistral, ex.id)
    assert ex.state == "SUCCESS", ex.state_info
    tasks = tasks_by_name(mistral, ex.id)
    assert tasks["optional"].state == "SKIPPED"
    assert set(tasks) == {"optional", "after_skip"}
    assert output(ex)["note"] == "went on"


def test_rerun_of_a_successful_task_is_refused(mistral):
    n = define(mistral, """
        version: '2.0'
        WF_BAD_RERUN:
          tasks:
            fine:
              action: std.noop
              on-success: broken
            broken:
              action: std.fail
    """, "WF_BAD_RERUN")
    ex = finished(mistral, mistral.executions.create(n["WF_BAD_RERUN"]).id)
    assert ex.state == "ERROR"
    fine = tasks_by_name(mistral, ex.id)["fine"]
    assert fine.state == "SUCCESS"

    with pytest.raises(APIException) as err:
        mistral.tasks.rerun(fine.id)
    assert err.value.error_code == 400
    # Nothing changed.
    assert mistral.executions.get(ex.id).state == "ERROR"
    assert mistral.tasks.get(fine.id).state == "SUCCESS"
    assert len(actions_of(mistral, fine.id)) == 1


def test_rerun_without_reset_is_refused_for_a_task_without_with_items(mistral):
    """Mistral: 'Only with-items task has the option to not reset.' (400)."""
    n = define(mistral, """
        version: '2.0'
        WF_NO_RESET:
          tasks:
            broken:
              action: std.fail
    """, "WF_NO_RESET")
    ex = finished(mistral, mistral.executions.create(n["WF_NO_RESET"]).id)
    broken = tasks_by_name(mistral, ex.id)["broken"]

    with pytest.raises(APIException) as err:
        mistral.tasks.rerun(broken.id, reset=False)
    assert err.value.error_code == 400
    assert mistral.executions.get(ex.id).state == "ERROR"
    assert len(actions_of(mistral, broken.id)) == 1


def test_rerun_inside_a_sub_workflow_reopens_the_parent(mistral):
    # Mistral's rerun walks up: the parent task and execution run again and
    # finish with the child's new output.
    n = define(mistral, """
        version: '2.0'
        WF_PARENT:
          tasks:
            call:
              workflow: WF_CHILD
              publish:
                got: <% task().result.token %>
        WF_CHILD:
          output:
            token: <% $.token %>
          tasks:
            login:
              action: std.echo output=<% env().get('token') %>
              fail-on: <% task().result = null %>
              publish:
                token: <% task().result %>
    """, "WF_PARENT", "WF_CHILD")
    parent = finished(mistral, mistral.executions.create(n["WF_PARENT"]).id)
    assert parent.state == "ERROR"
    [child] = [e for e in mistral.executions.list() if e.task_execution_id == tasks_by_name(mistral, parent.id)["call"].id]
    login = tasks_by_name(mistral, child.id)["login"]

    mistral.tasks.rerun(login.id, env={"token": "t0k"})
    assert finished(mistral, child.id).state == "SUCCESS"
    parent = finished(mistral, parent.id)
    assert parent.state == "SUCCESS", parent.state_info
    assert output(parent) == {"got": "t0k"}
    assert tasks_by_name(mistral, parent.id)["call"].state == "SUCCESS"
