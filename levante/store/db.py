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
from contextlib import contextmanager
from typing import Iterator

import sqlalchemy as sa
from sqlalchemy import event

from levante.store.checkpoint import BACKSTOP_PAGES, Checkpointer

DEFAULT_URL = "sqlite:///levante.sqlite"


class Database:
    def __init__(self, url: str):
        self.url = url
        self.checkpointer: Checkpointer | None = None   # SQLite files: WAL checkpoints off the writers' path
        self.is_sqlite = url.startswith("sqlite")
        if self.is_sqlite:
            self.engine = sa.create_engine(
                url, connect_args={"check_same_thread": False, "timeout": 60},
                pool_size=8, max_overflow=16)
            event.listen(self.engine, "connect", _sqlite_on_connect)
            event.listen(self.engine, "begin", _sqlite_on_begin)
            path = self.engine.url.database
            if path and path != ":memory:" and not path.startswith("file:"):
                self.checkpointer = Checkpointer(path)
        else:
            self.engine = sa.create_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True)
        self._write_lock = threading.RLock() if self.is_sqlite else None

    @contextmanager
    def tx(self) -> Iterator[sa.Connection]:
        """A write transaction, committed on success, rolled back on error."""
        if self._write_lock is not None:
            with self._write_lock:
                with self.engine.connect() as conn:
                    conn.info["immediate"] = True
                    with conn.begin():
                        yield conn
                if self.checkpointer is not None:
                    self.checkpointer.committed()
        else:
            with self.engine.begin() as conn:
                yield conn

    @contextmanager
    def read(self) -> Iterator[sa.Connection]:
        with self.engine.connect() as conn:
            conn.info["immediate"] = False
            with conn.begin():
                yield conn

    def upgrade(self) -> None:
        """Bring the schema to the newest Alembic revision (the one head)."""
        logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)   # not news to an operator
        from alembic import command

        cfg = alembic_config()
        with self.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")

    def dispose(self) -> None:
        if self.checkpointer is not None:
            self.checkpointer.close()
        self.engine.dispose()


def update_where(conn: sa.Connection, table: sa.Table, where, values: dict) -> int:
    """UPDATE ``table`` SET ``values`` WHERE ``where``; returns the rows changed.
    SQL expressions go into the statement, plain values as parameters: given
    to ``.values()`` they would be part of SQLAlchemy's statement cache key,
    whose cost grows with the size of the (JSON) text stored."""
    exprs = {k: v for k, v in values.items() if isinstance(v, sa.ClauseElement)}
    params = {k: v for k, v in values.items() if k not in exprs}
    return conn.execute(table.update().where(where).values(**exprs), params).rowcount


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
