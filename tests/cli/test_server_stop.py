"""``levante server`` stopped with SIGTERM (systemd, docker stop, kill) stops its
runtime before it exits: the loops end, and the database is closed cleanly."""
from __future__ import annotations

import httpx

from tests.conftest import Server

FLOW = """
version: '2.0'
stop_flow:
  tasks:
    say:
      action: std.echo output=hi
"""


def test_sigterm_stops_the_runtime_and_closes_the_database(tmp_path):
    srv = Server(tmp_path).start()
    try:
        r = httpx.post(f"{srv.url}/workflows", content=FLOW, headers={"content-type": "text/plain"})
        assert r.status_code == 201, r.text
        for _ in range(20):
            r = httpx.post(f"{srv.url}/executions", json={"workflow_name": "stop_flow"})
            assert r.status_code == 201, r.text
        srv.proc.terminate()
        code = srv.proc.wait(30)
    finally:
        srv.kill()
    log = srv.log.read_text()
    assert code == 0, log[-2000:]
    assert "role=runtime stopped" in log
    if srv.db_url.startswith("sqlite"):
        # SQLite folds its write-ahead log back into the database file when the
        # last connection closes; a process killed before that leaves it behind.
        assert not (tmp_path / "levante.sqlite-wal").exists()
