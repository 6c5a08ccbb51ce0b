"""Projects: a second project can neither see, read, change, run nor delete the
first project's private resources; public scope; admins across projects;
executions act as their starter's project. Real server in mode token, real
python-mistralclient."""
from __future__ import annotations

import json
import time

import httpx
import pytest
from mistralclient.api.base import APIException

from tests.api.helpers import finish, unique, wait_for, wf_yaml
from tests.auth.helpers import TokenServer

ECHO = "tasks:\n  t:\n    action: std.echo output=1\n"
FAILING = "tasks:\n  t:\n    action: std.fail\n"


@pytest.fixture(scope="module")
def ts(tmp_path_factory):
    # Deleting action executions is allowed here, so that only the project stops B.
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LEVANTE_ALLOW_ACTION_EXECUTION_DELETION", "true")
        s = TokenServer(tmp_path_factory.mktemp("projects")).start()
    yield s
    s.stop()


@pytest.fixture(scope="module")
def a(ts):
    return ts.mistral(ts.create_token("alice", "project-a"))


@pytest.fixture(scope="module")
def b_token(ts):
    return ts.create_token("bob", "project-b")


@pytest.fixture(scope="module")
def b(ts, b_token):
    return ts.mistral(b_token)


@pytest.fixture(scope="module")
def b_http(ts, b_token):
    return ts.http(b_token)


def code(func, *args, **kwargs) -> int:
    with pytest.raises(APIException) as info:
        func(*args, **kwargs)
    return info.value.error_code


def ids(items) -> set:
    return {i.id for i in items}


def test_workflows(a, b):
    name = unique()
    (wf,) = a.workflows.create(wf_yaml(name, ECHO))
    assert wf.id not in ids(b.workflows.list())
    assert code(b.workflows.get, wf.id) == 404
    assert code(b.workflows.get, name) == 404
    assert code(b.workflows.update, wf_yaml(name, FAILING)) == 404
    assert code(b.workflows.delete, name) == 404
    assert code(b.workflows.delete, wf.id) == 404
    assert code(b.executions.create, wf.id) == 404
    assert code(b.executions.create, name) == 404
    # Names are per project: B may use the same one, and each sees its own.
    (mine,) = b.workflows.create(wf_yaml(name, FAILING))
    assert a.workflows.get(name).id == wf.id and b.workflows.get(name).id == mine.id
    assert a.workflows.get(name).definition != b.workflows.get(name).definition


def test_workbooks(a, b):
    name = unique("wb")
    text = f'version: "2.0"\nname: {name}\nworkflows:\n  w:\n    tasks:\n      t:\n        action: std.noop\n'
    a.workbooks.create(text)
    assert name not in {w.name for w in b.workbooks.list()}
    assert code(b.workbooks.get, name) == 404
    assert code(b.workbooks.update, text) == 404
    assert code(b.workbooks.delete, name) == 404
    assert code(b.executions.create, f"{name}.w") == 404
    assert a.workbooks.get(name).name == name


def test_ad_hoc_actions(a, b, ts, b_http):
    name = unique("act")
    text = f'version: "2.0"\n{name}:\n  base: std.echo\n  base-input:\n    output: secret-of-a\n'
    (act,) = a.actions.create(text)
    assert name not in {x.name for x in b.actions.list()}
    assert code(b.actions.get, name) == 404
    assert code(b.actions.get, act.id) == 404
    assert code(b.actions.update, text) == 404
    assert code(b.actions.delete, name) == 404
    assert code(b.action_executions.create, name, {}) == 400      # "Failed to find action"
    # Nor can B's workflow use it.
    wf = unique()
    b.workflows.create(wf_yaml(wf, f"tasks:\n  t:\n    action: {name}\n"))
    ex = finish(b, b.executions.create(wf).id)
    assert ex.state == "ERROR"
    # A still runs it.
    res = a.action_executions.create(name, {})
    assert json.loads(res.output) == {"result": "secret-of-a"}


