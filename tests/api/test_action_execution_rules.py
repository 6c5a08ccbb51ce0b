"""Action executions: the requests Mistral 23 refuses, and the routes and options
it has, through the real python-mistralclient library and `mistral` CLI."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.api.helpers import api_error, as_json, create_wf, finish, unique

MISTRAL_BIN = Path(sys.executable).parent / "mistral"

ADHOC = """---
version: '2.0'
{name}:
  base: std.echo
  base-input:
    output: <% $.greeting %>
  input:
    - greeting
"""


def mistral_cli(url: str, *args: str) -> subprocess.CompletedProcess:
    """The real `mistral` CLI, without keystone."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("OS_", "MISTRAL_AUTH_TYPE", "OPENID_", "KEYCLOAK_"))}
    return subprocess.run([str(MISTRAL_BIN), "--os-mistral-url", url, *args], env=env,
                          capture_output=True, text=True, timeout=60)


# ---------------------------------------------------------------- POST /v2/action_executions

def test_run_sync_on_an_async_action_is_400(mistral):
    err = api_error(mistral.action_executions.create, "std.async_noop", {}, run_sync=True)
    assert err.error_code == 400
    assert err.error_message == "Action does not support synchronous execution."
    err = api_error(mistral.action_executions.create, "std.async_noop", {}, save_result=True,
                    run_sync=True)
    assert err.error_code == 400


def test_an_async_action_is_always_stored(mistral):
    # Without save_result too: its result can only come later, through its id.
    ae = mistral.action_executions.create("std.async_noop", {})
    assert ae.id and ae.state == "RUNNING"
    mistral.action_executions.update(ae.id, state="SUCCESS", output={"done": True})
    assert as_json(mistral.action_executions.get(ae.id).output) == {"result": {"done": True}}


def test_unexpected_action_input_is_400(mistral):
    err = api_error(mistral.action_executions.create, "std.echo", {"output": 1, "colour": "red"})
    assert err.error_code == 400
    assert "unexpected=['colour']" in err.error_message


def test_adhoc_action_input_is_checked(mistral):
    name = unique("greet")
    mistral.actions.create(ADHOC.format(name=name))
    ae = mistral.action_executions.create(name, {"greeting": "hi"})
    assert ae.state == "SUCCESS" and as_json(ae.output) == {"result": "hi"}
    err = api_error(mistral.action_executions.create, name, {})
    assert err.error_code == 400 and "missing=['greeting']" in err.error_message
    err = api_error(mistral.action_executions.create, name, {"greeting": "hi", "extra": 1})
    assert err.error_code == 400 and "unexpected=['extra']" in err.error_message


def test_run_action_refusals_with_the_cli(server):
    bad = mistral_cli(server.url, "run-action", "std.async_noop", "{}", "--run-sync")
    assert bad.returncode != 0 and "Action does not support synchronous execution." in bad.stderr
    bad = mistral_cli(server.url, "run-action", "std.echo", '{"output": 1, "nope": 2}')
    assert bad.returncode != 0 and "unexpected=['nope']" in bad.stderr


# ---------------------------------------------------------------- PUT /v2/action_executions/{id}

def test_update_output_must_be_a_json_object(mistral, server):
    ae = mistral.action_executions.create("std.async_noop", {})
    err = api_error(mistral.action_executions.update, ae.id, state="SUCCESS", output="not json")
    assert err.error_code == 400
    assert err.error_message == ("Invalid input for field/attribute action_ex. Value: "
                                 "'{'state': 'SUCCESS', 'output': 'not json'}'. "
                                 "Expecting value: line 1 column 1 (char 0)")
    # JSON, but not an object (Mistral's output field is a JSON object)
    err = api_error(mistral.action_executions.update, ae.id, state="SUCCESS", output='"late"')
    assert err.error_code == 400
    assert err.error_message == "JsonType field value must be a dictionary [actual=late]"
    assert api_error(mistral.action_executions.update, ae.id, state="SUCCESS",
                     output=[1, 2]).error_code == 400
    assert mistral.action_executions.get(ae.id).state == "RUNNING"
    # an object, or JSON text of one, is taken
    mistral.action_executions.update(ae.id, state="SUCCESS", output='{"fine": true}')
    assert as_json(mistral.action_executions.get(ae.id).output) == {"result": {"fine": True}}


def test_update_to_error_without_output(mistral, server):
    ae = mistral.action_executions.create("std.async_noop", {})
    r = httpx.put(f"{server.url}/action_executions/{ae.id}", json={"state": "ERROR", "output": {}})
    assert r.status_code == 200, r.text
    assert as_json(mistral.action_executions.get(ae.id).output) == {"result": "Unknown error"}


