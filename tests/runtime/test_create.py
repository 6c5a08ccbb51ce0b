"""Creating an execution (runtime/executions.py and EngineWorker.create): the
row it answers is the row it stored, and it opens no transaction it does not
need (one read for the workflow, one write), none of them while another is open."""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy import event

from levante.runtime.executions import STARTED_BY_PARAM
from levante.store.schema import workflow_executions as WE
from tests.triggers.helpers import Local

HELLO = """
version: '2.0'
hello:
  output:
    out: <% $.out %>
  tasks:
    say_hello:
      action: std.echo output="Hello"
      publish:
        out: <% task().result %>
"""

WAITS = """
version: '2.0'
waits:
  tasks:
    nap:
      action: std.sleep seconds=30
"""


def _local(path) -> Local:
    local = Local(path)
    # The first start in a process is slow (imports, compiled expressions): give the
    # API's fast start all the time it needs, so a busy machine takes the same path.
    local.rt.engine.fast_start = 30.0
    return local


def _stored(local: Local, exec_id: str):
    with local.rt.db.read() as conn:
        return conn.execute(sa.select(WE).where(WE.c.id == exec_id)).first()


def test_the_row_answered_is_the_row_stored(tmp_path):
    local = _local(tmp_path / "db.sqlite")
    try:
        local.workflow(HELLO)
        local.workflow(WAITS)
        done = local.rt.executions.create("hello", {}, {"env": {"k": 1}}, description="first")
        assert done.state == "SUCCESS"
        assert done._asdict() == dict(_stored(local, done.id)._mapping)
        # Still running, and counted against the caps of the execution that started it
        # (budget_root_id and depth are set in the write transaction).
        parent = local.rt.executions.create("waits", {}, {})
        child = local.rt.executions.create("waits", {}, {STARTED_BY_PARAM: parent.id})
        assert child.state == "RUNNING"
        assert (child.budget_root_id, child.depth) == (parent.id, 1)
        assert child._asdict() == dict(_stored(local, child.id)._mapping)
    finally:
        local.stop()


def test_a_create_opens_one_read_then_one_write_never_both(tmp_path):
    local = _local(tmp_path / "db.sqlite")
    try:
        local.workflow(HELLO)
        local.rt.executions.create("hello", {}, {})      # caches warm
        engine = local.rt.db.engine
        seen = []

        def on_begin(conn):
            seen.append((bool(conn.info.get("immediate")), engine.pool.checkedout()))

        event.listen(engine, "begin", on_begin)
        try:
            row = local.rt.executions.create("hello", {}, {})
        finally:
            event.remove(engine, "begin", on_begin)
        assert row.state == "SUCCESS"
        # The start of a new execution reads nothing from the database; on SQLite,
        # a read still open when the write commits makes every commit slower.
        assert seen == [(False, 1), (True, 1)]
    finally:
        local.stop()
