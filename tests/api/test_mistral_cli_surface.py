"""Every command of the installed python-mistralclient CLI, run against
Levante with the real ``mistral`` CLI (``--os-mistral-url``, no keystone).

The command list comes from the client's own cliff command manager, not from
a list written here: a client release with a new command makes
``test_every_command_has_a_case`` fail until a case below covers it.
"""
from __future__ import annotations

import json
import time
import uuid
from functools import cached_property
from pathlib import Path
from typing import Callable

import pytest
import yaml
from mistralclient.api import client as mistral_client

from tests.api.clis import Cli
from tests.conftest import Server, wait_for_state

NOT_COMMANDS = {"help", "complete", "bash-completion"}   # the shell's own, not the API's
FINAL = ("SUCCESS", "ERROR", "CANCELLED")


def mistral_commands() -> list[str]:
    from mistralclient.shell import MistralShell

    return sorted(name for name, _ in MistralShell().command_manager if name not in NOT_COMMANDS)


COMMANDS = mistral_commands()
CASES: dict[str, Callable] = {}


def case(*names: str):
    def register(func):
        for n in names:
            CASES[n] = func
        return func
    return register


def uid(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:8]}"


CHILD = """
version: '2.0'
surface_child:
  input: [x]
  tasks:
    boom:
      action: std.fail
"""
PARENT = """
version: '2.0'
surface_parent:
  tasks:
    call:
      workflow: surface_child x=1
"""
HELLO = """
version: '2.0'
surface_hello:
  input:
    - name: World
  output:
    greeting: <% $.greeting %>
  tasks:
    say:
      action: std.echo output="Hello, <% $.name %>"
      on-success:
        publish:
          branch:
            greeting: <% task().result %>
          global:
            seen: <% $.name %>
"""
WAITER = """
version: '2.0'
surface_waiter:
  tasks:
    wait:
      action: std.async_noop
"""
MODULE = '''
from mistral_lib import actions


class Double(actions.Action):
    def __init__(self, n):
        self.n = n

    def run(self, context):
        return self.n * 2
'''


class World:
    """Resources the cases read, created once through the Python client."""

    def __init__(self, server: Server, work: Path):
        self.url = server.url
        self.work = work
        self.api = mistral_client.client(mistral_url=server.url)
        self.cli = Cli("mistral", server.url, work)

    def file(self, name: str, text: str) -> str:
        (self.work / name).write_text(text)
        return name

    def finish(self, exec_id: str):
        return wait_for_state(lambda: self.api.executions.get(exec_id), FINAL, 30)

    @cached_property
    def hello(self):
        (wf,) = self.api.workflows.create(HELLO)
        return wf

    @cached_property
    def hello_ex(self):
        ex = self.api.executions.create(self.hello.name, workflow_input={"name": "Ann"})
        return self.finish(ex.id)

    @cached_property
    def hello_task(self):
        return self.api.tasks.list(self.hello_ex.id)[0]

    @cached_property
    def parent_ex(self):
        self.api.workflows.create(CHILD)
        self.api.workflows.create(PARENT)
        ex = self.api.executions.create("surface_parent")
        return self.finish(ex.id)

    @cached_property
    def parent_task(self):
        return self.api.tasks.list(self.parent_ex.id)[0]

    @cached_property
    def failed_child_task(self):
        child = self.api.executions.list(task=self.parent_task.id)[0]
        return self.api.tasks.list(child.id)[0]

    @cached_property
    def action_ex(self):
        return self.api.action_executions.create("std.echo", {"output": "saved"}, save_result=True)

    @cached_property
    def async_action_ex(self):
        self.api.workflows.create(WAITER)
        ex = self.api.executions.create("surface_waiter")
        deadline = time.time() + 20
        while True:
            found = self.api.action_executions.list(task_execution_id=None)
            mine = [a for a in found if a.workflow_name == "surface_waiter" and a.state == "RUNNING"]
            if mine:
                return mine[0]
            assert time.time() < deadline, "the async action did not start"
            time.sleep(0.1)
            del ex

    @cached_property
    def env(self):
        return self.api.environments.create(name=uid("env"), variables=json.dumps({"k": "v"}))

    @cached_property
    def workbook(self):
        name = uid("wb")
        return self.api.workbooks.create(f"version: '2.0'\nname: {name}\nworkflows:\n  w:\n    tasks:\n"
                                         "      t:\n        action: std.noop\n")

    @cached_property
    def adhoc(self):
        name = uid("greet")
        (action,) = self.api.actions.create(
            f"version: '2.0'\n{name}:\n  input: [who]\n  base: std.echo\n  base-input:\n"
            "    output: Hi <% $.who %>\n")
        return action

    @cached_property
    def cron(self):
        return self.api.cron_triggers.create(uid("cron"), self.hello.name, pattern="0 0 1 1 *")

    @cached_property
    def event_trigger(self):
        return self.api.event_triggers.create(uid("evt"), self.hello.id, "mistral",
                                              "executions.nothing_runs_this", "WORKFLOW_PAUSED")

    @cached_property
    def code_source(self):
        return self.api.code_sources.create(uid("mod"), MODULE)

    @cached_property
    def dynamic_action(self):
        return self.api.dynamic_actions.create(uid("dyn"), "Double", self.code_source.id)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    work = tmp_path_factory.mktemp("surface")
    srv = Server(work).start()
    yield World(srv, work)
    srv.stop()


