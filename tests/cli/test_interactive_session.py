"""The crash course's interactive workflow session, replayed with both command lines.

The crash course's interactive session (``examples/interactive-workflow.yaml``): a workflow posts a request
to a Zaqar queue, pauses before reading the answer, the user pops the request
and posts an answer with ``run-action zaqar.*``, resumes the execution, and
pops the workflow's reply. Levante serves the queues itself, so the session
runs against nothing but a Levante server: once with Levante's CLI
(``python -m levante --url ...``) and once with the real ``mistral`` CLI from
python-mistralclient (``mistral --os-mistral-url ...``, no keystone).
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import EXAMPLES

MISTRAL_BIN = Path(sys.executable).parent / "mistral"
WORKFLOW = "interactive-workflow"


def _no_auth_env() -> dict:
    """The environment without any keystone setting (they would turn auth on)."""
    drop = ("OS_", "MISTRAL_AUTH_TYPE", "OPENID_", "KEYCLOAK_")
    return {k: v for k, v in os.environ.items() if not k.startswith(drop)}


class Cli:
    def __init__(self, kind: str, url: str, cwd: Path):
        self.kind = kind
        self.cwd = cwd
        if kind == "levante":
            self.base = [sys.executable, "-m", "levante", "--url", url]
        else:
            self.base = [str(MISTRAL_BIN), "--os-mistral-url", url]
        self.env = _no_auth_env()

    def out(self, *args: str) -> str:
        proc = subprocess.run(self.base + list(args), cwd=self.cwd, env=self.env,
                              capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0, f"{self.kind} {' '.join(args)} failed:\n{proc.stderr}"
        return proc.stdout

    def json(self, *args: str):
        return json.loads(self.out(*args, "-f", "json"))

    def state(self, exec_id: str) -> str:
        return self.out("execution-get", exec_id, "-f", "value", "-c", "State").strip()

    def wait_state(self, exec_id: str, want: str, timeout: float = 30.0) -> None:
        deadline = time.time() + timeout
        while True:
            state = self.state(exec_id)
            if state == want:
                return
            assert state in ("IDLE", "RUNNING", "PAUSED"), f"execution {exec_id} is {state}, not {want}"
            assert time.time() < deadline, f"execution {exec_id} still {state} after {timeout}s"
            time.sleep(0.2)

    def run_action(self, name: str, given: dict):
        """``run-action NAME 'JSON'``: the printed ``{"result": ...}``, decoded."""
        printed = json.loads(self.out("run-action", name, json.dumps(given)))
        assert set(printed) == {"result"}, printed
        return printed["result"]


@pytest.fixture(params=["levante", "mistral"])
def cli(request, fresh_server, tmp_path) -> Cli:
    if request.param == "mistral" and not MISTRAL_BIN.exists():
        raise AssertionError(f"python-mistralclient's CLI is missing: {MISTRAL_BIN}")
    fresh_server.start()
    work = tmp_path / "session"
    work.mkdir()
    shutil.copy(EXAMPLES / f"{WORKFLOW}.yaml", work / f"{WORKFLOW}.yaml")
    return Cli(request.param, fresh_server.url, work)


def test_interactive_workflow_session(cli):
    # $ mistral workflow-create interactive-workflow.yaml
    (wf,) = cli.json("workflow-create", f"{WORKFLOW}.yaml")
    assert wf["Name"] == WORKFLOW
    assert wf["Input"].startswith("input_queue=")

    # $ mistral execution-create interactive-workflow
    created = cli.json("execution-create", WORKFLOW)
    assert created["Workflow name"] == WORKFLOW
    assert created["State"] in ("RUNNING", "PAUSED")
    exec_id = created["ID"]

    # "When the workflow moves to the first task it will move to the paused state"
    cli.wait_state(exec_id, "PAUSED")
    listed = {row["ID"]: row for row in cli.json("execution-list")}
    assert listed[exec_id]["State"] == "PAUSED"
    tasks = {t["Name"]: t for t in cli.json("task-list", exec_id)}
    assert tasks["request_user_input"]["State"] == "SUCCESS"
    assert tasks["read_user_input"]["State"] != "SUCCESS"      # paused before it ran

    # "There is now a message in Zaqar. Use the Mistral action zaqar.queue_pop to get it"
    (msg,) = cli.run_action("zaqar.queue_pop", {"queue_name": "workflow-output"})
    assert msg["body"] == "Send some input to 'workflow-input'"
    assert msg["queue"] == {"_metadata": None, "client": None, "_name": "workflow-output"}
    assert msg["href"] is None
    assert msg["ttl"] == 3600
    assert isinstance(msg["age"], int) and msg["age"] >= 0
    assert isinstance(msg["_id"], str) and msg["_id"]
    assert list(msg) == ["body", "age", "queue", "href", "ttl", "_id"]

    # "pop, like most data structure pop operations, updates the data structure"
    assert cli.run_action("zaqar.queue_pop", {"queue_name": "workflow-output"}) == []

    # "Send some input to 'workflow-input'"
    posted = cli.run_action("zaqar.queue_post", {"queue_name": "workflow-input",
                                                 "messages": {"body": {"testing": 123}}})
    (href,) = posted["resources"]
    assert href.startswith("/v2/queues/workflow-input/messages/")

    # "it pause-before: true and is still paused"
    time.sleep(0.5)
    assert cli.state(exec_id) == "PAUSED"
    listed = {row["ID"]: row for row in cli.json("execution-list")}
    assert listed[exec_id]["State"] == "PAUSED"

    # $ mistral execution-update -s RUNNING $UUID
    updated = cli.json("execution-update", "-s", "RUNNING", exec_id)
    assert updated["ID"] == exec_id
    assert updated["State"] in ("RUNNING", "SUCCESS")
    cli.wait_state(exec_id, "SUCCESS")

    tasks = {t["Name"]: t for t in cli.json("task-list", exec_id)}
    assert sorted(tasks) == ["done", "read_user_input", "request_user_input"]
    assert all(t["State"] == "SUCCESS" for t in tasks.values())

    # "We can then read that message like this". Mistral fills the string with
    # str() of the dict: Python 2 printed {u'testing': 123}, Python 3 prints
    # {'testing': 123}, which is what Mistral on Python 3 and Levante give.
    (reply,) = cli.run_action("zaqar.queue_pop", {"queue_name": "workflow-output"})
    assert reply["body"] == "You sent: '{'testing': 123}'"
    assert reply["queue"]["_name"] == "workflow-output"
    assert reply["_id"] != msg["_id"]
    assert cli.run_action("zaqar.queue_pop", {"queue_name": "workflow-input"}) == []
