"""Python plug-ins: Mistral-style action packages (mistral-lib classes registered
by entry point) load unchanged, list with their input, run sync and async, see
their execution context; new plug-ins are found without a restart.

The sample package is ``tests/plugins/levante_sample_actions`` (``make test``
installs it).
"""
from __future__ import annotations

import json
import os
import sys
import textwrap
import time
import uuid
from importlib import metadata
from pathlib import Path

import httpx
import pytest

from levante.actions import registry as registry_mod
from levante.actions.registry import Registry
from tests.conftest import Server, wait_for_state

PLUGIN_DIR = Path(__file__).resolve().parents[1] / "plugins" / "levante_sample_actions"


def _sample_installed() -> bool:
    try:
        metadata.distribution("levante-sample-actions")
    except metadata.PackageNotFoundError:
        return False
    return True


@pytest.fixture
def sample_installed():
    """The sample plug-in package is part of the test environment (make test installs it)."""
    assert _sample_installed(), f"the sample plug-in is not installed: pip install -e {PLUGIN_DIR}"


needs_sample = pytest.mark.usefixtures("sample_installed")


def _get(url: str) -> dict:
    r = httpx.get(url)
    assert r.status_code == 200, r.text
    return r.json()


# ---------------------------------------------------------------- listing

@needs_sample
def test_plugins_are_listed_with_their_input(server):
    actions = {a["name"]: a for a in _get(f"{server.url}/actions")["actions"]}
    assert actions["sample.concat"]["input"] == 'left, right, sep=" ", upper=false'
    assert actions["sample.async_job"]["input"] == 'job="job"'
    assert actions["sample.ids"]["input"] == ""
    assert "Joins" in actions["sample.concat"]["description"]


@needs_sample
def test_action_get_one_plugin(mistral):
    a = mistral.actions.get("sample.concat")
    assert a.name == "sample.concat"
    assert a.input == 'left, right, sep=" ", upper=false'
    assert a.description.startswith("Joins ``left`` and ``right``")


@needs_sample
def test_plugin_cannot_be_deleted_like_an_adhoc_action(server):
    r = httpx.delete(f"{server.url}/actions/sample.concat")
    assert r.status_code == 400


@needs_sample
def test_both_entry_point_groups_are_read():
    reg = Registry()
    # sample.ids is only in levante.actions, sample.async_job only in mistral.actions
    assert reg.origin("sample.ids") == "levante_sample_actions:IdsAction"
    assert reg.origin("sample.async_job") == "levante_sample_actions:AsyncJobAction"
    assert reg.origin("std.echo") == "builtin"


# ---------------------------------------------------------------- run-action

@needs_sample
def test_run_action_sync(mistral):
    ae = mistral.action_executions.create("sample.concat", {"left": "a", "right": "b"})
    assert ae.state == "SUCCESS"
    assert json.loads(ae.output) == {"result": "a b"}
    # stored and run at once
    ae = mistral.action_executions.create("sample.concat", {"left": "a", "right": "b", "sep": "-",
                                                            "upper": True},
                                          save_result=True, run_sync=True)
    assert ae.id and ae.state == "SUCCESS"
    assert json.loads(mistral.action_executions.get(ae.id).output) == {"result": "A-B"}
    # stored and run by the executor
    ae = mistral.action_executions.create("sample.concat", {"left": "x", "right": "y"},
                                          save_result=True)
    done = wait_for_state(lambda: mistral.action_executions.get(ae.id))
    assert done.state == "SUCCESS"
    assert json.loads(done.output) == {"result": "x y"}


@needs_sample
@pytest.mark.parametrize("given, fragment", [
    ({"left": "a"}, "missing=['right']"),
    ({}, "missing=['left', 'right']"),
    ({"left": "a", "right": "b", "bogus": 1}, "unexpected=['bogus']"),
])
def test_run_action_bad_input_is_a_clear_400(server, given, fragment):
    r = httpx.post(f"{server.url}/action_executions", json={"name": "sample.concat", "input": given})
    assert r.status_code == 400, r.text
    msg = r.json()["faultstring"]
    assert fragment in msg
    assert "sample.concat" in msg


@needs_sample
def test_run_action_bad_input_through_the_client(mistral):
    from mistralclient.api.base import APIException

    with pytest.raises(APIException) as e:
        mistral.action_executions.create("sample.concat", {"left": "a"})
    assert e.value.error_code == 400
    assert "missing=['right']" in e.value.error_message


@needs_sample
def test_run_action_async_plugin_then_complete(mistral):
    ae = mistral.action_executions.create("sample.async_job", {"job": "j1"}, save_result=True)
    assert mistral.action_executions.get(ae.id).state == "RUNNING"
    # As in Mistral, the output a client sends is the action's result as a whole.
    mistral.action_executions.update(ae.id, state="SUCCESS", output=json.dumps({"job": "done"}))
    done = mistral.action_executions.get(ae.id)
    assert done.state == "SUCCESS"
    assert json.loads(done.output) == {"result": {"job": "done"}}


