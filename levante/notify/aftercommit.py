"""Run work once the current transaction has committed.

Execution events are emitted inside the transaction that made the change.
Things outside the database (live streams, waking the delivery loop) must
only hear about a change once it is committed, so they are queued on the
connection with :func:`defer` and run after the commit.

SQLAlchemy Core has no "after commit" event: its ``commit`` event fires
before the DBAPI commit. So the queue moves to a "staged" list on
``commit`` and runs once the transaction is over: when ``Database`` gives
back the connection of its ``tx()`` (:meth:`Database.on_release`; on SQLite
the Connection stays open for the next transaction), or when a connection
goes back to the pool. A rollback, a failed commit or a rolled-back
savepoint drops what it covered. The lists live in the pooled connection's
``info`` dict.
"""
from __future__ import annotations

import logging
from typing import Callable

import sqlalchemy as sa
from sqlalchemy import event

from levante.store.db import Database

log = logging.getLogger("levante.notify")

_PENDING = "levante.after_commit.pending"
_STAGED = "levante.after_commit.staged"
_MARKS = "levante.after_commit.savepoints"


def install(db: Database) -> None:
    """Hook ``db`` once; :func:`defer` does nothing on databases not hooked."""
    engine = db.engine
    db.on_release(_on_release)     # a Connection the Database keeps open between transactions
    if event.contains(engine, "commit", _on_commit):
        return
    event.listen(engine, "commit", _on_commit)
    event.listen(engine, "rollback", _on_rollback)
    event.listen(engine, "savepoint", _on_savepoint)
    event.listen(engine, "rollback_savepoint", _on_rollback_savepoint)
    event.listen(engine, "release_savepoint", _on_release_savepoint)
    event.listen(engine, "handle_error", _on_error)
    event.listen(engine.pool, "checkin", _on_checkin)


def defer(conn: sa.Connection, fn: Callable[[], None]) -> None:
    """Call ``fn()`` after the transaction of ``conn`` commits (never if it rolls back)."""
    conn.info.setdefault(_PENDING, []).append(fn)


def _on_commit(conn) -> None:
    info = conn.info
    pending = info.pop(_PENDING, None)
    info.pop(_MARKS, None)
    if pending:
        info.setdefault(_STAGED, []).extend(pending)


def _on_rollback(conn) -> None:
    info = conn.info
    info.pop(_PENDING, None)
    info.pop(_MARKS, None)


def _on_savepoint(conn, name) -> None:
    # Savepoints nest: a stack of "how much was pending when it began".
    info = conn.info
    info.setdefault(_MARKS, []).append(len(info.get(_PENDING) or ()))


def _on_release_savepoint(conn, name, context) -> None:
    marks = conn.info.get(_MARKS)
    if marks:
        marks.pop()


def _on_rollback_savepoint(conn, name, context) -> None:
    info = conn.info
    marks = info.get(_MARKS)
    mark = marks.pop() if marks else None
    pending = info.get(_PENDING)
    if mark is not None and pending is not None:
        del pending[mark:]


def _on_error(ctx) -> None:
    # A commit that failed after the "commit" event: what it staged never happened.
    conn = ctx.connection
    if conn is not None and ctx.statement is None:
        try:
            conn.info.pop(_STAGED, None)
        except Exception:   # the connection may already be invalid
            pass


def _on_release(conn: sa.Connection) -> None:
    if not conn.closed and not conn.invalidated:
        _run_staged(conn.info)


def _on_checkin(dbapi_conn, record) -> None:
    if record is not None:
        _run_staged(record.info)


def _run_staged(info: dict) -> None:
    info.pop(_PENDING, None)
    info.pop(_MARKS, None)
    staged = info.pop(_STAGED, None)
    for fn in staged or ():
        try:
            fn()
        except Exception:
            log.exception("after-commit callback failed")
