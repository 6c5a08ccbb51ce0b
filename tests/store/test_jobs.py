"""store/jobs.py: the queue's leases, on both databases."""
from __future__ import annotations

import time

import pytest

from levante.store import jobs
from levante.store.db import Database


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request, tmp_path):
    url = f"sqlite:///{tmp_path / 'j.sqlite'}" if request.param == "sqlite" else request.getfixturevalue("pg_url")
    database = Database(url)
    database.upgrade()
    yield database
    database.dispose()


def _rows(db):
    with db.read() as conn:
        return conn.execute(jobs.jobs.select().order_by(jobs.jobs.c.id)).fetchall()


def test_a_lease_given_back_is_not_counted_as_an_attempt(db):
    now = time.time()
    with db.tx() as conn:
        jobs.enqueue_many(conn, [(jobs.ENGINE, "ex1", {"event": "a"}, 0.0),
                                 (jobs.ENGINE, "ex1", {"event": "b"}, 0.0)], now=now - 1)
    with db.tx() as conn:
        key, mine, more = jobs.claim_one_key(conn, jobs.ENGINE, 10, now, not db.is_sqlite)
        assert (key, len(mine), more) == ("ex1", 2, False)
        jobs.lease(conn, [r.id for r in mine], "engine-1", now + 30)
    assert [(r.owner, r.attempts) for r in _rows(db)] == [("engine-1", 1), ("engine-1", 1)]
    with db.tx() as conn:       # leased: nobody else may claim them
        assert jobs.claim_one_key(conn, jobs.ENGINE, 10, now, not db.is_sqlite)[1] == []
        jobs.release(conn, [r.id for r in mine][:1], "someone-else")    # not theirs to give back
        jobs.release(conn, [r.id for r in mine], "engine-1")
    assert [(r.owner, r.lease_until, r.attempts) for r in _rows(db)] == [(None, None, 0), (None, None, 0)]
    with db.tx() as conn:
        assert [r.id for r in jobs.claim_one_key(conn, jobs.ENGINE, 10, now, not db.is_sqlite)[1]] == \
            [r.id for r in mine]
        assert jobs.delete(conn, [r.id for r in mine] + [10**9]) == 2
    assert _rows(db) == []
