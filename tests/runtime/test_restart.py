"""Nothing is lost when the server dies: executions in flight finish after a restart."""
from __future__ import annotations

import time

import httpx

from tests.conftest import Server

SLEEPY = """
version: '2.0'
sleepy:
  tasks:
    nap:
      action: std.sleep seconds=3
      on-success: after
    after:
      action: std.echo output="woke up"
      publish:
        said: <% task().result %>
"""


def _wait(url: str, exec_id: str, want: set, timeout: float = 30) -> dict:
    deadline = time.time() + timeout
    while time.time() < deadline:
        body = httpx.get(f"{url}/executions/{exec_id}").json()
        if body["state"] in want:
            return body
        time.sleep(0.1)
    raise AssertionError(f"execution {exec_id} still {body['state']}")


def test_execution_survives_kill_during_sleep(fresh_server: Server):
    srv = fresh_server.start()
    r = httpx.post(f"{srv.url}/workflows", content=SLEEPY, headers={"content-type": "text/plain"})
    assert r.status_code == 201, r.text
    ex = httpx.post(f"{srv.url}/executions", json={"workflow_name": "sleepy"}).json()
    # Wait until the sleep is under way, then crash the server.
    deadline = time.time() + 10
    while time.time() < deadline:
        tasks = httpx.get(f"{srv.url}/executions/{ex['id']}/tasks").json()["tasks"]
        if tasks and tasks[0]["state"] == "RUNNING":
            break
        time.sleep(0.05)
    srv.kill()
    assert srv.proc.returncode != 0
    time.sleep(0.5)
    srv.start()                       # same port, same database file
    done = _wait(srv.url, ex["id"], {"SUCCESS", "ERROR"})
    assert done["state"] == "SUCCESS", done["state_info"]
    assert '"said": "woke up"' in done["output"]


def test_restart_with_nothing_in_flight_keeps_history(fresh_server: Server):
    srv = fresh_server.start()
    httpx.post(f"{srv.url}/workflows", content=SLEEPY.replace("seconds=3", "seconds=0"),
               headers={"content-type": "text/plain"})
    ex = httpx.post(f"{srv.url}/executions", json={"workflow_name": "sleepy"}).json()
    _wait(srv.url, ex["id"], {"SUCCESS"})
    srv.stop()
    srv.start()
    body = httpx.get(f"{srv.url}/executions/{ex['id']}").json()
    assert body["state"] == "SUCCESS"
