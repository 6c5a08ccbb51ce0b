"""The service's own API as ``mistral.*`` actions: names and parameters like
python-mistralclient's managers, results as the API's JSON, and workflows that
drive Levante (the seed ``mistral-env-w-ssh.yaml``; a parent that starts a
child execution and reads it back)."""
from __future__ import annotations

import inspect
import json
import time
import uuid

import httpx
import pytest

from levante.actions import service
from levante.actions.base import ActionDef
from levante.actions.registry import Registry
from tests.conftest import EXAMPLES, wait_for_state

REQUIRED = [
    "mistral.workflows_list", "mistral.workflows_get", "mistral.executions_create",
    "mistral.executions_get", "mistral.executions_list", "mistral.executions_update",
    "mistral.environments_get", "mistral.environments_list", "mistral.environments_create",
    "mistral.action_executions_get", "mistral.action_executions_list", "mistral.tasks_list",
    "mistral.tasks_get",
]

MANAGERS = ["action_executions", "environments", "executions", "workbooks", "workflows",
            "actions", "tasks"]

# Where the action's input differs from the client method's on purpose.
DEVIATIONS = {
    # Levante has no PUT /v2/workflows/{id} nor /v2/actions/{id}: no ``id`` parameter.
    "mistral.workflows_update": {"drop": ["id"]},
    "mistral.actions_update": {"drop": ["id"]},
    # The client takes **kwargs; the action names the fields so bad input is a clear 400.
    "mistral.environments_create": {"explicit": True},
    "mistral.environments_update": {"explicit": True},
}


def _client_method(action_name: str):
    from mistralclient.api.v2 import (action_executions, actions, environments, executions,
                                      tasks, workbooks, workflows)

    classes = {
        "action_executions": action_executions.ActionExecutionManager,
        "environments": environments.EnvironmentManager,
        "executions": executions.ExecutionManager, "workbooks": workbooks.WorkbookManager,
        "workflows": workflows.WorkflowManager, "actions": actions.ActionManager,
        "tasks": tasks.TaskManager,
    }
    short = action_name[len("mistral."):]
    for m in MANAGERS:
        if short.startswith(m + "_"):
            return getattr(classes[m], short[len(m) + 1:])
    raise AssertionError(f"no manager for {action_name}")


# ---------------------------------------------------------------- registry and signatures

def test_required_actions_are_registered():
    reg = Registry(load_plugins=False)
    for name in REQUIRED:
        d = reg.get(name)
        assert d is not None, name
        assert d.description, name
        assert reg.origin(name) == "builtin"


@pytest.mark.parametrize("name", sorted(service.OPERATIONS))
def test_parameters_are_named_like_mistralclient(name):
    method = _client_method(name)
    theirs = [p for p in inspect.signature(method).parameters.values() if p.name != "self"]
    ours = list(inspect.signature(service.OPERATIONS[name]).parameters.values())
    dev = DEVIATIONS.get(name, {})
    if dev.get("explicit"):
        assert [p.kind for p in theirs] == [inspect.Parameter.VAR_KEYWORD]
        return
    theirs = [p for p in theirs if p.name not in dev.get("drop", [])]
    assert [(p.name, p.default, p.kind) for p in ours] == \
        [(p.name, p.default, p.kind) for p in theirs]


def test_input_display_and_safe_rerun():
    reg = Registry(load_plugins=False)
    assert reg.get("mistral.environments_get").input_display() == "name"
    assert reg.get("mistral.executions_create").input_display() == (
        'wf_identifier="", namespace="", workflow_input=null, description="", '
        'source_execution_id=null')
    assert reg.get("mistral.executions_create").accepts_any
    assert reg.get("mistral.executions_get").safe_rerun
    assert not reg.get("mistral.executions_create").safe_rerun


def test_bad_input_is_rejected_before_any_call():
    d = ActionDef.from_class("mistral.environments_get",
                             service.ACTIONS["mistral.environments_get"][0])
    out = d.run({}, None)
    assert out.kind == "error" and "missing=['name']" in out.value
    out = d.run({"name": "x", "bogus": 1}, None)
    assert out.kind == "error" and "unexpected=['bogus']" in out.value
    with pytest.raises(TypeError):
        service.ACTIONS["mistral.environments_get"][0](bogus=1)