def test_update_with_an_unknown_state_is_400(mistral):
    ae = mistral.action_executions.create("std.async_noop", {})
    err = api_error(mistral.action_executions.update, ae.id, state="DONE")
    assert err.error_code == 400
    assert err.error_message == ("Error. Expected one of ['SUCCESS', 'ERROR', 'CANCELLED', "
                                 "'PAUSED', 'RUNNING'], actual: DONE")
    assert mistral.action_executions.get(ae.id).state == "RUNNING"
    assert api_error(mistral.action_executions.update, "no-such-id", state="SUCCESS").error_code == 404


# ---------------------------------------------------------------- DELETE /v2/action_executions/{id}

def test_delete_is_refused_by_default(mistral, server):
    ae = mistral.action_executions.create("std.echo", {"output": 1}, save_result=True, run_sync=True)
    err = api_error(mistral.action_executions.delete, ae.id)
    assert err.error_code == 403
    assert err.error_message == "Action execution deletion is not allowed."
    assert mistral.action_executions.get(ae.id).id == ae.id
    bad = mistral_cli(server.url, "action-execution-delete", ae.id)
    assert "Action execution deletion is not allowed." in bad.stderr + bad.stdout


@pytest.fixture
def deleting_server(fresh_server, monkeypatch):
    monkeypatch.setenv("LEVANTE_ALLOW_ACTION_EXECUTION_DELETION", "true")
    fresh_server.start()
    from mistralclient.api import client

    return client.client(mistral_url=fresh_server.url)


def test_delete_when_allowed(deleting_server):
    m = deleting_server
    done = m.action_executions.create("std.echo", {"output": 1}, save_result=True, run_sync=True)
    m.action_executions.delete(done.id)
    assert api_error(m.action_executions.get, done.id).error_code == 404
    # Only completed ones, and only those run outside a workflow (Mistral's rules).
    running = m.action_executions.create("std.async_noop", {})
    err = api_error(m.action_executions.delete, running.id)
    assert err.error_code == 403 and err.error_message == "Only completed action execution can be deleted."
    wf = unique()
    create_wf(m, wf, "tasks:\n  t:\n    action: std.noop\n")
    ex = finish(m, m.executions.create(wf).id)
    (task,) = m.tasks.list(ex.id)
    (in_task,) = m.action_executions.list(task.id)
    err = api_error(m.action_executions.delete, in_task.id)
    assert err.error_code == 403 and err.error_message == "Only ad-hoc action execution can be deleted."


# ---------------------------------------------------------------- lists and the task route

def test_list_with_include_output(mistral, server):
    ae = mistral.action_executions.create("std.echo", {"output": "kept"}, save_result=True, run_sync=True)
    plain = httpx.get(f"{server.url}/action_executions", params={"name": "std.echo"}).json()
    assert all("output" not in a for a in plain["action_executions"])
    full = httpx.get(f"{server.url}/action_executions",
                     params={"name": "std.echo", "include_output": "true"}).json()
    got = {a["id"]: a for a in full["action_executions"]}
    assert json.loads(got[ae.id]["output"]) == {"result": "kept"}
    # through the client: the output is there only when asked for
    listed = {a.id: a for a in mistral.action_executions.list(include_output=True)}
    assert as_json(listed[ae.id].output) == {"result": "kept"}


def test_task_action_execution_route(mistral, server):
    wf = unique()
    create_wf(mistral, wf, "tasks:\n  t:\n    action: std.echo output=7\n")
    ex = finish(mistral, mistral.executions.create(wf).id)
    (task,) = mistral.tasks.list(ex.id)
    (ae,) = mistral.action_executions.list(task.id)
    r = httpx.get(f"{server.url}/tasks/{task.id}/action_executions/{ae.id}")
    assert r.status_code == 200
    assert r.json()["id"] == ae.id and json.loads(r.json()["output"]) == {"result": 7}
    assert httpx.get(f"{server.url}/tasks/{task.id}/action_executions/{ae.id}",
                     params={"fields": "state"}).json() == {"id": ae.id, "state": "SUCCESS"}
    other = mistral.action_executions.create("std.async_noop", {})
    assert httpx.get(f"{server.url}/tasks/{task.id}/action_executions/{other.id}").status_code == 404
    listed = httpx.get(f"{server.url}/tasks/{task.id}/action_executions",
                       params={"include_output": "true"}).json()["action_executions"]
    assert json.loads(listed[0]["output"]) == {"result": 7}
