"""Connections, transactions and schema upgrades.

SQLite allows one writer at a time; rather than let threads collide on
"database is locked" (the failure that loses executions on Mistral), every
write transaction in this process takes one lock and starts with BEGIN
IMMEDIATE. PostgreSQL needs neither: row locks and SKIP LOCKED do the work.
"""
from __future__ import annotations

import logging
import os
import threading
from contextlib import contextmanager, nullcontext
from typing import Callable, Iterator

import sqlalchemy as sa
from sqlalchemy import event

from levante.store import prepared
from levante.store.checkpoint import BACKSTOP_PAGES, Checkpointer

DEFAULT_URL = "sqlite:///levante.sqlite"
KEPT_CONNECTIONS = 8    # SQLite: open Connections kept between transactions (also the pool's size)
UPGRADE_LOCK = 0x4C6576616E7465   # PostgreSQL advisory lock held while the schema is upgraded ("Levante")


class Database:
    def __init__(self, url: str):
        self.url = url
        self.checkpointer: Checkpointer | None = None   # SQLite files: WAL checkpoints off the writers' path
        self.is_sqlite = url.startswith("sqlite")
        if self.is_sqlite:
            self.engine = sa.create_engine(
                url, connect_args={"check_same_thread": False, "timeout": 60},
                pool_size=KEPT_CONNECTIONS, max_overflow=16)
            event.listen(self.engine, "connect", _sqlite_on_connect)
            event.listen(self.engine, "begin", _sqlite_on_begin)
            path = self.engine.url.database
            if path and path != ":memory:" and not path.startswith("file:"):
                self.checkpointer = Checkpointer(path)
        else:
            self.engine = sa.create_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True)
        self._write_lock = threading.RLock() if self.is_sqlite else None
        # SQLite: a transaction takes an open Connection from here and gives it
        # back, instead of checking one out of the pool and closing it (which
        # costs more than the BEGIN and COMMIT of a small transaction). On a
        # network database the pool's checkout stays, with its liveness ping.
        self._kept: list[sa.Connection] | None = [] if self.is_sqlite else None
        self._kept_lock = threading.Lock()
        self._on_release: list[Callable[[sa.Connection], None]] = []

    def on_release(self, fn: Callable[[sa.Connection], None]) -> None:
        """Call ``fn(conn)`` each time a transaction of :meth:`tx` or
        :meth:`read` has ended (committed or rolled back) and ``conn`` is given
        back: a kept Connection never goes back to the pool, so the pool's
        ``checkin`` event does not fire for it."""
        if fn not in self._on_release:
            self._on_release.append(fn)

    @contextmanager
    def tx(self) -> Iterator[sa.Connection]:
        """A write transaction, committed on success, rolled back on error."""
        with self._write_lock or nullcontext():
            conn = self._take()
            try:
                conn.info["immediate"] = True     # BEGIN IMMEDIATE on SQLite
                with conn.begin():
                    yield conn
            finally:
                self._give(conn)    # under the lock: after-commit work runs in commit order
        if self.checkpointer is not None:
            self.checkpointer.committed()

    @contextmanager
    def read(self) -> Iterator[sa.Connection]:
        conn = self._take()
        try:
            conn.info["immediate"] = False
            with conn.begin():
                yield conn
        finally:
            self._give(conn)

    def _take(self) -> sa.Connection:
        if self._kept:
            with self._kept_lock:
                if self._kept:
                    return self._kept.pop()
        return self.engine.connect()

    def _give(self, conn: sa.Connection) -> None:
        for fn in self._on_release:
            fn(conn)
        if (self._kept is not None and len(self._kept) < KEPT_CONNECTIONS and not conn.closed
                and not conn.invalidated and not conn.in_transaction()):
            with self._kept_lock:
                if len(self._kept) < KEPT_CONNECTIONS:
                    self._kept.append(conn)
                    return
        conn.close()

    def upgrade(self) -> None:
        """Bring the schema to the newest Alembic revision (the one head)."""
        logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)   # not news to an operator
        from alembic import command

        cfg = alembic_config()
        # Processes started together against a new database (an API, engines,
        # executors) each upgrade it: one at a time, or the others' CREATE
        # TABLEs fail and those processes die. Each waits for the lock, then
        # reads the version the one before it left.
        with self.engine.connect() as conn:
            conn.info["immediate"] = True       # SQLite: the write lock from BEGIN on
            try:
                with conn.begin():
                    if self.engine.dialect.name == "postgresql":
                        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": UPGRADE_LOCK})
                    cfg.attributes["connection"] = conn
                    command.upgrade(cfg, "head")
            finally:
                conn.info["immediate"] = False

    def dispose(self) -> None:
        if self.checkpointer is not None:
            self.checkpointer.close()
        if self._kept is not None:
            with self._kept_lock:
                kept, self._kept[:] = list(self._kept), []
            for conn in kept:
                conn.close()
        self.engine.dispose()


def update_where(conn: sa.Connection, table: sa.Table, where, values: dict) -> int:
    """UPDATE ``table`` SET ``values`` WHERE ``where``; returns the rows changed.
    SQL expressions go into the statement, plain values as parameters: given
    to ``.values()`` they would be part of SQLAlchemy's statement cache key,
    whose cost grows with the size of the (JSON) text stored."""
    exprs = {k: v for k, v in values.items() if isinstance(v, sa.ClauseElement)}
    params = {k: v for k, v in values.items() if k not in exprs}
    return conn.execute(table.update().where(where).values(**exprs), params).rowcount


_BY_ID: dict[tuple, sa.Update] = {}


def update_by_id(conn: sa.Connection, table: sa.Table, row_id: str, values: dict,
                 bump: str | None = None) -> int:
    """UPDATE ``table`` SET ``values`` (and ``bump`` = ``bump`` + 1) WHERE id =
    ``row_id``; returns the rows changed. The statement is built once per
    table and set of columns (an engine step runs two or more of these):
    values that are SQL expressions take :func:`update_where`'s way."""
    if any(isinstance(v, sa.ClauseElement) for v in values.values()):
        if bump:
            values = {bump: table.c[bump] + 1, **values}
        return update_where(conn, table, table.c.id == row_id, values)
    key = (table.name, bump, tuple(values))
    stmt = _BY_ID.get(key)
    if stmt is None:
        update = table.update().where(table.c.id == sa.bindparam("b_row_id"))
        if bump:
            update = update.values({bump: table.c[bump] + 1})
        stmt = _BY_ID.setdefault(key, prepared.Statement(update, column_keys=list(values)))
    return stmt.rowcount(conn, {**values, "b_row_id": row_id})


def alembic_config():
    """Alembic's configuration for Levante's migrations (no ini file needed)."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", os.path.join(os.path.dirname(__file__), "migrations"))
    return cfg


def _sqlite_on_connect(dbapi_conn, _record) -> None:
    # Let SQLAlchemy's "begin" event emit BEGIN itself (pysqlite's own
    # transaction handling would defer it and break BEGIN IMMEDIATE).
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=60000")
    # Checkpoints run on the Database's checkpointer thread (store/checkpoint.py);
    # a writer does one itself only if that thread falls far behind.
    cur.execute(f"PRAGMA wal_autocheckpoint={BACKSTOP_PAGES}")
    cur.close()


def _sqlite_on_begin(conn) -> None:
    # Straight to the driver: this runs for every transaction, and a statement
    # through SQLAlchemy's execution machinery costs several times more.
    conn.connection.dbapi_connection.execute("BEGIN IMMEDIATE" if conn.info.get("immediate") else "BEGIN")
