"""Several processes over one PostgreSQL database, each with some of the roles."""
from __future__ import annotations

import json
import time

import httpx

from tests.conftest import Server

WF = """
version: '2.0'
split_roles:
  tasks:
    fan:
      with-items: i in <% range(0, 20) %>
      action: std.echo output=<% $.i %>
      on-success: nap
    nap:
      action: std.sleep seconds=0.2
      publish:
        total: <% task(fan).result.sum() %>
"""


def _wait(url: str, exec_id: str, timeout: float = 60) -> dict:
    deadline = time.time() + timeout
    while time.time() < deadline:
        body = httpx.get(f"{url}/executions/{exec_id}").json()
        if body["state"] in ("SUCCESS", "ERROR", "CANCELLED"):
            return body
        time.sleep(0.1)
    raise AssertionError(f"execution {exec_id} did not finish: {body['state']}")


def test_api_engine_executor_scheduler_in_separate_processes(tmp_path, pg_url):
    dirs = [tmp_path / n for n in ("api", "engine", "executor1", "executor2", "scheduler")]
    for d in dirs:
        d.mkdir()
    # At DEBUG, so that the actions run inside an engine step are in the logs too.
    debug = ("--log-level", "debug")
    api = Server(dirs[0], pg_url, ("--role", "api", *debug))
    others = [Server(dirs[1], pg_url, ("--role", "engine", *debug)),
              Server(dirs[2], pg_url, ("--role", "executor", "--executor-workers", "2", *debug)),
              Server(dirs[3], pg_url, ("--role", "executor", "--executor-workers", "2", *debug)),
              Server(dirs[4], pg_url, ("--role", "scheduler", *debug))]
    try:
        api.start()
        for s in others:
            s.start()
        r = httpx.post(f"{api.url}/workflows", content=WF, headers={"content-type": "text/plain"})
        assert r.status_code == 201, r.text
        ids = [httpx.post(f"{api.url}/executions", json={"workflow_name": "split_roles"}).json()["id"]
               for _ in range(3)]
        for exec_id in ids:
            done = _wait(api.url, exec_id)
            assert done["state"] == "SUCCESS", done["state_info"]
            assert json.loads(done["output"]) == {"total": sum(range(20))}
        # Every action ran exactly once: std.sleep on whichever executor claimed it;
        # the I/O-free std.echo mostly inside the engine step that asked for it (the
        # API's start or the engine), the rest on an executor.
        executors = "".join(s.log.read_text() for s in others[1:3])
        assert executors.count("name=std.sleep outcome=delay") == 3
        everywhere = executors + api.log.read_text() + others[0].log.read_text()
        assert everywhere.count("name=std.echo outcome=ok") == 3 * 20
    finally:
        for s in [api, *others]:
            s.stop()