def test_every_command_has_a_case():
    assert len(COMMANDS) > 60
    missing = sorted(set(COMMANDS) - set(CASES))
    assert not missing, f"mistral commands without a case: {missing}"


@pytest.mark.parametrize("name", COMMANDS)
def test_command(name, world):
    if name not in CASES:
        pytest.fail(f"no case for `mistral {name}`")
    CASES[name](world, name)


# ---------------------------------------------------------------- workbooks

WB = "version: '2.0'\nname: {name}\nworkflows:\n  inner:\n    tasks:\n      t:\n        action: std.noop\n"


@case("workbook-create", "workbook-update", "workbook-delete", "workbook-validate")
def _workbook_cycle(w: World, name: str):
    wb = uid("wb")
    path = w.file(f"{wb}.yaml", WB.format(name=wb))
    if name == "workbook-validate":
        assert w.cli.json("workbook-validate", path)["Valid"] is True
        bad = w.file("bad_wb.yaml", "version: '2.0'\nname: x\nworkflows:\n  w:\n    tasks: 3\n")
        shown = w.cli.json("workbook-validate", bad)
        assert shown["Valid"] is False and shown["Error"]
        return
    assert w.cli.json("workbook-create", path)["Name"] == wb
    if name == "workbook-update":
        assert w.cli.json("workbook-update", path)["Name"] == wb
    if name == "workbook-delete":
        assert "has been accepted" in w.cli.out("workbook-delete", wb)
        assert "not found" in w.cli.fails("workbook-get", wb).lower()


@case("workbook-list")
def _workbook_list(w: World, name: str):
    assert w.workbook.name in [r["Name"] for r in w.cli.json(name)]


@case("workbook-get")
def _workbook_get(w: World, name: str):
    assert w.cli.json(name, w.workbook.name)["Name"] == w.workbook.name


@case("workbook-get-definition")
def _workbook_definition(w: World, name: str):
    assert w.cli.out(name, w.workbook.name).strip() == w.workbook.definition.strip()


# ---------------------------------------------------------------- workflows

@case("workflow-create", "workflow-update", "workflow-delete", "workflow-validate")
def _workflow_cycle(w: World, name: str):
    wf = uid("wf")
    path = w.file(f"{wf}.yaml", f"version: '2.0'\n{wf}:\n  tasks:\n    t:\n      action: std.noop\n")
    if name == "workflow-validate":
        assert w.cli.json(name, path)["Valid"] is True
        bad = w.file("bad_wf.yaml", "version: '2.0'\nw:\n  tasks:\n    t:\n      action: std.echo\n"
                                    "      on-success: [nowhere]\n")
        shown = w.cli.json(name, bad)
        assert shown["Valid"] is False and "nowhere" in shown["Error"]
        return
    (created,) = w.cli.json("workflow-create", path)
    assert created["Name"] == wf
    if name == "workflow-update":
        (updated,) = w.cli.json("workflow-update", path)
        assert updated["Name"] == wf
    if name == "workflow-delete":
        assert "has been accepted" in w.cli.out("workflow-delete", wf)
        assert "not found" in w.cli.fails("workflow-get", wf).lower()