def test_environments(a, b):
    name = unique("env")
    a.environments.create(name=name, variables=json.dumps({"password": "a"}))
    assert name not in {e.name for e in b.environments.list()}
    assert code(b.environments.get, name) == 404
    assert code(b.environments.update, name=name, variables=json.dumps({"x": 1})) == 404
    assert code(b.environments.delete, name) == 404
    wf = unique()
    b.workflows.create(wf_yaml(wf, ECHO))
    assert code(b.executions.create, wf, env=name) == 400
    variables = a.environments.get(name).variables
    assert (json.loads(variables) if isinstance(variables, str) else variables) == {"password": "a"}


def test_executions_tasks_and_action_executions(a, b, b_http):
    wf = unique()
    a.workflows.create(wf_yaml(wf, FAILING))
    ex = finish(a, a.executions.create(wf).id)
    assert ex.project_id == "project-a"
    (task,) = a.tasks.list(workflow_execution_id=ex.id)
    (action_ex,) = a.action_executions.list(task.id)
    # Executions
    assert ex.id not in ids(b.executions.list())
    assert code(b.executions.get, ex.id) == 404
    assert code(b.executions.update, ex.id, None, description="mine now") == 404
    assert code(b.executions.delete, ex.id) == 404
    assert b_http.get(f"/executions/{ex.id}/report").status_code == 404
    assert b_http.get(f"/executions/{ex.id}/tasks").status_code == 404
    assert b_http.get(f"/executions/{ex.id}/executions").status_code == 404
    assert b_http.get(f"/executions/{ex.id}/events").status_code == 404
    assert code(b.executions.create, workflow_identifier=wf, source_execution_id=ex.id) == 404
    # Tasks
    assert task.id not in ids(b.tasks.list())
    assert code(b.tasks.get, task.id) == 404
    assert code(b.tasks.rerun, task.id) == 404
    assert b_http.get(f"/tasks/{task.id}/action_executions").status_code == 404
    # Action executions, of a workflow and ad hoc
    saved = a.action_executions.create("std.noop", {}, save_result=True)
    for ae in (action_ex.id, saved.id):
        assert ae not in ids(b.action_executions.list())
        assert code(b.action_executions.get, ae) == 404
        assert code(b.action_executions.update, ae, "SUCCESS", {"result": "mine"}) == 404
        assert code(b.action_executions.delete, ae) == 404
    # A's things are untouched.
    assert a.executions.get(ex.id).state == "ERROR"
    assert a.action_executions.get(saved.id).project_id == "project-a"


def test_cron_triggers(a, b):
    wf = unique()
    a.workflows.create(wf_yaml(wf, ECHO))
    name = unique("cron")
    t = a.cron_triggers.create(name, wf, pattern="0 0 1 1 *")
    assert t.project_id == "project-a"
    assert name not in {c.name for c in b.cron_triggers.list()}
    assert code(b.cron_triggers.get, name) == 404
    assert code(b.cron_triggers.get, t.id) == 404
    assert code(b.cron_triggers.delete, name) == 404
    # B cannot schedule A's workflow either.
    assert code(b.cron_triggers.create, unique("cron"), wf, pattern="0 0 1 1 *") == 404
    assert a.cron_triggers.get(name).id == t.id


def test_event_triggers(a, b, b_http):
    wf = unique()
    (awf,) = a.workflows.create(wf_yaml(wf, ECHO))
    t = a.event_triggers.create(unique("ev"), awf.id, "levante", "executions", "WORKFLOW_SUCCEEDED")
    assert t.id not in ids(b.event_triggers.list())
    assert code(b.event_triggers.get, t.id) == 404
    assert b_http.put(f"/event_triggers/{t.id}", json={"name": "mine"}).status_code == 404
    assert code(b.event_triggers.delete, t.id) == 404
    assert code(b.event_triggers.create, unique("ev"), awf.id, "levante", "executions",
                "WORKFLOW_SUCCEEDED") == 404
    a.event_triggers.delete(t.id)


