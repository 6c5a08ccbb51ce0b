"""``GET /v2/executions/{id}/events``: server-sent events of one execution."""
from __future__ import annotations

import json
import subprocess
import sys
import time

import httpx
import pytest

from tests.conftest import Server
from tests.notify.helpers import create_workflow, finish, start, unique


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    s = Server(tmp_path_factory.mktemp("stream-server")).start()
    yield s
    s.stop()


def read_stream(url: str, exec_id: str, timeout: float = 30.0) -> list[tuple[str, dict]]:
    """Every message of the stream until the server ends it."""
    out, kind, data = [], None, []
    deadline = time.time() + timeout
    with httpx.stream("GET", f"{url}/executions/{exec_id}/events", timeout=timeout) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        for line in r.iter_lines():
            assert time.time() < deadline, out
            if line.startswith(":"):
                continue
            if line == "":
                if data:
                    out.append((kind, json.loads("\n".join(data))))
                kind, data = None, []
            elif line.startswith("event: "):
                kind = line[len("event: "):]
            elif line.startswith("data: "):
                data.append(line[len("data: "):])
    return out


def sleepy(name: str, seconds: float = 1.0) -> str:
    return f"""
version: '2.0'
{name}:
  tasks:
    nap:
      action: std.sleep seconds={seconds}
      on-success: after
    after:
      action: std.echo output=done
"""


def test_stream_sends_state_then_events_in_order_and_ends(srv):
    name = unique()
    create_workflow(srv.url, sleepy(name))
    ex = start(srv.url, name)
    t0 = time.time()
    msgs = read_stream(srv.url, ex["id"])
    assert time.time() - t0 < 10
    kind, first = msgs[0]
    assert kind == "state"
    assert first["id"] == ex["id"] and first["state"] == "RUNNING"
    assert [(t["name"], t["state"]) for t in first["tasks"]] == [("nap", "RUNNING")]
    events = [(k, d.get("task_name")) for k, d in msgs[1:]]
    assert events == [("TASK_SUCCEEDED", "nap"), ("TASK_LAUNCHED", "after"),
                      ("TASK_SUCCEEDED", "after"), ("WORKFLOW_SUCCEEDED", None)]
    for k, d in msgs[1:]:
        assert d["event"] == k and d["execution_id"] == ex["id"] and d["workflow_name"] == name
    assert msgs[-1][1]["state"] == "SUCCESS"


def test_stream_of_a_finished_execution_is_its_state(srv):
    name = unique()
    create_workflow(srv.url, sleepy(name, 0))
    ex = start(srv.url, name)
    finish(srv.url, ex["id"])
    msgs = read_stream(srv.url, ex["id"])
    assert len(msgs) == 1 and msgs[0][0] == "state"
    assert msgs[0][1]["state"] == "SUCCESS" and len(msgs[0][1]["tasks"]) == 2


def test_stream_of_a_failing_execution_ends_with_its_failure(srv):
    name = unique()
    create_workflow(srv.url, f"""
version: '2.0'
{name}:
  tasks:
    nap:
      action: std.sleep seconds=0.5
      on-success: boom
    boom:
      action: std.fail
""")
    ex = start(srv.url, name)
    msgs = read_stream(srv.url, ex["id"])
    assert msgs[-1][0] == "WORKFLOW_FAILED"
    assert "boom" in msgs[-1][1]["state_info"]
    assert ("TASK_FAILED", "boom") in [(k, d.get("task_name")) for k, d in msgs]


def test_stream_of_an_unknown_execution_is_404(srv):
    r = httpx.get(f"{srv.url}/executions/nope/events")
    assert r.status_code == 404
    assert "WorkflowExecution not found" in r.json()["faultstring"]


class ApiOnly(Server):
    """A second process on the same database that only serves the API."""

    def start(self, timeout: float = 30.0) -> "ApiOnly":
        cmd = [sys.executable, "-m", "levante", "server", "--role", "api", "--port", str(self.port),
               "--db", self.db_url, "--log-file", str(self.log)]
        self.proc = subprocess.Popen(cmd, cwd=self.workdir, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.STDOUT)
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                if httpx.get(self.url + "/", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError("api server did not start")


def test_stream_from_another_process_follows_the_database(srv, tmp_path):
    # The engine runs in ``srv``; this API process sees the changes only in the database.
    api = ApiOnly(tmp_path, db_url=srv.db_url).start()
    try:
        name = unique()
        create_workflow(srv.url, sleepy(name))
        ex = start(srv.url, name)
        msgs = read_stream(api.url, ex["id"])
        events = [(k, d.get("task_name")) for k, d in msgs[1:]]
        assert msgs[0][0] == "state"
        assert events[-1] == ("WORKFLOW_SUCCEEDED", None)
        assert ("TASK_SUCCEEDED", "after") in events
        assert events.index(("TASK_SUCCEEDED", "nap")) < events.index(("TASK_SUCCEEDED", "after"))
    finally:
        api.stop()