# ---------------------------------------------------------------- in workflows

ASYNC_WF = """
version: '2.0'
{name}:
  output:
    job_result: <% $.job_result %>
  tasks:
    job:
      action: sample.async_job job=build
      publish:
        job_result: <% task().result %>
      on-success: after
    after:
      action: sample.concat left="after" right=<% $.job_result.status %>
"""


@needs_sample
def test_async_plugin_task_waits_for_the_api(mistral):
    name = f"async_{uuid.uuid4().hex[:8]}"
    mistral.workflows.create(ASYNC_WF.format(name=name))
    ex = mistral.executions.create(name)
    # The task's action runs, then stays RUNNING: nothing completes it but the API.
    deadline = time.time() + 20
    action = None
    while time.time() < deadline and action is None:
        tasks = mistral.tasks.list(workflow_execution_id=ex.id)
        if tasks:
            acts = mistral.action_executions.list(tasks[0].id)
            if acts and acts[0].accepted:
                action = acts[0]
        time.sleep(0.05)
    assert action is not None, "the async action never started"
    assert action.name == "sample.async_job"
    time.sleep(1.0)
    assert mistral.executions.get(ex.id).state == "RUNNING"
    assert mistral.tasks.list(workflow_execution_id=ex.id)[0].state == "RUNNING"
    assert mistral.action_executions.get(action.id).state == "RUNNING"

    mistral.action_executions.update(action.id, state="SUCCESS",
                                     output={"status": "built", "artifacts": 3})
    ex = wait_for_state(lambda: mistral.executions.get(ex.id))
    assert ex.state == "SUCCESS", ex.state_info
    assert json.loads(ex.output) == {"job_result": {"status": "built", "artifacts": 3}}
    tasks = {t.name: t for t in mistral.tasks.list(workflow_execution_id=ex.id)}
    assert json.loads(mistral.tasks.get(tasks["after"].id).result) == "after built"


@needs_sample
def test_async_plugin_task_error_through_the_api(mistral):
    name = f"async_err_{uuid.uuid4().hex[:8]}"
    mistral.workflows.create(ASYNC_WF.format(name=name))
    ex = mistral.executions.create(name)
    deadline = time.time() + 20
    action = None
    while time.time() < deadline and action is None:
        tasks = mistral.tasks.list(workflow_execution_id=ex.id)
        acts = mistral.action_executions.list(tasks[0].id) if tasks else []
        action = acts[0] if acts and acts[0].accepted else None
        time.sleep(0.05)
    assert action is not None
    mistral.action_executions.update(action.id, state="ERROR", output={"why": "the build broke"})
    ex = wait_for_state(lambda: mistral.executions.get(ex.id))
    assert ex.state == "ERROR"
    task = mistral.tasks.list(workflow_execution_id=ex.id)[0]
    assert "the build broke" in (task.state_info or "")


IDS_WF = """
version: '2.0'
{name}:
  output:
    ids: <% $.ids %>
  tasks:
    who:
      action: sample.ids
      publish:
        ids: <% task().result %>
"""


@needs_sample
def test_plugin_sees_its_execution_context(mistral, server):
    name = f"ids_{uuid.uuid4().hex[:8]}"
    mistral.workflows.create(IDS_WF.format(name=name))
    ex = mistral.executions.create(name)
    ex = wait_for_state(lambda: mistral.executions.get(ex.id))
    assert ex.state == "SUCCESS", ex.state_info
    ids = json.loads(ex.output)["ids"]
    task = mistral.tasks.list(workflow_execution_id=ex.id)[0]
    action = mistral.action_executions.list(task.id)[0]
    assert ids["workflow_execution_id"] == ex.id
    assert ids["task_execution_id"] == task.id
    assert ids["action_execution_id"] == action.id
    assert ids["workflow_name"] == name
    assert ids["callback_url"] == f"/v2/action_executions/{action.id}"     # as Mistral


# ---------------------------------------------------------------- found without a restart

LATE_MODULE = '''
from mistral_lib import actions


class HelloAction(actions.Action):
    """Says hello."""

    def __init__(self, who="world"):
        self.who = who

    def run(self, context):
        return "hello " + self.who
'''


def _write_plugin(root: Path, dist: str, module: str, entry_points: str, code: str | None) -> None:
    if code is not None:
        (root / f"{module}.py").write_text(code)
    info = root / f"{dist}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(textwrap.dedent(entry_points))