# ---------------------------------------------------------------- requests built

def test_executions_create_request():
    c = service.OPERATIONS["mistral.executions_create"]("my_wf", workflow_input={"x": 1},
                                                        env={"a": 1}, description="d")
    assert (c.method, c.path) == ("POST", "/executions")
    assert c.json == {"description": "d", "workflow_name": "my_wf", "input": '{"x": 1}',
                      "params": '{"env": {"a": 1}}'}
    uid = str(uuid.uuid4())
    c = service.OPERATIONS["mistral.executions_create"](uid, namespace="ns", workflow_input='{"y": 2}')
    assert c.json == {"description": "", "workflow_id": uid, "workflow_namespace": "ns",
                      "input": '{"y": 2}'}
    # the older client's parameter name still works
    c = service.OPERATIONS["mistral.executions_create"](workflow_identifier="old_style")
    assert c.json == {"description": "", "workflow_name": "old_style"}
    with pytest.raises(ValueError):
        service.OPERATIONS["mistral.executions_create"]()


def test_list_requests_carry_paging_and_filters():
    c = service.OPERATIONS["mistral.executions_list"](task="t1", limit=5, sort_keys="created_at",
                                                      sort_dirs="desc", fields=["id", "state"],
                                                      workflow_name="wf", state="SUCCESS")
    assert (c.method, c.path, c.key) == ("GET", "/executions", "executions")
    assert c.query == {"limit": 5, "sort_keys": "created_at", "sort_dirs": "desc",
                       "fields": "id,state", "workflow_name": "wf", "state": "SUCCESS",
                       "task_execution_id": "t1"}
    c = service.OPERATIONS["mistral.tasks_list"](workflow_execution_id="e/1")
    assert c.path == "/executions/e%2F1/tasks" and c.query == {}
    c = service.OPERATIONS["mistral.action_executions_list"](task_execution_id="t9")
    assert c.path == "/tasks/t9/action_executions"
    c = service.OPERATIONS["mistral.workflows_create"]("version: '2.0'", namespace="n")
    assert c.text == "version: '2.0'" and c.query == {"namespace": "n", "scope": "private"}


def test_unreachable_api_is_an_action_error(monkeypatch):
    monkeypatch.setenv("LEVANTE_API_URL", "http://127.0.0.1:9/v2")
    d = ActionDef.from_class("mistral.workflows_list", service.ACTIONS["mistral.workflows_list"][0])
    out = d.run({}, None)
    assert out.kind == "error"
    assert out.value.startswith("mistral.workflows_list failed: cannot reach the API at "
                                "http://127.0.0.1:9/v2")


def test_results_are_the_api_json(monkeypatch, server):
    monkeypatch.setenv("LEVANTE_API_URL", server.url)
    name = f"env_{uuid.uuid4().hex[:8]}"
    create = ActionDef.from_class("mistral.environments_create",
                                  service.ACTIONS["mistral.environments_create"][0])
    out = create.run({"name": name, "variables": {"a": [1, 2]}, "description": "made by an action"},
                     None)
    assert out.kind == "ok", out.value
    assert out.value["name"] == name and out.value["variables"] == {"a": [1, 2]}
    get = ActionDef.from_class("mistral.environments_get",
                               service.ACTIONS["mistral.environments_get"][0])
    env = get.run({"name": name}, None).value
    assert env["variables"] == {"a": [1, 2]} and env["description"] == "made by an action"
    listed = ActionDef.from_class("mistral.environments_list",
                                  service.ACTIONS["mistral.environments_list"][0]).run({}, None)
    assert isinstance(listed.value, list)
    assert {"a": [1, 2]} in [e["variables"] for e in listed.value if e["name"] == name]
    missing = get.run({"name": name + "_nope"}, None)
    assert missing.kind == "error"
    assert missing.value == (f"mistral.environments_get failed: 404 Environment not found "
                             f"[name={name}_nope]")
    delete = ActionDef.from_class("mistral.environments_delete",
                                  service.ACTIONS["mistral.environments_delete"][0])
    assert delete.run({"name": name}, None).value is None


# ---------------------------------------------------------------- workflows that drive Levante

PRIVATE_KEY = "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA4gtv\n-----END RSA PRIVATE KEY-----"