@case("workflow-list")
def _workflow_list(w: World, name: str):
    assert w.hello.name in [r["Name"] for r in w.cli.json(name)]


@case("workflow-get")
def _workflow_get(w: World, name: str):
    shown = w.cli.json(name, w.hello.name)
    assert shown["ID"] == w.hello.id and shown["Input"] == 'name="World"'


@case("workflow-get-definition")
def _workflow_definition(w: World, name: str):
    assert yaml.safe_load(w.cli.out(name, w.hello.name)) == yaml.safe_load(HELLO)


# ---------------------------------------------------------------- environments

@case("environment-create", "environment-update", "environment-delete")
def _environment_cycle(w: World, name: str):
    env = uid("env")
    path = w.file(f"{env}.json", json.dumps({"name": env, "variables": {"a": 1}}))
    assert w.cli.json("environment-create", path)["Name"] == env
    if name == "environment-update":
        path = w.file(f"{env}.json", json.dumps({"name": env, "variables": {"a": 2}}))
        assert json.loads(w.cli.json("environment-update", path)["Variables"]) == {"a": 2}
    if name == "environment-delete":
        assert "has been accepted" in w.cli.out("environment-delete", env)


@case("environment-list")
def _environment_list(w: World, name: str):
    assert w.env.name in [r["Name"] for r in w.cli.json(name)]


@case("environment-get")
def _environment_get(w: World, name: str):
    assert json.loads(w.cli.json(name, w.env.name)["Variables"]) == {"k": "v"}


# ---------------------------------------------------------------- executions

@case("execution-create")
def _execution_create(w: World, name: str):
    shown = w.cli.json(name, w.hello.name, '{"name": "Bob"}', "-d", "from the surface test")
    assert shown["Workflow name"] == w.hello.name and shown["Description"] == "from the surface test"
    assert w.finish(shown["ID"]).state == "SUCCESS"


@case("execution-list")
def _execution_list(w: World, name: str):
    assert w.hello_ex.id in [r["ID"] for r in w.cli.json(name, "--limit", "-1")]


@case("execution-get")
def _execution_get(w: World, name: str):
    shown = w.cli.json(name, w.hello_ex.id)
    assert shown["State"] == "SUCCESS" and shown["Workflow name"] == w.hello.name


@case("execution-get-input")
def _execution_input(w: World, name: str):
    assert json.loads(w.cli.out(name, w.hello_ex.id)) == {"name": "Ann"}


@case("execution-get-output")
def _execution_output(w: World, name: str):
    assert json.loads(w.cli.out(name, w.hello_ex.id)) == {"greeting": "Hello, Ann"}


@case("execution-get-published")
def _execution_published(w: World, name: str):
    # the variables published with ``publish: global:`` (published_global)
    assert json.loads(w.cli.out(name, w.hello_ex.id)) == {"seen": "Ann"}


@case("execution-get-report")
def _execution_report(w: World, name: str):
    out = w.cli.out(name, w.parent_ex.id)
    assert "General Statistics" in out and "Number of tasks in ERROR state: 2" in out
    assert "surface_parent" in out and "surface_child" in out and "boom" in out


@case("execution-get-sub-executions")
def _execution_subs(w: World, name: str):
    rows = w.cli.json(name, w.parent_ex.id)     # the execution itself, then its children
    assert [r["Workflow name"] for r in rows] == ["surface_parent", "surface_child"]


@case("execution-update")
def _execution_update(w: World, name: str):
    shown = w.cli.json(name, w.hello_ex.id, "-d", "renamed")
    assert shown["Description"] == "renamed"


@case("execution-delete")
def _execution_delete(w: World, name: str):
    ex = w.api.executions.create(w.hello.name)
    w.finish(ex.id)
    assert "has been accepted" in w.cli.out(name, ex.id)
    assert "not found" in w.cli.fails("execution-get", ex.id).lower()


# ---------------------------------------------------------------- tasks

@case("task-list")
def _task_list(w: World, name: str):
    assert [r["Name"] for r in w.cli.json(name, w.hello_ex.id)] == ["say"]


@case("task-get")
def _task_get(w: World, name: str):
    shown = w.cli.json(name, w.hello_task.id)
    assert shown["Name"] == "say" and shown["State"] == "SUCCESS"


