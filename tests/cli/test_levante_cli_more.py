"""The levante CLI against a real server: formats on every show command,
execution-get-report, sub-executions, task-skip, --wait on a failure, colours."""
from __future__ import annotations

import io
import json
import time

import pytest
import yaml

from levante.cli import main as cli_main
from levante.cli.base import COMMANDS, DATA, LIST, SHOW
from tests.api.clis import Cli

FLOWS = """
version: '2.0'
more_hello:
  output:
    greeting: <% $.greeting %>
  tasks:
    say:
      action: std.echo output="Hello"
      publish:
        greeting: <% task().result %>
more_child:
  tasks:
    boom:
      action: std.fail
      on-skip: [after]
    after:
      action: std.echo output="went on"
more_parent:
  tasks:
    call:
      workflow: more_child
"""


@pytest.fixture(scope="module")
def cli(tmp_path_factory):
    from tests.conftest import Server

    work = tmp_path_factory.mktemp("levante-cli")
    srv = Server(work).start()
    (work / "flows.yaml").write_text(FLOWS)
    c = Cli("levante", srv.url, work)
    c.out("workflow-create", "flows.yaml")
    yield c
    srv.stop()


def _wait(cli: Cli, exec_id: str) -> dict:
    deadline = time.time() + 30
    while True:
        shown = cli.json("execution-get", exec_id)
        if shown["State"] not in ("RUNNING", "IDLE"):
            return shown
        assert time.time() < deadline
        time.sleep(0.1)


def test_show_commands_all_take_formats():
    """Every command that shows something takes -f (the report is a text drawing;
    token-create prints the new token alone on its last line, for scripts)."""
    plain = sorted(n for n, s in COMMANDS.items() if s.kind not in (SHOW, DATA, LIST))
    assert all(n.endswith("-delete") or n in ("execution-get-report", "execution-watch", "queue-create",
                                              "token-create", "token-revoke")
               for n in plain), plain
    for name in ("execution-get-output", "execution-get-input", "execution-get-published",
                 "task-get-result", "task-get-published", "action-execution-get-output",
                 "action-execution-get-input", "workflow-get-definition", "code-source-get-content"):
        assert COMMANDS[name].kind == DATA, name


def test_data_formats(cli):
    ex = cli.json("execution-create", "more_hello", "--wait")
    assert cli.out("execution-get-output", ex["ID"]) == '{\n    "greeting": "Hello"\n}\n'
    assert json.loads(cli.out("execution-get-output", ex["ID"], "-f", "json")) == {"greeting": "Hello"}
    assert yaml.safe_load(cli.out("execution-get-output", ex["ID"], "-f", "yaml")) == {"greeting": "Hello"}
    assert cli.out("execution-get-output", ex["ID"], "-f", "value") == '{"greeting": "Hello"}\n'
    (task,) = cli.json("task-list", ex["ID"])
    assert cli.out("task-get-result", task["ID"], "-f", "value") == "Hello\n"
    assert json.loads(cli.out("task-get-published", task["ID"], "-f", "json")) == {"greeting": "Hello"}
    assert "choose from" in cli.fails("execution-get-output", ex["ID"], "-f", "csv")
    # documents: as is by default and with -f value, one JSON/YAML string otherwise
    text = cli.out("workflow-get-definition", "more_hello")
    assert "more_hello:" in text and text.startswith("---") or text.startswith("version")
    assert cli.out("workflow-get-definition", "more_hello", "-f", "value") == text
    assert json.loads(cli.out("workflow-get-definition", "more_hello", "-f", "json")) == text
    assert yaml.safe_load(cli.out("workflow-get-definition", "more_hello", "-f", "yaml")) == text


def test_wait_prints_the_execution_when_it_fails(cli):
    proc = cli.run("execution-create", "more_child", "--wait", "-f", "json", ok=False)
    assert proc.returncode == 1
    shown = json.loads(proc.stdout)
    assert shown["State"] == "ERROR" and shown["Workflow name"] == "more_child"
    assert f"Execution {shown['ID']} ended in state ERROR" in proc.stderr


def test_report_sub_executions_and_skip(cli):
    proc = cli.run("execution-create", "more_parent", "--wait", "-f", "json", ok=False)
    parent = json.loads(proc.stdout)
    report = cli.out("execution-get-report", parent["ID"])
    assert "General Statistics" in report and "Number of tasks in ERROR state: 2" in report
    assert f"workflow 'more_parent' [ERROR] {parent['ID']}" in report
    assert "    task 'call' [ERROR]" in report
    assert "            task 'boom' [ERROR]" in report

    subs = cli.json("execution-get-sub-executions", parent["ID"])
    assert [s["Workflow name"] for s in subs] == ["more_parent", "more_child"]
    (call,) = cli.json("task-list", parent["ID"])
    (child,) = [s for s in cli.json("task-get-sub-executions", call["ID"])]
    assert child["Workflow name"] == "more_child"

    (boom,) = cli.json("task-list", child["ID"])
    skipped = cli.json("task-skip", boom["ID"])
    assert skipped["State"] == "SKIPPED"
    done = _wait(cli, child["ID"])
    assert done["State"] == "SUCCESS"
    assert {t["Name"]: t["State"] for t in cli.json("task-list", child["ID"])} == {
        "boom": "SKIPPED", "after": "SUCCESS"}


class Tty(io.StringIO):
    def isatty(self):
        return True


def test_colours_on_a_terminal_only(cli, monkeypatch):
    ex = cli.json("execution-create", "more_hello", "--wait")
    url = cli.base[cli.base.index("--url") + 1]
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.delenv("TERM", raising=False)
    tty = Tty()
    assert cli_main.main(["--url", url, "execution-get", ex["ID"]], stdout=tty) == 0
    assert "\033[32mSUCCESS" in tty.getvalue()
    # the table keeps its shape: every line as wide as the rules
    plain = tty.getvalue().replace("\033[32m", "").replace("\033[0m", "")
    assert len({len(line) for line in plain.splitlines()}) == 1
    monkeypatch.setenv("NO_COLOR", "1")
    tty = Tty()
    assert cli_main.main(["--url", url, "execution-get", ex["ID"]], stdout=tty) == 0
    assert "\033[" not in tty.getvalue()
    # piped (a subprocess's stdout is a pipe): no colours
    assert "\033[" not in cli.out("execution-list")
    # execution-watch's progress lines too, on a terminal
    monkeypatch.delenv("NO_COLOR")
    tty = Tty()
    assert cli_main.main(["--url", url, "execution-watch", ex["ID"]], stdout=tty) == 0
    assert "\033[32mSUCCESS\033[0m" in tty.getvalue()