def test_an_execution_fires_only_its_own_projects_event_triggers(a, b):
    target = unique()
    (twf,) = b.workflows.create(wf_yaml(target, ECHO))
    t = b.event_triggers.create(unique("ev"), twf.id, "levante", "executions", "WORKFLOW_SUCCEEDED")
    try:
        wf = unique()
        a.workflows.create(wf_yaml(wf, ECHO))
        assert finish(a, a.executions.create(wf).id).state == "SUCCESS"
        time.sleep(1.0)
        assert not [e for e in b.executions.list() if e.workflow_name == target]
        assert not [e for e in a.executions.list() if e.workflow_name == target]
    finally:
        b.event_triggers.delete(t.id)


def test_sub_workflows_resolve_in_the_starters_project(a, b):
    child = unique()
    a.workflows.create(wf_yaml(child, ECHO))
    parent = unique()
    b.workflows.create(wf_yaml(parent, f"tasks:\n  call:\n    workflow: {child}\n"))
    ex = finish(b, b.executions.create(parent).id)
    assert ex.state == "ERROR"
    assert "Workflow not found" in ex.state_info or "Workflow not found" in json.dumps(
        [t.state_info for t in b.tasks.list(workflow_execution_id=ex.id)])


def test_mistral_actions_act_as_the_starter(a, b):
    secret = unique("a_only")
    a.workflows.create(wf_yaml(secret, ECHO))
    visible = unique("b_own")
    b.workflows.create(wf_yaml(visible, ECHO))
    wf = unique()
    b.workflows.create(wf_yaml(wf, """
tasks:
  look:
    action: mistral.workflows_list
    publish:
      names: <% task().result.select($.name) %>
"""))
    ex = finish(b, b.executions.create(wf).id)
    assert ex.state == "SUCCESS", ex.state_info
    names = json.loads(b.tasks.list(workflow_execution_id=ex.id)[0].published)["names"]
    assert visible in names and secret not in names


def test_public_workflows(a, b):
    name = unique()
    (wf,) = a.workflows.create(wf_yaml(name, ECHO), scope="public")
    assert wf.scope == "public"
    assert wf.id in ids(b.workflows.list())
    assert b.workflows.get(wf.id).name == name
    ex = finish(b, b.executions.create(wf.id).id)
    assert ex.state == "SUCCESS" and ex.project_id == "project-b"
    # ... but only its owner changes it.
    assert code(b.workflows.delete, wf.id) == 403
    assert code(b.workflows.update, wf_yaml(name, FAILING)) == 404
    assert a.workflows.get(wf.id).definition == wf.definition
    # B's execution of it stays B's.
    assert ex.id not in ids(a.executions.list())


def test_public_actions(a, b):
    name = unique("act")
    a.actions.create(f'version: "2.0"\n{name}:\n  base: std.echo\n  base-input:\n    output: shared\n',
                     scope="public")
    assert b.actions.get(name).scope == "public"
    assert json.loads(b.action_executions.create(name, {}).output) == {"result": "shared"}
    assert code(b.actions.delete, name) == 403


def test_admin_lists_across_projects(ts, a, b):
    admin = ts.mistral(ts.admin_token)
    wa, wb = unique(), unique()
    a.workflows.create(wf_yaml(wa, ECHO))
    b.workflows.create(wf_yaml(wb, ECHO))
    ea = finish(a, a.executions.create(wa).id)
    eb = finish(b, b.executions.create(wb).id)
    mine = ids(admin.executions.list())
    assert ea.id not in mine and eb.id not in mine
    every = ids(admin.executions.list(all_projects=True, limit=1000))
    assert {ea.id, eb.id} <= every
    only_a = admin.executions.list(all_projects=True, project_id="project-a", limit=1000)
    assert ea.id in ids(only_a) and eb.id not in ids(only_a)
    assert {w.name for w in admin.workflows.list(all_projects=True)} >= {wa, wb}
    # An admin reads any project's execution by id.
    assert admin.executions.get(eb.id).project_id == "project-b"


