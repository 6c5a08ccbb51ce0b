"""cron-trigger-* and event-trigger-* with Levante's CLI and with the real mistral CLI."""
from __future__ import annotations

import datetime
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.api.helpers import create_wf, unique

MISTRAL_BIN = Path(sys.executable).parent / "mistral"

CRON_HEADINGS = ["Name", "Workflow", "Params", "Pattern", "Next execution time",
                 "Remaining executions", "Created at", "Updated at"]
EVENT_HEADINGS = ["ID", "Name", "Workflow ID", "Params", "Exchange", "Topic", "Event",
                  "Created at", "Updated at"]

WF = """
input:
  - x: 0
tasks:
  t1:
    action: std.echo output=<% $.x %>
"""


class Cli:
    def __init__(self, kind: str, url: str):
        self.kind = kind
        root = str(Path(__file__).resolve().parents[2])
        self.env = {k: v for k, v in os.environ.items()
                    if not k.startswith(("OS_", "MISTRAL_AUTH_TYPE", "OPENID_", "KEYCLOAK_"))}
        self.env["PYTHONPATH"] = os.pathsep.join(filter(None, [root, self.env.get("PYTHONPATH")]))
        if kind == "levante":
            self.base = [sys.executable, "-m", "levante", "--url", url]
        else:
            self.base = [str(MISTRAL_BIN), "--os-mistral-url", url]

    def run(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(self.base + list(args), env=self.env, capture_output=True, text=True,
                              timeout=60)

    def ok(self, *args: str) -> str:
        proc = self.run(*args)
        assert proc.returncode == 0, f"{self.kind} {' '.join(args)}:\n{proc.stderr}"
        return proc.stdout

    def json(self, *args: str):
        return json.loads(self.ok(*args, "-f", "json"))


@pytest.fixture(params=["levante", "mistral"])
def cli(request, server) -> Cli:
    if request.param == "mistral" and not MISTRAL_BIN.exists():
        raise AssertionError(f"python-mistralclient's CLI is missing: {MISTRAL_BIN}")
    return Cli(request.param, server.url)


def _as_record(shown) -> dict:
    # show commands in json: a dict; the field order is checked on the table
    return shown if isinstance(shown, dict) else {r["Field"]: r["Value"] for r in shown}


def test_cron_trigger_commands(cli, mistral):
    wf = unique()
    create_wf(mistral, wf, WF)
    name = unique("cron")
    first = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=3)).strftime(
        "%Y-%m-%d %H:%M")
    table = cli.ok("cron-trigger-create", name, wf, '{"x": 3}', "--params", '{"env": {"a": 1}}',
                   "--pattern", "*/10 * * * *", "--first-time", first, "--count", "4", "--utc")
    fields = [line.split("|")[1].strip() for line in table.splitlines() if line.startswith("| ")]
    assert fields[1:] == CRON_HEADINGS
    shown = _as_record(cli.json("cron-trigger-get", name))
    assert shown["Name"] == name and shown["Workflow"] == wf
    assert shown["Pattern"] == "*/10 * * * *"
    assert json.loads(shown["Params"]) == {"env": {"a": 1}}
    assert shown["Next execution time"] == first + ":00"
    assert shown["Remaining executions"] == 4

    listed = cli.json("cron-trigger-list")
    assert list(listed[0].keys()) == CRON_HEADINGS
    assert name in [row["Name"] for row in listed]

    out = cli.ok("cron-trigger-delete", name)
    assert f"Request to delete cron trigger {name} has been accepted." in out
    assert name not in [row["Name"] for row in cli.json("cron-trigger-list")]
    proc = cli.run("cron-trigger-get", name)
    assert proc.returncode != 0 and "Cron trigger not found" in proc.stderr


def test_cron_trigger_create_takes_local_time_without_utc(cli, mistral):
    wf = create_wf(mistral, unique(), WF)
    name = unique("cron")
    local = datetime.datetime.now() + datetime.timedelta(hours=5)
    shown = _as_record(cli.json("cron-trigger-create", name, wf.id, "--first-time",
                                local.strftime("%Y-%m-%d %H:%M")))
    expected = local.replace(second=0, microsecond=0).astimezone(datetime.timezone.utc)
    assert shown["Next execution time"] == expected.strftime("%Y-%m-%d %H:%M:%S")
    assert shown["Workflow"] == wf.name and shown["Remaining executions"] == 1
    cli.ok("cron-trigger-delete", name)


def test_cron_trigger_create_error(cli, mistral):
    wf = unique()
    create_wf(mistral, wf, WF)
    proc = cli.run("cron-trigger-create", unique("cron"), wf, "--pattern", "every minute")
    assert proc.returncode != 0
    assert "The specified pattern is not valid: every minute" in proc.stderr


def test_event_trigger_commands(cli, mistral):
    wf = create_wf(mistral, unique(), WF)
    name = unique("evt")
    topic = f"executions.{wf.name}"
    table = cli.ok("event-trigger-create", name, wf.id, "levante", topic, "WORKFLOW_SUCCEEDED",
                   '{"x": 1}', "--params", '{"env": {}}')
    fields = [line.split("|")[1].strip() for line in table.splitlines() if line.startswith("| ")]
    assert fields[1:] == EVENT_HEADINGS
    trig_id = [line.split("|")[2].strip() for line in table.splitlines()
               if line.startswith("| ID ")][0]
    shown = _as_record(cli.json("event-trigger-get", trig_id))
    assert (shown["Name"], shown["Workflow ID"], shown["Exchange"], shown["Topic"], shown["Event"]) == (
        name, wf.id, "levante", topic, "WORKFLOW_SUCCEEDED")
    assert json.loads(shown["Params"]) == {"env": {}}

    listed = cli.json("event-trigger-list")
    assert list(listed[0].keys()) == EVENT_HEADINGS
    assert trig_id in [row["ID"] for row in listed]

    out = cli.ok("event-trigger-delete", trig_id)
    assert f"Request to delete event trigger {trig_id} has been accepted." in out
    proc = cli.run("event-trigger-get", trig_id)
    assert proc.returncode != 0 and "Event trigger not found" in proc.stderr