@case("task-get-published")
def _task_published(w: World, name: str):
    assert json.loads(w.cli.out(name, w.hello_task.id)) == {"greeting": "Hello, Ann"}


@case("task-get-result")
def _task_result(w: World, name: str):
    assert json.loads(w.cli.out(name, w.hello_task.id)) == "Hello, Ann"


@case("task-get-sub-executions")
def _task_subs(w: World, name: str):
    rows = w.cli.json(name, w.parent_task.id)
    assert [r["Workflow name"] for r in rows] == ["surface_child"]


@case("task-rerun")
def _task_rerun(w: World, name: str):
    shown = w.cli.json(name, w.failed_child_task.id)
    assert shown["ID"] == w.failed_child_task.id and shown["State"] in ("RUNNING", "ERROR")


# ---------------------------------------------------------------- actions

@case("action-create", "action-update", "action-delete", "action-validate")
def _action_cycle(w: World, name: str):
    act = uid("act")
    path = w.file(f"{act}.yaml", f"version: '2.0'\n{act}:\n  base: std.echo\n  base-input:\n    output: 1\n")
    if name == "action-validate":
        assert w.cli.json(name, path)["Valid"] is True
        return
    (created,) = w.cli.json("action-create", path)
    assert created["Name"] == act
    if name == "action-update":
        (updated,) = w.cli.json("action-update", path)
        assert updated["Name"] == act
    if name == "action-delete":
        assert "has been accepted" in w.cli.out("action-delete", act)


@case("action-list")
def _action_list(w: World, name: str):
    names = [r["Name"] for r in w.cli.json(name)]
    assert "std.echo" in names and w.adhoc.name in names


@case("action-get")
def _action_get(w: World, name: str):
    assert w.cli.json(name, "std.echo")["Input"] == "output, delay=0"


@case("action-get-definition")
def _action_definition(w: World, name: str):
    assert "base: std.echo" in w.cli.out(name, w.adhoc.name)


@case("run-action")
def _run_action(w: World, name: str):
    assert json.loads(w.cli.out(name, "std.echo", '{"output": "now"}')) == {"result": "now"}
    saved = w.cli.json(name, "std.echo", '{"output": "later"}', "-s")
    assert saved["Name"] == "std.echo"


# ---------------------------------------------------------------- action executions

@case("action-execution-list")
def _ae_list(w: World, name: str):
    assert w.action_ex.id in [r["ID"] for r in w.cli.json(name, "--limit", "-1")]


@case("action-execution-get")
def _ae_get(w: World, name: str):
    assert w.cli.json(name, w.action_ex.id)["Name"] == "std.echo"


@case("action-execution-get-input")
def _ae_input(w: World, name: str):
    assert json.loads(w.cli.out(name, w.action_ex.id)) == {"output": "saved"}


@case("action-execution-get-output")
def _ae_output(w: World, name: str):
    out = w.api.action_executions.get(w.action_ex.id)
    wait_for_state(lambda: w.api.action_executions.get(w.action_ex.id), FINAL, 20)
    assert json.loads(w.cli.out(name, w.action_ex.id)) == {"result": "saved"}, out


@case("action-execution-update")
def _ae_update(w: World, name: str):
    shown = w.cli.json(name, w.async_action_ex.id, "--state", "SUCCESS", "--output", '{"done": true}')
    assert shown["State"] == "SUCCESS"


@case("action-execution-delete")
def _ae_delete(w: World, name: str):
    # Refused as by Mistral unless the setting allow_action_execution_deletion is true.
    ae = w.api.action_executions.create("std.noop", save_result=True)
    err = w.cli.fails(name, ae.id)
    assert "Unable to delete the specified action execution(s)." in err
    with pytest.raises(Exception, match="Action execution deletion is not allowed."):
        w.api.action_executions.delete(ae.id)


# ---------------------------------------------------------------- triggers

@case("cron-trigger-create", "cron-trigger-delete")
def _cron_cycle(w: World, name: str):
    trig = uid("cron")
    # (Mistral refuses a second trigger with the same workflow, input and schedule)
    shown = w.cli.json("cron-trigger-create", trig, w.hello.name, json.dumps({"name": trig}),
                       "--pattern", "0 0 1 1 *")
    assert shown["Name"] == trig and shown["Pattern"] == "0 0 1 1 *"
    if name == "cron-trigger-delete":
        assert "has been accepted" in w.cli.out(name, trig)


