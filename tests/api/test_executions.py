"""Workflow executions through python-mistralclient."""
from __future__ import annotations

import time

import httpx

from tests.api.helpers import (ECHO, SLEEPY, api_error, as_json, create_wf, finish, unique,
                               wait_for)

GREET = """
input:
  - name
  - greeting: "Hello"
output:
  message: <% $.message %>
tasks:
  say:
    action: std.echo output="<% $.greeting %>, <% $.name %>!"
    publish:
      message: <% task().result %>
"""


def test_create_by_name_with_input(mistral):
    name = unique()
    wf = create_wf(mistral, name, GREET)
    ex = mistral.executions.create(name, workflow_input={"name": "World"}, description="first run")
    assert ex.state in ("RUNNING", "SUCCESS")       # as far as its start got (std.echo runs in it)
    assert ex.workflow_name == name
    assert ex.workflow_id == wf.id
    assert ex.description == "first run"
    # defaults are merged into the stored input
    assert as_json(ex.input) == {"name": "World", "greeting": "Hello"}
    ex = finish(mistral, ex.id)
    assert ex.state == "SUCCESS"
    assert ex.state_info is None
    assert as_json(ex.output) == {"message": "Hello, World!"}


def test_create_by_id_with_input(mistral):
    name = unique()
    wf = create_wf(mistral, name, GREET)
    ex = mistral.executions.create(wf.id, workflow_input={"name": "Id", "greeting": "Hi"})
    assert ex.workflow_name == name
    ex = finish(mistral, ex.id)
    assert ex.state == "SUCCESS"
    assert as_json(ex.output) == {"message": "Hi, Id!"}


def test_input_as_json_text(mistral):
    name = unique()
    create_wf(mistral, name, GREET)
    ex = finish(mistral, mistral.executions.create(name, workflow_input='{"name": "Text"}').id)
    assert as_json(ex.output) == {"message": "Hello, Text!"}


def test_params_env_as_dict(mistral):
    name = unique()
    create_wf(mistral, name, """
tasks:
  t:
    action: std.echo output=<% env().colour %>
    publish:
      colour: <% task().result %>
""")
    ex = mistral.executions.create(name, env={"colour": "blue"})
    assert as_json(ex.params)["env"] == {"colour": "blue"}
    ex = finish(mistral, ex.id)
    assert ex.state == "SUCCESS"
    assert as_json(ex.output) == {"colour": "blue"}


def test_get(mistral):
    name = unique()
    create_wf(mistral, name, ECHO)
    created = mistral.executions.create(name)
    got = mistral.executions.get(created.id)
    assert got.id == created.id
    assert got.workflow_name == name
    assert got.state in ("RUNNING", "SUCCESS")
    assert as_json(got.params) == {"namespace": "", "env": {}}
    assert got.task_execution_id is None
    assert got.root_execution_id is None
    assert got.created_at and len(got.created_at) == 19  # "YYYY-MM-DD HH:MM:SS"
    assert finish(mistral, created.id).state == "SUCCESS"


def test_list_paging_and_filters(mistral, server):
    name = unique()
    create_wf(mistral, name, ECHO)
    ids = [mistral.executions.create(name, description=f"run {i}").id for i in range(3)]
    # a newer execution of another workflow, that the filters must leave out
    other = unique()
    create_wf(mistral, other, ECHO)
    for i in ids + [mistral.executions.create(other).id]:
        finish(mistral, i)

    mine = mistral.executions.list(workflow_name=name)
    assert sorted(e.id for e in mine) == sorted(ids)
    assert all(e.state == "SUCCESS" for e in mine)
    # list items carry no output
    assert not hasattr(mine[0], "output") or mine[0].output is None

    # limit + marker, oldest first (created_at, id)
    seen = []
    marker = ""
    while True:
        page = mistral.executions.list(workflow_name=name, limit=2, marker=marker)
        seen += [e.id for e in page]
        if len(page) < 2:
            break
        marker = page[-1].id
    assert sorted(seen) == sorted(ids)
    assert len(seen) == 3

    # newest first, as the CLI asks, pages the other way round
    desc = []
    marker = ""
    while True:
        page = mistral.executions.list(workflow_name=name, limit=2, marker=marker,
                                       sort_keys="created_at", sort_dirs="desc")
        desc += [e.id for e in page]
        if len(page) < 2:
            break
        marker = page[-1].id
    assert desc == list(reversed(seen))

    # other filters
    only = mistral.executions.list(workflow_name=name, description="run 1")
    assert [e.id for e in only] == [ids[1]]
    assert mistral.executions.list(workflow_name=name, state="ERROR") == []
    assert len(mistral.executions.list(workflow_name=name, state="SUCCESS")) == 3

    # the raw body has a `next` link while a page is full; following it keeps the filter
    r = httpx.get(f"{server.url}/executions", params={"workflow_name": name, "limit": 2})
    assert r.status_code == 200
    body = r.json()
    assert len(body["executions"]) == 2
    assert body["next"].startswith(f"{server.url}/executions?")
    assert "marker=" + body["executions"][-1]["id"] in body["next"]
    nxt = httpx.get(body["next"]).json()
    assert [e["id"] for e in nxt["executions"]] == [i for i in seen if i not in
                                                   [e["id"] for e in body["executions"]]]
    assert "next" not in nxt
    r = httpx.get(f"{server.url}/executions", params={"workflow_name": name, "limit": 10})
    assert "next" not in r.json()


