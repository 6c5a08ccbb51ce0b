"""The writer of execution state (levante/runtime/executions.py): a client's
resume or task rerun evaluates the workflow's expressions outside any write
transaction, so a slow one (running for its whole budget) holds up neither
another API write nor a hello_world started meanwhile (issue 9).

The tests assert the order things finished in, never a duration.
"""
from __future__ import annotations

import threading
import time

import httpx
import pytest

from tests.conftest import Server

HELLO = """
version: '2.0'
hello_world:
  tasks:
    say_hello:
      action: std.echo output="Hello Workflow!"
"""

SLOW = "range(1000).select(range(1000).sum()).sum()"

# Paused before `b`; resuming starts `b`, whose input is the slow expression.
ON_RESUME = f"""
version: '2.0'
hostile:
  tasks:
    a:
      action: std.noop
      on-success: b
    b:
      pause-before: true
      action: std.echo output=<% {SLOW} %>
"""

# `t` fails at once (division by zero); rerun with env d=1, it evaluates the slow part.
ON_RERUN = f"""
version: '2.0'
hostile:
  tasks:
    t:
      action: std.echo output=<% 1 / env().d + {SLOW} %>
"""

TERMINAL = {"SUCCESS", "ERROR", "CANCELLED"}


@pytest.fixture
def server(tmp_path, monkeypatch):
    monkeypatch.setenv("LEVANTE_EXPRESSION_TIMEOUT", "4")
    srv = Server(tmp_path).start()
    yield srv
    srv.stop()


def _post(url: str, path: str, **kw) -> dict:
    r = httpx.post(f"{url}{path}", timeout=60, **kw)
    assert r.status_code == 201, r.text
    return r.json()


def _wait(url: str, exec_id: str, states: set[str], timeout: float = 60) -> dict:
    deadline = time.time() + timeout
    while time.time() < deadline:
        body = httpx.get(f"{url}/executions/{exec_id}", timeout=60).json()
        if body["state"] in states:
            return body
        time.sleep(0.05)
    raise AssertionError(f"execution {exec_id} never reached {states}")


def _meanwhile(srv: Server, hostile: str, slow_request) -> list[str]:
    """Run ``slow_request`` in a thread; while it evaluates, write to the API and
    run a hello_world. Returns the order in which the three ended."""
    done: list[str] = []
    lock = threading.Lock()
    failure: list[BaseException] = []

    def slow() -> None:
        try:
            slow_request()
        except BaseException as e:      # noqa: BLE001 (reported by the test)
            failure.append(e)
        with lock:
            done.append("slow request")

    thread = threading.Thread(target=slow)
    thread.start()
    time.sleep(0.5)             # let its evaluation get under way
    r = httpx.put(f"{srv.url}/executions/{hostile}", json={"description": "written meanwhile"},
                  timeout=60)
    assert r.status_code == 200, r.text
    with lock:
        done.append("api write")
    hello = _post(srv.url, "/executions", json={"workflow_name": "hello_world"})
    assert _wait(srv.url, hello["id"], TERMINAL)["state"] == "SUCCESS"
    with lock:
        done.append("hello_world")
    thread.join(120)
    assert not failure, failure
    return done


def test_resume_evaluates_outside_the_write_transaction(server):
    _post(server.url, "/workflows", content=HELLO, headers={"content-type": "text/plain"})
    _post(server.url, "/workflows", content=ON_RESUME, headers={"content-type": "text/plain"})
    hostile = _post(server.url, "/executions", json={"workflow_name": "hostile"})["id"]
    _wait(server.url, hostile, {"PAUSED"})

    def resume() -> None:
        r = httpx.put(f"{server.url}/executions/{hostile}", json={"state": "RUNNING"}, timeout=120)
        assert r.status_code == 200, r.text

    assert _meanwhile(server, hostile, resume) == ["api write", "hello_world", "slow request"]
    body = _wait(server.url, hostile, TERMINAL)
    assert body["state"] == "ERROR"
    assert "setting expression_timeout" in body["state_info"]
    assert httpx.get(f"{server.url}/executions/{hostile}").json()["description"] == "written meanwhile"


def test_task_rerun_evaluates_outside_the_write_transaction(server):
    _post(server.url, "/workflows", content=HELLO, headers={"content-type": "text/plain"})
    _post(server.url, "/workflows", content=ON_RERUN, headers={"content-type": "text/plain"})
    hostile = _post(server.url, "/executions",
                    json={"workflow_name": "hostile", "params": {"env": {"d": 0}}})["id"]
    assert _wait(server.url, hostile, TERMINAL)["state"] == "ERROR"
    (task,) = httpx.get(f"{server.url}/executions/{hostile}/tasks").json()["tasks"]
    assert task["state"] == "ERROR"

    def rerun() -> None:
        r = httpx.put(f"{server.url}/tasks/{task['id']}",
                      json={"state": "RUNNING", "env": {"d": 1}}, timeout=120)
        assert r.status_code == 200, r.text

    assert _meanwhile(server, hostile, rerun) == ["api write", "hello_world", "slow request"]
    body = _wait(server.url, hostile, TERMINAL)
    assert body["state"] == "ERROR"
    assert "setting expression_timeout" in body["state_info"]
