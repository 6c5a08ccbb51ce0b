"""WAL checkpoints run on the Database's checkpointer thread, not in the writers' commits."""
from __future__ import annotations

import os
import time

import sqlalchemy as sa

from levante.store import checkpoint
from levante.store.db import Database

ROW = "x" * 3000        # about one page per row


def _write(db: Database, transactions: int, rows: int) -> None:
    for _ in range(transactions):
        with db.tx() as conn:
            conn.execute(sa.text("INSERT INTO blob (body) VALUES (:b)"), [{"b": ROW}] * rows)


def _db(tmp_path, every: int) -> Database:
    db = Database(f"sqlite:///{tmp_path / 'c.sqlite'}")
    db.checkpointer.every = every
    with db.tx() as conn:
        conn.execute(sa.text("CREATE TABLE blob (id INTEGER PRIMARY KEY, body TEXT)"))
    return db


def _wait(condition, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.01)


def test_a_commit_past_a_thousand_wal_pages_does_not_checkpoint_itself(tmp_path):
    db = _db(tmp_path, every=10**9)        # the thread never kicked
    try:
        _write(db, transactions=30, rows=60)   # some 1,800 pages, past SQLite's default 1,000
        main = os.path.getsize(tmp_path / "c.sqlite")
        wal = os.path.getsize(tmp_path / "c.sqlite-wal")
        # Every page is still in the WAL: no commit copied them into the database file.
        assert wal > 1800 * 4096
        assert main < 100 * 4096, main
        assert db.checkpointer.runs == 0
    finally:
        db.dispose()


def test_the_checkpointer_copies_the_wal_into_the_database_file(tmp_path):
    db = _db(tmp_path, every=4)
    try:
        _write(db, transactions=8, rows=50)
        _wait(lambda: db.checkpointer.runs >= 2, "two checkpoints ran")
        _wait(lambda: os.path.getsize(tmp_path / "c.sqlite") > 300 * 4096,
              "the pages reached the database file")
        # Checkpointed: the next writer starts the WAL over instead of growing it.
        busy, pages, done = db.checkpointer.checkpoint()
        assert busy == 0 and pages == done
        wal = os.path.getsize(tmp_path / "c.sqlite-wal")
        _write(db, transactions=1, rows=10)
        assert os.path.getsize(tmp_path / "c.sqlite-wal") == wal
        with db.read() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM blob")).scalar() == 410
    finally:
        db.dispose()


def test_the_thread_ends_when_idle_and_starts_again_on_the_next_kick(tmp_path, monkeypatch):
    monkeypatch.setattr(checkpoint, "IDLE_EXIT", 0.05)
    db = _db(tmp_path, every=1)
    try:
        _write(db, transactions=1, rows=1)
        _wait(lambda: db.checkpointer.runs >= 1, "a checkpoint ran")
        _wait(lambda: db.checkpointer._thread is None, "the idle thread ended")
        _write(db, transactions=1, rows=1)
        _wait(lambda: db.checkpointer.runs >= 2, "a new thread checkpointed")
    finally:
        db.dispose()
    assert db.checkpointer._thread is None
    before = db.checkpointer.runs
    db.checkpointer.kick()          # closed: no thread, no checkpoint
    assert db.checkpointer._thread is None and db.checkpointer.runs == before