def test_non_admins_cannot_list_all_projects(b, b_http):
    assert code(b.executions.list, all_projects=True) == 403
    r = b_http.get("/workflows", params={"all_projects": "true"})
    assert r.status_code == 403
    assert r.json()["faultstring"] == "Policy doesn't allow workflows:list:all_projects to be performed."
    # A project_id filter from a non-admin never widens what it sees.
    assert all(w["project_id"] in ("project-b",) or w["scope"] == "public"
               for w in b_http.get("/workflows", params={"project_id": "project-a"}).json()["workflows"])


def test_public_event_triggers_need_the_admin_rule(ts, a):
    (wf,) = a.workflows.create(wf_yaml(unique(), ECHO))
    body = {"name": unique("ev"), "workflow_id": wf.id, "exchange": "levante", "topic": "executions",
            "event": "WORKFLOW_SUCCEEDED", "scope": "public"}
    owner = ts.http(ts.create_token("alice2", "project-a"))
    r = owner.post("/event_triggers", json=body)
    assert r.status_code == 403
    assert r.json()["faultstring"] == "Policy doesn't allow event_triggers:create:public to be performed."
    admin = ts.http(ts.admin_token)
    (wf2,) = ts.mistral(ts.admin_token).workflows.create(wf_yaml(unique(), ECHO))
    r = admin.post("/event_triggers", json=dict(body, workflow_id=wf2.id))
    assert r.status_code == 201 and r.json()["scope"] == "public"


GREET = '''
from mistral_lib import actions


class Greet(actions.Action):
    def __init__(self, who):
        self.who = who

    def run(self, context):
        return "hello " + self.who
'''


def test_code_sources_and_dynamic_actions(a, b, b_http):
    module = unique("mod")
    src = a.code_sources.create(module, GREET)
    action = f"{module}.greet"
    dyn = a.dynamic_actions.create(action, "Greet", module)
    assert a.action_executions.create(action, {"who": "a"}, save_result=False).output == \
        '{"result": "hello a"}'
    # B sees neither, by name or id, in lists or /v2/actions; cannot change, delete or run them.
    assert src.id not in ids(b.code_sources.list()) and dyn.id not in ids(b.dynamic_actions.list())
    assert action not in {x.name for x in b.actions.list()}
    assert code(b.code_sources.get, module) == 404 and code(b.code_sources.get, src.id) == 404
    assert code(b.dynamic_actions.get, action) == 404 and code(b.dynamic_actions.get, dyn.id) == 404
    assert code(b.actions.get, action) == 404
    assert code(b.code_sources.update, src.id, GREET) == 404
    assert code(b.code_sources.delete, src.id) == 404
    assert code(b.dynamic_actions.delete, dyn.id) == 404
    assert code(b.dynamic_actions.create, f"{module}.mine", "Greet", module) == 404   # not its code source
    assert code(b.action_executions.create, action, {"who": "b"}) == 400
    name = unique()
    b.workflows.create(wf_yaml(name, f"tasks:\n  t:\n    action: {action} who=b\n"))
    ex = finish(b, b.executions.create(name).id)
    assert ex.state == "ERROR" and "Failed to find action" in ex.state_info
    # Names are per project: B may use the same module name for its own code.
    mine = b.code_sources.create(module, GREET.replace("hello ", "hi "))
    assert mine.id != src.id and a.code_sources.get(module).id == src.id
    # A public code source and its public action: B reads and runs them, cannot change them.
    shared = unique("pub")
    a.code_sources.create(shared, GREET, scope="public")
    a.dynamic_actions.create(f"{shared}.greet", "Greet", shared, scope="public")
    assert b.code_sources.get(shared).name == shared
    assert b.action_executions.create(f"{shared}.greet", {"who": "b"}, save_result=False).output == \
        '{"result": "hello b"}'
    assert code(b.code_sources.delete, shared) == 403
