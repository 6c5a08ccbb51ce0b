"""An engine thread that finds nothing to claim sleeps until something may be
claimable; it does not spin on events that another thread of its process is
handling (their execution is busy) or that another process holds a lease on."""
from __future__ import annotations

import time

import pytest

from levante.store import jobs
from tests.triggers.helpers import Local


@pytest.fixture
def local(tmp_path):
    loc = Local(tmp_path / "levante.sqlite")
    loc.rt.engine.poll = 5.0
    yield loc
    loc.stop()


def _queue(loc: Local, key: str, delay: float = 0.0) -> None:
    with loc.rt.db.tx() as conn:
        jobs.enqueue(conn, jobs.ENGINE, key, {"event": "resume"}, delay=delay)


def test_due_events_of_a_busy_execution_do_not_keep_another_thread_awake(local):
    engine = local.rt.engine
    _queue(local, "exec-a")
    assert engine._idle_wait() == 0.0          # claimable now: look again at once
    engine._busy.add("exec-a")                 # another thread of this process is on it
    assert engine._idle_wait() == 5.0          # that thread takes them after its step
    _queue(local, "exec-b", delay=1.0)
    assert 0.5 < engine._idle_wait() <= 1.0    # but another execution's event wakes it on time


def test_events_leased_by_another_engine_count_from_the_end_of_the_lease(local):
    engine = local.rt.engine
    _queue(local, "exec-a")
    with local.rt.db.tx() as conn:
        ids = [r.id for r in jobs.due(conn, jobs.ENGINE, 10, time.time(), False)]
        jobs.lease(conn, ids, "another-engine", time.time() + 2.0)
    assert 1.0 < engine._idle_wait() <= 2.0
