"""An engine step whose execution keeps changing under it (another process
committing to it each time) gives its events back and tries again later: the
execution is not failed for it."""
from __future__ import annotations

import time

import pytest

from levante.runtime import engine_worker
from levante.store import jobs
from tests.triggers.helpers import Local, local_runtime

ONE = """
version: '2.0'
one_action:
  tasks:
    only:
      action: std.test_dict size=1
"""


class _Moved:
    """The execution's version as another writer would leave it: never the one read."""

    def scalar(self, conn, params):
        return -1


@pytest.fixture
def local(tmp_path):
    yield from local_runtime(tmp_path / "levante.sqlite", ONE)


def _engine_jobs(loc: Local) -> list:
    with loc.rt.db.read() as conn:
        return conn.execute(jobs.jobs.select().where(jobs.jobs.c.kind == jobs.ENGINE)).fetchall()


def _state(loc: Local, exec_id: str) -> str:
    return loc.api.get(f"/v2/executions/{exec_id}").json()["state"]


def test_a_step_that_keeps_conflicting_gives_its_events_back(local, monkeypatch):
    r = local.api.post("/v2/executions", json={"workflow_name": "one_action"})
    assert r.status_code == 201, r.text
    exec_id = r.json()["id"]
    executor = local.rt.executor        # the runtime's threads are not started: run each loop by hand
    assert executor.claim_and_submit() == 1
    deadline = time.time() + 30
    while not _engine_jobs(local) and time.time() < deadline:
        time.sleep(0.01)
    [event] = _engine_jobs(local)       # the action's outcome, for the engine

    with monkeypatch.context() as m:
        m.setattr(engine_worker, "_VERSION", (_Moved(), _Moved()))
        assert local.rt.engine.run_once() == 1
    assert _state(local, exec_id) == "RUNNING"
    [kept] = _engine_jobs(local)
    assert (kept.id, kept.owner, kept.lease_until, kept.attempts) == (event.id, None, None, 0)

    assert local.rt.engine.run_once() == 1      # nothing in the way now
    assert _state(local, exec_id) == "SUCCESS"
    assert _engine_jobs(local) == []