def test_seed_mistral_env_w_ssh(mistral):
    seed = EXAMPLES / "mistral-env-w-ssh.yaml"
    assert seed.exists(), f"seed example not found: {seed}"
    suffix = uuid.uuid4().hex[:8]
    keys_env, ips_env, wf = f"ssh_keys_{suffix}", f"my_env_{suffix}", f"wf_{suffix}"
    text = seed.read_text().replace("\nwf:", f"\n{wf}:").replace("'ssh_keys'", f"'{keys_env}'")
    assert f"name='{keys_env}'" in text and f"\n{wf}:" in text
    mistral.environments.create(name=keys_env, variables={"private_key": PRIVATE_KEY})
    mistral.environments.create(name=ips_env, variables={
        "foo": "bar", "service_ips": {"ceph_mon_ctlplane_node_ips": ["192.168.24.13", "192.168.24.15"]}})
    mistral.workflows.create(text)
    ex = mistral.executions.create(wf, env=ips_env)
    ex = wait_for_state(lambda: mistral.executions.get(ex.id))
    assert ex.state == "SUCCESS", ex.state_info
    tasks = {t.name: mistral.tasks.get(t.id) for t in mistral.tasks.list(workflow_execution_id=ex.id)}
    assert set(tasks) == {"get_private_key", "show_key", "show_ips"}
    got = json.loads(tasks["get_private_key"].result)
    assert got["name"] == keys_env
    assert got["variables"] == {"private_key": PRIVATE_KEY}
    assert json.loads(tasks["get_private_key"].published) == {"private_key": PRIVATE_KEY}
    assert json.loads(tasks["show_key"].result) == PRIVATE_KEY
    assert json.loads(tasks["show_ips"].result) == ["192.168.24.13", "192.168.24.15"]


PARENT_CHILD = """
version: '2.0'
child_{s}:
  input:
    - x
  output:
    doubled: <% $.x * 2 %>
    flavour: <% env().get('flavour') %>
  tasks:
    t:
      action: std.echo output=<% $.x %>

parent_{s}:
  input:
    - x
  output:
    child_id: <% $.child_id %>
    child_state: <% $.child_state %>
    child_output: <% $.child_output %>
    child_description: <% $.child_description %>
    child_count: <% $.child_count %>
    child_tasks: <% $.child_tasks %>
    child_task_result: <% $.child_task_result %>
    action_names: <% $.action_names %>
  tasks:
    start_child:
      action: mistral.executions_create
      input:
        wf_identifier: child_{s}
        workflow_input:
          x: <% $.x %>
        description: started by parent
        env:
          flavour: vanilla
      publish:
        child_id: <% task().result.id %>
      on-success: wait_child
    wait_child:
      action: mistral.executions_get id=<% $.child_id %>
      retry:
        count: 100
        delay: 0.1
        continue-on: <% task().result.state = 'RUNNING' %>
      publish:
        child_state: <% task().result.state %>
        child_output: <% json_parse(task().result.output) %>
        child_description: <% task().result.description %>
      on-success: list_children
    list_children:
      action: mistral.executions_list workflow_name=child_{s}
      publish:
        child_count: <% task().result.len() %>
      on-success: child_tasks
    child_tasks:
      action: mistral.tasks_list workflow_execution_id=<% $.child_id %>
      publish:
        child_tasks: <% task().result.select($.name) %>
        child_task_id: <% task().result[0].id %>
      on-success: child_task
    child_task:
      action: mistral.tasks_get id=<% $.child_task_id %>
      publish:
        child_task_result: <% json_parse(task().result.result) %>
      on-success: child_actions
    child_actions:
      action: mistral.action_executions_list task_execution_id=<% $.child_task_id %>
      publish:
        action_names: <% task().result.select($.name) %>
        action_id: <% task().result[0].id %>
      on-success: child_action
    child_action:
      action: mistral.action_executions_get id=<% $.action_id %>
"""


