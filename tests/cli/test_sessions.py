"""The crash course's terminal sessions, replayed with both command lines.

Each crash-course session (hello, input_action_details, flow_control; files in ``examples``)
is run as subprocesses against a fresh server (its own database, so the
tutorial's fixed workflow names never clash), once with Levante's CLI
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
NAMES = ["The Doctor", "Romana", "K9"]


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

    def run(self, *args: str, ok: bool = True) -> subprocess.CompletedProcess:
        proc = subprocess.run(self.base + list(args), cwd=self.cwd, env=self.env,
                              capture_output=True, text=True, timeout=60)
        if ok:
            assert proc.returncode == 0, f"{self.kind} {' '.join(args)} failed:\n{proc.stderr}"
        return proc

    def out(self, *args: str) -> str:
        return self.run(*args).stdout

    def json(self, *args: str):
        return json.loads(self.out(*args, "-f", "json"))

    def value(self, *args: str, column: str) -> str:
        return self.out(*args, "-f", "value", "-c", column).strip()

    def wait(self, exec_id: str, timeout: float = 30.0) -> str:
        """Poll ``execution-get`` until the execution has finished; return its state."""
        deadline = time.time() + timeout
        while True:
            state = self.value("execution-get", exec_id, column="State")
            if state not in ("RUNNING", "IDLE", "PAUSED"):
                return state
            assert time.time() < deadline, f"execution {exec_id} still {state} after {timeout}s"
            time.sleep(0.2)

    def create(self, *args: str) -> str:
        """``execution-create`` the way the sessions do; returns the new execution's id."""
        shown = self.json("execution-create", *args)
        assert shown["State"] in ("RUNNING", "SUCCESS")
        return shown["ID"]

    def tasks(self, exec_id: str) -> dict:
        return {row["Name"]: row for row in self.json("task-list", exec_id)}


@pytest.fixture(params=["levante", "mistral"])
def cli(request, fresh_server, tmp_path) -> Cli:
    if request.param == "mistral" and not MISTRAL_BIN.exists():
        raise AssertionError(f"python-mistralclient's CLI is missing: {MISTRAL_BIN}")
    fresh_server.start()
    work = tmp_path / "session"
    work.mkdir()
    for name in ("hello_world.yaml", "input_action_details.yaml", "flow_control.yaml"):
        shutil.copy(EXAMPLES / name, work / name)
    return Cli(request.param, fresh_server.url, work)


def test_hello_session(cli):
    created = cli.out("workflow-create", "hello_world.yaml")
    header = created.splitlines()[1]
    for column in ("ID", "Name", "Project ID", "Tags", "Input", "Created at", "Updated at"):
        assert f" {column} " in header
    assert "| hello_world " in created

    exec_id = cli.create("hello_world")
    assert cli.wait(exec_id) == "SUCCESS"
    shown = cli.json("execution-get", exec_id)
    assert shown["ID"] == exec_id
    assert shown["Workflow name"] == "hello_world"
    assert shown["State"] == "SUCCESS"
    assert json.loads(cli.out("execution-get-output", exec_id)) == {"output": "Hello Workflow!"}

    listed = {row["ID"]: row for row in cli.json("execution-list")}
    assert listed[exec_id]["State"] == "SUCCESS"
    assert listed[exec_id]["Workflow name"] == "hello_world"

    # "Make a small change to hello_world.yaml, update it, re-run it"
    path = cli.cwd / "hello_world.yaml"
    path.write_text(path.read_text().replace("Hello Workflow!", "Hello again!"))
    (updated,) = cli.json("workflow-update", "hello_world.yaml")
    assert updated["Name"] == "hello_world"
    assert updated["Updated at"] not in (None, "", "None", "<none>")
    again = cli.create("hello_world")
    assert cli.wait(again) == "SUCCESS"
    assert json.loads(cli.out("execution-get-output", again)) == {"output": "Hello again!"}
    # the previous execution is kept as it was
    assert json.loads(cli.out("execution-get-output", exec_id)) == {"output": "Hello Workflow!"}
    assert {exec_id, again} <= {row["ID"] for row in cli.json("execution-list")}


def test_input_action_details_session(cli):
    (wf,) = cli.json("workflow-create", "input_action_details.yaml")
    assert wf["Name"] == "my_workflow"
    assert wf["Input"] == "names"

    exec_id = cli.create("my_workflow", json.dumps({"names": NAMES}))
    assert cli.wait(exec_id) == "SUCCESS"

    table = cli.out("task-list", exec_id)
    for column in ("ID", "Name", "Workflow name", "State", "State info"):
        assert f" {column} " in table.splitlines()[1]
    tasks = cli.tasks(exec_id)
    assert sorted(tasks) == ["task1", "task2"]
    assert all(t["State"] == "SUCCESS" for t in tasks.values())
    assert all(t["Workflow name"] == "my_workflow" for t in tasks.values())

    assert json.loads(cli.out("task-get-result", tasks["task2"]["ID"])) == "Done"
    assert json.loads(cli.out("task-get-result", tasks["task1"]["ID"])) == NAMES

    actions = cli.json("action-execution-list", tasks["task1"]["ID"])
    assert len(actions) == 3
    for a in actions:
        assert a["Name"] == "std.echo"
        assert a["State"] == "SUCCESS"
        assert a["Task ID"] == tasks["task1"]["ID"]
    outputs = [json.loads(cli.out("action-execution-get-output", a["ID"])) for a in actions]
    assert all(set(o) == {"result"} for o in outputs)
    assert sorted(o["result"] for o in outputs) == sorted(NAMES)


def test_flow_control_session(cli):
    wb = cli.json("workbook-create", "flow_control.yaml")
    assert wb["Name"] == "flowcontrol"

    # `execution-create flow_control`: the workbook's workflow by its short name
    default = cli.create("flow_control")
    assert cli.wait(default) == "SUCCESS"
    assert cli.json("execution-get", default)["Workflow name"] == "flowcontrol.flow_control"
    tasks = cli.tasks(default)
    assert sorted(tasks) == ["task_b", "task_switch"]
    assert all(t["State"] == "SUCCESS" for t in tasks.values())
    assert json.loads(cli.out("task-get-result", tasks["task_b"]["ID"])) == "x is not true"

    with_x = cli.create("flow_control", '{"x": true}')
    assert cli.wait(with_x) == "SUCCESS"
    tasks = cli.tasks(with_x)
    assert sorted(tasks) == ["task_a", "task_switch"]
    assert json.loads(cli.out("task-get-result", tasks["task_a"]["ID"])) == "x is true"

    expected = {"a": ["letter_a", "letter_a_or_b"], "b": ["letter_a_or_b"], "c": ["letter_other"]}
    for letter, ran in expected.items():
        exec_id = cli.create("flowcontrol.flow_control_triple", json.dumps({"letter": letter}))
        assert cli.wait(exec_id) == "SUCCESS"
        assert cli.json("execution-get", exec_id)["Workflow name"] == "flowcontrol.flow_control_triple"
        tasks = cli.tasks(exec_id)
        assert sorted(tasks) == sorted(["task_switch"] + ran), letter
        assert all(t["State"] == "SUCCESS" for t in tasks.values())