@case("cron-trigger-list")
def _cron_list(w: World, name: str):
    assert w.cron.name in [r["Name"] for r in w.cli.json(name)]


@case("cron-trigger-get")
def _cron_get(w: World, name: str):
    assert w.cli.json(name, w.cron.name)["Workflow"] == w.hello.name


@case("event-trigger-create", "event-trigger-delete")
def _event_cycle(w: World, name: str):
    event = "TASK_PAUSED" if name == "event-trigger-create" else "TASK_RESUMED"
    shown = w.cli.json("event-trigger-create", uid("evt"), w.hello.id, "mistral",
                       "executions.nothing_runs_this", event)
    assert shown["Exchange"] == "mistral" and shown["Event"] == event
    if name == "event-trigger-delete":
        assert "has been accepted" in w.cli.out(name, shown["ID"])


@case("event-trigger-list")
def _event_list(w: World, name: str):
    assert w.event_trigger.id in [r["ID"] for r in w.cli.json(name)]


@case("event-trigger-get")
def _event_get(w: World, name: str):
    assert w.cli.json(name, w.event_trigger.id)["Event"] == "WORKFLOW_PAUSED"


# ---------------------------------------------------------------- members (needs authentication)

@case("member-create", "member-delete", "member-update", "member-list", "member-get")
def _members(w: World, name: str):
    args = {"member-create": [w.hello.id, "workflow", "other-project"],
            "member-delete": [w.hello.id, "workflow", "other-project"],
            "member-update": [w.hello.id, "workflow", "-m", "other-project", "-s", "accepted"],
            "member-list": [w.hello.id, "workflow"],
            "member-get": [w.hello.id, "workflow", "-m", "other-project"]}[name]
    err = w.cli.fails(name, *args)
    if name == "member-delete":     # the client prints its own summary for deletes
        assert "Unable to delete the specified member." in err
        err = str(pytest.raises(Exception, w.api.members.delete, w.hello.id, "workflow",
                                "other-project").value)
    assert "Resource sharing feature can only be supported with authentication enabled." in err


# ---------------------------------------------------------------- code sources, dynamic actions

@case("code-source-create", "code-source-update", "code-source-delete")
def _code_source_cycle(w: World, name: str):
    mod = uid("mod")
    path = w.file(f"{mod}.py", MODULE)
    assert w.cli.json("code-source-create", mod, path)["Name"] == mod
    if name == "code-source-update":
        assert w.cli.json(name, mod, path)["Updated at"] not in (None, "None", "")
        assert w.api.code_sources.get(mod).version == 2
    if name == "code-source-delete":
        assert "has been accepted" in w.cli.out(name, mod)


@case("code-source-list")
def _code_source_list(w: World, name: str):
    assert w.code_source.name in [r["Name"] for r in w.cli.json(name)]


@case("code-source-get")
def _code_source_get(w: World, name: str):
    assert w.cli.json(name, w.code_source.name)["ID"] == w.code_source.id


@case("code-source-get-content")
def _code_source_content(w: World, name: str):
    assert w.cli.out(name, w.code_source.id) == MODULE


@case("dynamic-action-create", "dynamic-action-update", "dynamic-action-delete")
def _dynamic_cycle(w: World, name: str):
    act = uid("dyn")
    shown = w.cli.json("dynamic-action-create", act, "Double", w.code_source.name)
    assert shown["Class"] == "Double" and shown["Code source ID"] == w.code_source.id
    assert json.loads(w.cli.out("run-action", act, '{"n": 21}')) == {"result": 42}
    if name == "dynamic-action-update":
        assert w.cli.json(name, act, "--class-name", "Double", "--public")["Scope"] == "public"
    if name == "dynamic-action-delete":
        assert "has been accepted" in w.cli.out(name, act)


@case("dynamic-action-list")
def _dynamic_list(w: World, name: str):
    assert w.dynamic_action.name in [r["Name"] for r in w.cli.json(name)]


@case("dynamic-action-get")
def _dynamic_get(w: World, name: str):
    assert w.cli.json(name, w.dynamic_action.id)["Name"] == w.dynamic_action.name