def test_workflow_starts_a_child_execution_and_reads_it_back(mistral):
    s = uuid.uuid4().hex[:8]
    mistral.workflows.create(PARENT_CHILD.format(s=s))
    ex = mistral.executions.create(f"parent_{s}", workflow_input={"x": 21})
    ex = wait_for_state(lambda: mistral.executions.get(ex.id), timeout=60)
    assert ex.state == "SUCCESS", ex.state_info
    out = json.loads(ex.output)
    child = mistral.executions.get(out["child_id"])
    assert child.workflow_name == f"child_{s}"
    assert child.state == "SUCCESS"
    assert out["child_state"] == "SUCCESS"
    assert out["child_output"] == {"doubled": 42, "flavour": "vanilla"}
    assert out["child_description"] == "started by parent"
    assert out["child_count"] == 1
    assert out["child_tasks"] == ["t"]
    assert out["child_task_result"] == 21
    assert out["action_names"] == ["std.echo"]


CONTROL = """
version: '2.0'
slow_{s}:
  tasks:
    nap:
      action: std.sleep seconds=30

control_{s}:
  output:
    before: <% $.before %>
    after: <% $.after %>
    listed: <% $.listed %>
    wf_name: <% $.wf_name %>
    found: <% $.found %>
  tasks:
    start:
      action: mistral.executions_create wf_identifier=slow_{s}
      publish:
        slow_id: <% task().result.id %>
        before: <% task().result.state %>
      on-success: cancel
    cancel:
      action: mistral.executions_update id=<% $.slow_id %> state=CANCELLED
      on-success: check
    check:
      action: mistral.executions_get id=<% $.slow_id %>
      publish:
        after: <% task().result.state %>
      on-success: workflows
    workflows:
      action: mistral.workflows_list
      publish:
        listed: <% 'slow_{s}' in task().result.select($.name) %>
      on-success: one_workflow
    one_workflow:
      action: mistral.workflows_get identifier=slow_{s}
      publish:
        wf_name: <% task().result.name %>
      on-success: make_env
    make_env:
      action: mistral.environments_create
      input:
        name: env_{s}
        variables:
          made: by a workflow
      on-success: envs
    envs:
      action: mistral.environments_list
      publish:
        found: <% task().result.where($.name = 'env_{s}').select($.variables.made).first() %>
"""


def test_workflow_controls_executions_and_environments(mistral):
    s = uuid.uuid4().hex[:8]
    mistral.workflows.create(CONTROL.format(s=s))
    ex = mistral.executions.create(f"control_{s}")
    ex = wait_for_state(lambda: mistral.executions.get(ex.id), timeout=60)
    assert ex.state == "SUCCESS", ex.state_info
    assert json.loads(ex.output) == {"before": "RUNNING", "after": "CANCELLED", "listed": True,
                                     "wf_name": f"slow_{s}", "found": "by a workflow"}
    assert mistral.environments.get(f"env_{s}").variables == {"made": "by a workflow"}


ERRORS = """
version: '2.0'
errs_{s}:
  tasks:
    missing_env:
      action: mistral.environments_get name=no_such_env_{s}
"""


def test_api_errors_fail_the_task_with_the_api_message(mistral):
    s = uuid.uuid4().hex[:8]
    mistral.workflows.create(ERRORS.format(s=s))
    ex = mistral.executions.create(f"errs_{s}")
    ex = wait_for_state(lambda: mistral.executions.get(ex.id))
    assert ex.state == "ERROR"
    task = mistral.tasks.list(workflow_execution_id=ex.id)[0]
    assert (f"mistral.environments_get failed: 404 Environment not found [name=no_such_env_{s}]"
            in task.state_info)


def test_run_action_of_a_service_action(mistral, server):
    # Through the executor (save_result): the call goes over HTTP to the server.
    ae = mistral.action_executions.create("mistral.workflows_list", {"fields": ["name"]},
                                          save_result=True)
    deadline = time.time() + 20
    while mistral.action_executions.get(ae.id).state == "RUNNING" and time.time() < deadline:
        time.sleep(0.05)
    done = mistral.action_executions.get(ae.id)
    assert done.state == "SUCCESS", done.state_info
    assert isinstance(json.loads(done.output)["result"], list)
    # Synchronously (no save_result) it never hangs the server: it either runs
    # (when the API runs actions off its event loop) or says how to run it.
    started = time.time()
    r = httpx.post(f"{server.url}/action_executions",
                   json={"name": "mistral.environments_list", "input": {}}, timeout=30)
    assert time.time() - started < 10
    assert r.status_code == 201, r.text
    body = r.json()
    if body["state"] != "SUCCESS":
        assert "save_result=true" in body["output"]
