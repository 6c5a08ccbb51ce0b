"""A plug-in whose entry point fails to load is reported with its real cause
wherever its action is used: validate, create, action-get, run-action, and a
task that runs it (not only in the server log)."""
from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
from mistralclient.api.base import APIException

from levante.actions.registry import Registry
from tests.conftest import Server, wait_for_state

BROKEN_MODULE = '''
import levante_no_such_dependency   # what a plug-in missing a dependency (six, ...) does

from mistral_lib import actions


class HelloAction(actions.Action):
    def run(self, context):
        return "never"
'''


def _write_broken_plugin(root: Path) -> None:
    (root / "brokendep_plugin.py").write_text(BROKEN_MODULE)
    info = root / "brokendep_plugin-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: brokendep-plugin\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(
        "[mistral.actions]\nbrokendep.hello = brokendep_plugin:HelloAction\n")


CAUSE = "No module named 'levante_no_such_dependency'"
WHICH = "brokendep-plugin"


def test_registry_keeps_the_cause(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(tmp_path))
    _write_broken_plugin(tmp_path)
    reg = Registry(rescan_interval=0)
    assert reg.get("brokendep.hello") is None
    why = reg.load_error("brokendep.hello")
    assert WHICH in why and "brokendep_plugin:HelloAction" in why
    assert f"ModuleNotFoundError: {CAUSE}" in why
    assert reg.load_error("std.echo") is None


@pytest.fixture(scope="module")
def broken_server(tmp_path_factory):
    root = tmp_path_factory.mktemp("broken-plugin")
    site = root / "site"
    site.mkdir()
    _write_broken_plugin(site)
    old = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(site), old) if p)
    try:
        srv = Server(root).start()
    finally:
        if old is None:
            os.environ.pop("PYTHONPATH")
        else:
            os.environ["PYTHONPATH"] = old
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def client(broken_server):
    from mistralclient.api import client

    return client.client(mistral_url=broken_server.url)


def test_action_get_says_why(client):
    with pytest.raises(APIException) as e:
        client.actions.get("brokendep.hello")
    assert e.value.error_code == 404
    assert WHICH in e.value.error_message and CAUSE in e.value.error_message


def test_run_action_says_why(client):
    with pytest.raises(APIException) as e:
        client.action_executions.create("brokendep.hello", {})
    assert e.value.error_code == 400
    assert "Failed to find action [action_name=brokendep.hello]" in e.value.error_message
    assert WHICH in e.value.error_message and CAUSE in e.value.error_message


WF = """
version: '2.0'
{name}:
  tasks:
    hello:
      action: brokendep.hello
"""


def test_validate_says_why(client):
    result = client.workflows.validate(WF.format(name="wf_" + uuid.uuid4().hex[:8]))
    assert result["valid"] is False
    assert "Action 'brokendep.hello' not found." in result["error"]
    assert WHICH in result["error"] and CAUSE in result["error"]


DYNAMIC_WF = """
version: '2.0'
{name}:
  input:
    - action_name
  tasks:
    hello:
      action: <% $.action_name %>
"""


def test_task_error_says_why(client):
    name = "wf_" + uuid.uuid4().hex[:8]
    client.workflows.create(DYNAMIC_WF.format(name=name))
    ex = client.executions.create(name, workflow_input={"action_name": "brokendep.hello"})
    ex = wait_for_state(lambda: client.executions.get(ex.id))
    assert ex.state == "ERROR"
    task = client.tasks.list(workflow_execution_id=ex.id)[0]
    info = task.state_info or ""
    assert "Failed to find action [action_name=brokendep.hello]" in info, info
    assert WHICH in info and CAUSE in info, info
