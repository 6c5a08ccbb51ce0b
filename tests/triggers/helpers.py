"""Helpers for the trigger tests: an in-process runtime on its own SQLite file."""
from __future__ import annotations

import json
import time
from typing import Iterator

import sqlalchemy as sa
from fastapi.testclient import TestClient

from levante.api.app import create_app
from levante.cli.server import build_runtime
from levante.store.schema import workflow_executions as WE

FINAL = ("SUCCESS", "ERROR", "CANCELLED")

ECHO = """---
version: '2.0'
{name}:
  input:
    - x: 0
  tasks:
    t1:
      action: std.echo output=<% $.x %>
      publish:
        got: <% task().result %>
"""


class Local:
    """A Runtime (threads not started unless asked) plus an API client on it."""

    def __init__(self, path):
        self.url = f"sqlite:///{path}"
        self.rt = build_runtime(self.url)
        self.api = TestClient(create_app(self.rt))
        self.started = False

    def start(self) -> "Local":
        self.rt.start()
        self.started = True
        return self

    def stop(self) -> None:
        if self.started:
            self.rt.stop()
        else:
            self.rt.db.dispose()

    def workflow(self, text: str) -> dict:
        r = self.api.post("/v2/workflows", content=text, headers={"content-type": "text/plain"})
        assert r.status_code == 201, r.text
        return r.json()["workflows"][0]

    def echo(self, name: str) -> dict:
        return self.workflow(ECHO.format(name=name))

    def executions(self, workflow_name: str | None = None) -> list:
        with self.rt.db.read() as conn:
            q = sa.select(WE).order_by(WE.c.created_at)
            if workflow_name:
                q = q.where(WE.c.workflow_name == workflow_name)
            return conn.execute(q).fetchall()

    def wait_final(self, exec_id: str, timeout: float = 20.0):
        deadline = time.time() + timeout
        while True:
            with self.rt.db.read() as conn:
                row = conn.execute(sa.select(WE).where(WE.c.id == exec_id)).first()
            if row is not None and row.state in FINAL:
                return row
            assert time.time() < deadline, f"execution {exec_id} not finished"
            time.sleep(0.05)


def local_runtime(path, *workflows: str) -> Iterator[Local]:
    """For a fixture to ``yield from``: a Local on ``path`` with ``workflows``
    stored, stopped when the fixture ends (or when storing one fails)."""
    loc = Local(path)
    try:
        for text in workflows:
            loc.workflow(text)
        yield loc
    finally:
        loc.stop()


def params(row) -> dict:
    return json.loads(row.params)


def bring_forward(server, name: str, seconds: float = 1.0) -> str:
    """Move a stored cron trigger's next time to ``seconds`` from now (a first
    time must be a minute ahead: this spares the tests the wait) on ``server``'s
    database; returns that time as the API shows it."""
    due = time.time() + seconds
    engine = sa.create_engine(server.db_url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("UPDATE cron_triggers SET next_execution_time = :t, "
                                 "first_execution_time = :t WHERE name = :n"), {"t": due, "n": name})
    finally:
        engine.dispose()
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(due))
