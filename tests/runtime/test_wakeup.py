"""Processes over one PostgreSQL database wake each other when they commit work
(LISTEN/NOTIFY), so a step that crosses processes does not wait for a poll."""
from __future__ import annotations

import json
import time

import httpx

from tests.conftest import Server

# Every hop crosses processes: the executor runs std.sleep (not run inline), the
# scheduler ends it, the engine takes the next step.
WF = """
version: '2.0'
hops:
  tasks:
    one:
      action: std.sleep seconds=0
      on-success: two
    two:
      action: std.sleep seconds=0
      on-success: three
    three:
      action: std.sleep seconds=0
      publish:
        done: <% true %>
"""


def test_split_roles_wake_each_other_without_polling(tmp_path, pg_url):
    # Idle loops would look for work only every 10 minutes: each of the nine
    # hops below must be woken by the commit that made its work.
    conf = tmp_path / "levante.yaml"
    conf.write_text("job_poll_interval: 600\n")
    roles = ("api", "engine", "executor", "scheduler")
    servers = []
    for role in roles:
        d = tmp_path / role
        d.mkdir()
        servers.append(Server(d, pg_url, ("--role", role, "--config", str(conf))))
    try:
        for s in servers:
            s.start()
        api = servers[0]
        r = httpx.post(f"{api.url}/workflows", content=WF, headers={"content-type": "text/plain"})
        assert r.status_code == 201, r.text
        ex = httpx.post(f"{api.url}/executions", json={"workflow_name": "hops"}).json()
        deadline = time.time() + 120     # far below one poll interval (600 s)
        while ex["state"] == "RUNNING" and time.time() < deadline:
            time.sleep(0.1)
            ex = httpx.get(f"{api.url}/executions/{ex['id']}").json()
        assert ex["state"] == "SUCCESS", ex["state_info"]
        assert json.loads(ex["output"]) == {"done": True}
    finally:
        for s in servers:
            s.stop()
