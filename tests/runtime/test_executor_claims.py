"""When the executor's claiming loop looks for work again after an action ends:
at once if its last claim may have left due jobs for want of a free slot,
otherwise not (a new job wakes it when it is committed; a claim right after
every action would only compete with the engine step its outcome started)."""
from __future__ import annotations

import time

import pytest

from levante.store import jobs
from tests.triggers.helpers import Local, local_runtime

TWO = """
version: '2.0'
two_actions:
  tasks:
    left:
      action: std.test_dict size=1
    right:
      action: std.test_dict size=1
"""


@pytest.fixture
def local(tmp_path):
    yield from local_runtime(tmp_path / "levante.sqlite", TWO)


def _action_jobs(loc: Local) -> int:
    with loc.rt.db.read() as conn:
        return len(jobs.due(conn, jobs.ACTION, 10, time.time() + 60, False))


def _settle(executor) -> None:
    deadline = time.time() + 30
    while executor._inflight and time.time() < deadline:
        time.sleep(0.01)
    assert not executor._inflight


def _start(loc: Local) -> None:
    r = loc.api.post("/v2/executions", json={"workflow_name": "two_actions"})
    assert r.status_code == 201, r.text
    assert _action_jobs(loc) == 2       # nothing runs them: the runtime's threads are not started


def test_an_action_ending_with_due_jobs_left_behind_wakes_the_claims(local):
    executor = local.rt.executor
    executor.workers = 1
    _start(local)
    executor.wake.clear()
    assert executor.claim_and_submit() == 1     # one slot: the other job stays due
    _settle(executor)
    assert executor.wake.is_set()               # claim it now, not at the next poll
    executor.wake.clear()
    assert executor.claim_and_submit() == 1
    _settle(executor)
    assert _action_jobs(local) == 0


def test_an_action_ending_with_nothing_left_behind_lets_the_claims_sleep(local):
    executor = local.rt.executor
    executor.workers = 4
    _start(local)
    executor.wake.clear()
    assert executor.claim_and_submit() == 2     # both taken, two slots to spare
    _settle(executor)
    assert _action_jobs(local) == 0
    assert not executor.wake.is_set()