def test_update_description(mistral):
    name = unique()
    create_wf(mistral, name, ECHO)
    ex = finish(mistral, mistral.executions.create(name).id)
    upd = mistral.executions.update(ex.id, None, description="renamed")
    assert upd.description == "renamed"
    assert mistral.executions.get(ex.id).description == "renamed"
    assert mistral.executions.get(ex.id).state == "SUCCESS"


def test_pause_and_resume(mistral):
    name = unique("sleepy")
    create_wf(mistral, name, SLEEPY)
    ex = mistral.executions.create(name)
    paused = mistral.executions.update(ex.id, "PAUSED")
    assert paused.state == "PAUSED"
    # the sleep finishes, but no new task starts while paused
    time.sleep(2.5)
    got = mistral.executions.get(ex.id)
    assert got.state == "PAUSED"
    assert [t.name for t in mistral.tasks.list(ex.id)] == ["nap"]
    resumed = mistral.executions.update(ex.id, "RUNNING")
    assert resumed.state in ("RUNNING", "SUCCESS")     # as far as its resume got ("wake" echoes)
    done = finish(mistral, ex.id)
    assert done.state == "SUCCESS"
    assert as_json(done.output) == {"woke": "awake"}
    assert sorted(t.name for t in mistral.tasks.list(ex.id)) == ["nap", "wake"]

    # a finished execution cannot be paused
    err = api_error(mistral.executions.update, ex.id, "PAUSED")
    assert err.error_code == 400
    assert "Can't change workflow execution state from SUCCESS to PAUSED" in err.error_message


def test_cancel_and_delete(mistral):
    name = unique("sleepy")
    create_wf(mistral, name, SLEEPY)
    to_cancel = mistral.executions.create(name)
    started = time.time()
    to_delete = mistral.executions.create(name)

    cancelled = mistral.executions.update(to_cancel.id, "CANCELLED")
    assert cancelled.state == "CANCELLED"
    assert finish(mistral, to_cancel.id).state == "CANCELLED"
    assert as_json(mistral.executions.get(to_cancel.id).output) == {"result": None}

    # a running execution cannot be deleted without force
    err = api_error(mistral.executions.delete, to_delete.id)
    assert err.error_code == 403
    assert "Only completed executions can be deleted" in err.error_message
    assert mistral.executions.get(to_delete.id).state == "RUNNING"
    mistral.executions.delete(to_delete.id, force=True)
    assert api_error(mistral.executions.get, to_delete.id).error_code == 404

    # the sleep that was running when it was cancelled ends without starting the next task
    time.sleep(max(0.0, started + 2.5 - time.time()))
    assert mistral.executions.get(to_cancel.id).state == "CANCELLED"
    assert [t.name for t in mistral.tasks.list(to_cancel.id)] == ["nap"]

    # a finished one can
    mistral.executions.delete(to_cancel.id)
    assert api_error(mistral.executions.get, to_cancel.id).error_code == 404


def test_invalid_state_is_400(mistral):
    name = unique()
    create_wf(mistral, name, ECHO)
    ex = finish(mistral, mistral.executions.create(name).id)
    err = api_error(mistral.executions.update, ex.id, "BOGUS")
    assert err.error_code == 400
    assert "Cannot change state to BOGUS" in err.error_message


def test_missing_input_is_400(mistral):
    name = unique()
    create_wf(mistral, name, GREET)
    err = api_error(mistral.executions.create, name)
    assert err.error_code == 400
    assert err.error_message == f"Invalid input [name={name}, class=DirectWorkflowSpec, missing=['name']]"
    assert mistral.executions.list(workflow_name=name) == []
    err = api_error(mistral.executions.create, name, workflow_input={"name": "x", "colour": "red"})
    assert err.error_code == 400
    assert "unexpected=['colour']" in err.error_message


def test_unknown_workflow_is_404(mistral):
    err = api_error(mistral.executions.create, "no_such_workflow_xyz")
    assert err.error_code == 404
    assert err.error_message == "Workflow not found [workflow_identifier=no_such_workflow_xyz, namespace=]"


def test_delete_finished(mistral):
    name = unique()
    create_wf(mistral, name, ECHO)
    ex = finish(mistral, mistral.executions.create(name).id)
    tasks = mistral.tasks.list(ex.id)
    assert tasks
    mistral.executions.delete(ex.id)
    assert api_error(mistral.executions.get, ex.id).error_code == 404
    assert api_error(mistral.tasks.get, tasks[0].id).error_code == 404
    wait_for(lambda: ex.id not in [e.id for e in mistral.executions.list(workflow_name=name)])


def test_failed_workflow(mistral):
    name = unique("failing")
    create_wf(mistral, name, """
tasks:
  boom:
    action: std.fail error_data="it broke"
""")
    ex = finish(mistral, mistral.executions.create(name).id)
    assert ex.state == "ERROR"
    assert ex.state_info.startswith("Failure caused by error in tasks: boom")
    assert "it broke" in ex.state_info
    assert as_json(ex.output) == {"result": ex.state_info}
    (task,) = mistral.tasks.list(ex.id)
    assert task.name == "boom"
    assert task.state == "ERROR"