def test_new_plugin_is_found_without_restart(tmp_path, monkeypatch):
    plugins = tmp_path / "site"
    plugins.mkdir()
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(
        p for p in (str(plugins), os.environ.get("PYTHONPATH", "")) if p))
    monkeypatch.setenv("LEVANTE_PLUGIN_RESCAN_SECONDS", "0")
    srv = Server(tmp_path).start()
    try:
        assert httpx.get(f"{srv.url}/actions/late.hello").status_code == 404
        _write_plugin(plugins, "late_plugin", "late_plugin",
                      "[mistral.actions]\nlate.hello = late_plugin:HelloAction\n", LATE_MODULE)
        a = _get(f"{srv.url}/actions/late.hello")
        assert a["input"] == 'who="world"'
        r = httpx.post(f"{srv.url}/action_executions",
                       json={"name": "late.hello", "input": {"who": "levante"}})
        assert r.status_code == 201, r.text
        assert json.loads(r.json()["output"]) == {"result": "hello levante"}
        # and in a workflow, by a name the server had never seen at start
        _write_plugin(plugins, "later_plugin", "later_plugin",
                      "[levante.actions]\nlater.hello = later_plugin:HelloAction\n", LATE_MODULE)
        wf = f"late_{uuid.uuid4().hex[:6]}"
        r = httpx.post(f"{srv.url}/workflows", headers={"content-type": "text/plain"},
                       content=f"version: '2.0'\n{wf}:\n  tasks:\n    t:\n"
                               f"      action: later.hello who=wf\n")
        assert r.status_code == 201, r.text
        ex = httpx.post(f"{srv.url}/executions", json={"workflow_name": wf}).json()
        deadline = time.time() + 20
        while time.time() < deadline:
            ex = _get(f"{srv.url}/executions/{ex['id']}")
            if ex["state"] != "RUNNING":
                break
            time.sleep(0.05)
        assert ex["state"] == "SUCCESS", ex["state_info"]
    finally:
        srv.stop()


# ---------------------------------------------------------------- the registry itself

def test_rescan_is_rate_limited(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(tmp_path))
    reg = Registry(rescan_interval=3600)
    _write_plugin(tmp_path, "rl_plugin", "rl_plugin",
                  "[levante.actions]\nrl.hello = rl_plugin:HelloAction\n", LATE_MODULE)
    assert reg.get("rl.hello") is None            # scanned at start, not again so soon
    assert "rl.hello" in reg.load_plugins()       # an explicit rescan finds it
    assert reg.get("rl.hello").input_display() == 'who="world"'
    off = Registry(rescan_interval=-1, load_plugins=True)
    assert off.get("no.such.action") is None


def test_broken_plugins_do_not_stop_the_registry(tmp_path, monkeypatch, caplog):
    monkeypatch.syspath_prepend(str(tmp_path))
    _write_plugin(tmp_path, "broken_plugin", "broken_plugin", """
        [mistral.actions]
        broken.missing_module = no_such_module_xyz:Action
        broken.not_a_class = broken_plugin:VALUE
        broken.raises = broken_plugin:Boom
        broken.ok = broken_plugin:Fine
        std.echo = broken_plugin:Fine
        """, textwrap.dedent('''
        from mistral_lib import actions
        VALUE = 42
        class Fine(actions.Action):
            def run(self, context):
                return "fine"
        class Boom(actions.Action):
            def __init__(self, x):
                raise RuntimeError("cannot build")
            def run(self, context):
                return None
        '''))
    reg = Registry(rescan_interval=0)
    assert reg.get("broken.missing_module") is None
    assert reg.get("broken.not_a_class") is None
    assert reg.get("broken.ok").run({}, None).value == "fine"
    # a plug-in cannot replace a built-in
    assert reg.origin("std.echo") == "builtin"
    # a constructor that raises fails the action, not the service
    out = reg.get("broken.raises").run({"x": 1}, None)
    assert out.kind == "error" and "cannot build" in out.value
    # a failing entry point is reported once, not on every rescan
    caplog.clear()
    reg.load_plugins()
    assert "broken.missing_module" not in caplog.text


def test_editable_install_after_start_is_found(tmp_path, monkeypatch):
    """``pip install -e`` adds a .pth file, which Python reads only at start;
    the rescan reads new ones."""
    site_dir = tmp_path / "site-packages"
    src = tmp_path / "src"
    site_dir.mkdir()
    src.mkdir()
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.setattr(registry_mod, "_site_dirs", lambda: [str(site_dir)])
    monkeypatch.setattr(registry_mod, "_PTH_SEEN", set())
    reg = Registry(rescan_interval=0)
    assert reg.get("pth.hello") is None
    (src / "pth_plugin.py").write_text(LATE_MODULE)
    _write_plugin(site_dir, "pth_plugin", "pth_plugin",
                  "[mistral.actions]\npth.hello = pth_plugin:HelloAction\n", None)
    monkeypatch.syspath_prepend(str(site_dir))     # site-packages is on sys.path, src is not
    (site_dir / "__editable__.pth_plugin-0.1.pth").write_text(f"{src}\n")
    d = reg.get("pth.hello")
    assert d is not None
    assert d.run({"who": "pth"}, None).value == "hello pth"
    assert str(src) in sys.path
