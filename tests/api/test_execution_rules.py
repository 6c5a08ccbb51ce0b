"""Executions as Mistral 23 has them: the rules of PUT /v2/executions/{id}, the
execution report and the sub-executions of a task, through the real
python-mistralclient library and `mistral` CLI."""
from __future__ import annotations

import json

import httpx

from tests.api.helpers import SLEEPY, api_error, as_json, create_wf, finish, unique, wait_for
from tests.api.lang_helpers import define, finished, tasks_by_name
from tests.api.test_action_execution_rules import mistral_cli

ENV_READER = """
tasks:
  wait:
    action: std.async_noop
    on-success: [read]
  read:
    action: std.echo output=<% env().colour %>
    publish:
      colour: <% task().result %>
"""

TREE = """
version: '2.0'
WF_LEAF_OK:
  tasks:
    work:
      action: std.noop
WF_LEAF_BAD:
  tasks:
    work:
      action: std.fail error_data="leaf broke"
WF_TOP:
  tasks:
    good:
      workflow: WF_LEAF_OK
    bad:
      workflow: WF_LEAF_BAD
    plain:
      action: std.echo output=1
"""

FULL = {"input", "output", "params"}


def _waiting_action(mistral, exec_id: str):
    def running():
        tasks = mistral.tasks.list(exec_id)
        acts = mistral.action_executions.list(tasks[0].id) if tasks else []
        return acts[0] if acts and acts[0].state == "RUNNING" else None
    return wait_for(running)


# ---------------------------------------------------------------- PUT /v2/executions/{id}

def test_update_needs_something_to_change(mistral, server):
    name = unique()
    create_wf(mistral, name, "tasks:\n  t:\n    action: std.noop\n")
    ex = finish(mistral, mistral.executions.create(name).id)
    err = api_error(mistral.executions.update, ex.id, None)
    assert err.error_code == 400
    assert err.error_message == "The property state, description, or env is not provided for update."
    r = httpx.put(f"{server.url}/executions/{ex.id}", json={})
    assert r.status_code == 400
    err = api_error(mistral.executions.update, ex.id, "PAUSED", description="both")
    assert err.error_code == 400
    assert err.error_message == "The property description must be updated separately from state."


def test_env_update_only_when_idle_paused_or_failed(mistral):
    name = unique("sleepy")
    create_wf(mistral, name, SLEEPY)
    ex = mistral.executions.create(name)
    err = api_error(mistral.executions.update, ex.id, None, env={"k": "v"})
    assert err.error_code == 403
    assert err.error_message == ("Updating env to workflow execution is only permitted if it is "
                                 "in IDLE, PAUSED, or ERROR state.")
    mistral.executions.update(ex.id, "PAUSED")
    upd = mistral.executions.update(ex.id, None, env={"k": "v"})
    # The answer has the params with the new env (and, as on the peer, no input or output).
    assert as_json(upd.params)["env"] == {"k": "v"}
    assert "input" not in upd.to_dict() and "output" not in upd.to_dict()
    assert upd.state == "PAUSED"
    # With a state, env goes only with a resume.
    err = api_error(mistral.executions.update, ex.id, "CANCELLED", env={"k": "w"})
    assert err.error_code == 400
    assert err.error_message == ("The property env can only be updated when workflow execution is "
                                 "not running or on resume from pause.")
    mistral.executions.update(ex.id, "CANCELLED")


def test_env_given_on_resume_reaches_later_tasks(mistral):
    name = unique("env")
    create_wf(mistral, name, ENV_READER)
    ex = mistral.executions.create(name, params={"env": {"colour": "red"}})
    ae = _waiting_action(mistral, ex.id)
    paused = mistral.executions.update(ex.id, "PAUSED")
    assert paused.state == "PAUSED" and FULL <= set(paused.to_dict())
    resumed = mistral.executions.update(ex.id, "RUNNING", env={"colour": "blue"})
    assert resumed.state == "RUNNING" and FULL <= set(resumed.to_dict())
    assert as_json(resumed.params)["env"] == {"colour": "blue"}
    mistral.action_executions.update(ae.id, state="SUCCESS", output="{}")
    done = finish(mistral, ex.id)
    assert done.state == "SUCCESS"
    assert as_json(done.output) == {"colour": "blue"}


def test_env_update_with_the_cli(server, mistral):
    name = unique("sleepy")
    create_wf(mistral, name, SLEEPY)
    ex = mistral.executions.create(name)
    bad = mistral_cli(server.url, "execution-update", ex.id, "-e", '{"k": 1}')
    assert bad.returncode != 0 and "only permitted if it is in IDLE, PAUSED, or ERROR" in bad.stderr
    mistral.executions.update(ex.id, "CANCELLED")


# ---------------------------------------------------------------- report

def test_report_has_mistrals_shape(mistral, server):
    n = define(mistral, TREE, "WF_LEAF_OK", "WF_LEAF_BAD", "WF_TOP")
    top = finished(mistral, mistral.executions.create(n["WF_TOP"]).id)
    assert top.state == "ERROR"

    report = mistral.executions.get_report(top.id, errors_only=False)
    assert report["statistics"] == {
        "total_tasks_count": 5, "running_tasks_count": 0, "success_tasks_count": 3,
        "error_tasks_count": 2, "idle_tasks_count": 0, "paused_tasks_count": 0,
        "estimated_time": 0}
    root = report["root_workflow_execution"]
    assert set(root) == {"id", "name", "created_at", "updated_at", "state", "state_info",
                         "task_executions"}
    assert (root["id"], root["name"], root["state"]) == (top.id, n["WF_TOP"], "ERROR")
    tasks = {t["name"]: t for t in root["task_executions"]}
    assert set(tasks) == {"good", "bad", "plain"}
    assert set(tasks["plain"]) == {"id", "name", "created_at", "updated_at", "state", "state_info",
                                   "action_executions", "workflow_executions"}
    (act,) = tasks["plain"]["action_executions"]
    assert set(act) == {"id", "name", "created_at", "updated_at", "state", "state_info",
                        "accepted", "last_heartbeat"}
    assert (act["name"], act["state"], act["accepted"]) == ("std.echo", "SUCCESS", True)
    (leaf,) = tasks["bad"]["workflow_executions"]
    assert (leaf["name"], leaf["state"]) == (n["WF_LEAF_BAD"], "ERROR")
    assert leaf["task_executions"][0]["state"] == "ERROR"

    # errors only: only the failed path, and only failed tasks counted
    errors = mistral.executions.get_report(top.id)
    assert [t["name"] for t in errors["root_workflow_execution"]["task_executions"]] == ["bad"]
    assert errors["statistics"]["total_tasks_count"] == 2
    assert errors["statistics"]["error_tasks_count"] == 2

    # max_depth 0: the sub-workflows without their tasks
    shallow = mistral.executions.get_report(top.id, errors_only=False, max_depth=0)
    sub = {t["name"]: t for t in shallow["root_workflow_execution"]["task_executions"]}["bad"]
    assert "task_executions" not in sub["workflow_executions"][0]
    assert shallow["statistics"]["total_tasks_count"] == 3

    # statistics only
    stats = mistral.executions.get_report(top.id, errors_only=False, statistics_only=True)
    assert stats == {"statistics": report["statistics"]}

    missing = httpx.get(f"{server.url}/executions/00000000-0000-0000-0000-000000000000/report")
    assert missing.status_code == 404


def test_report_with_the_cli(server, mistral):
    n = define(mistral, TREE, "WF_LEAF_OK", "WF_LEAF_BAD", "WF_TOP")
    top = finished(mistral, mistral.executions.create(n["WF_TOP"]).id)
    shown = mistral_cli(server.url, "execution-get-report", top.id)
    assert shown.returncode == 0, shown.stderr
    assert f"workflow '{n['WF_TOP']}' [ERROR] {top.id}" in shown.stdout
    assert "task 'bad' [ERROR]" in shown.stdout
    assert f"workflow '{n['WF_LEAF_BAD']}' [ERROR]" in shown.stdout
    assert "Number of tasks in ERROR state: 2" in shown.stdout
    assert "task 'plain'" not in shown.stdout        # --errors-only is the CLI's default
    everything = mistral_cli(server.url, "execution-get-report", top.id, "--no-errors-only")
    assert "task 'plain' [SUCCESS]" in everything.stdout
    assert "action 'std.echo' [SUCCESS]" in everything.stdout
    stats = mistral_cli(server.url, "execution-get-report", top.id, "--statistics-only")
    assert "Number of tasks in ERROR state: 2" in stats.stdout
    assert "workflow '" not in stats.stdout


# ---------------------------------------------------------------- sub-executions of a task

def test_task_sub_executions_errors_only(mistral, server):
    n = define(mistral, TREE, "WF_LEAF_OK", "WF_LEAF_BAD", "WF_TOP")
    top = finished(mistral, mistral.executions.create(n["WF_TOP"]).id)
    tasks = tasks_by_name(mistral, top.id)
    good, bad = tasks["good"], tasks["bad"]
    assert [e.workflow_name for e in mistral.tasks.get_task_sub_executions(good.id)] == [n["WF_LEAF_OK"]]
    assert list(mistral.tasks.get_task_sub_executions(good.id, errors_only=True)) == []
    failed = list(mistral.tasks.get_task_sub_executions(bad.id, errors_only=True))
    assert [(e.workflow_name, e.state) for e in failed] == [(n["WF_LEAF_BAD"], "ERROR")]

    shown = mistral_cli(server.url, "task-get-sub-executions", good.id, "--errors-only", "-f", "json")
    assert shown.returncode == 0, shown.stderr
    # (the CLI shows an empty list as one row of blanks)
    assert [e["ID"] for e in json.loads(shown.stdout) if e["ID"]] == []
    shown = mistral_cli(server.url, "task-get-sub-executions", bad.id, "--errors-only", "-f", "json")
    assert [e["ID"] for e in json.loads(shown.stdout)] == [failed[0].id]
