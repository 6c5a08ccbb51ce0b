"""The engine loop: claim an execution's events, run the conductor, commit
the outcome with the jobs it causes (see :class:`EngineWorker`).

A bug that breaks one execution marks that execution ERROR instead of
blocking the queue.
"""
from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import threading
import time
import uuid
from collections import OrderedDict
from typing import Any, Callable

import sqlalchemy as sa

from levante.engine import states
from levante.engine.conductor import Conductor
from levante.engine.model import ExecState
from levante.runtime import state_store
from levante.store import jobs
from levante.store.db import Database
from levante.store.schema import action_executions as AE
from levante.store.schema import workflow_executions as WE

log = logging.getLogger("levante.engine")

BATCH = 128
CACHE_SIZE = 256
# How long a claimed event may take before another engine may take it over.
LEASE = 120.0
# How many times a step is recomputed when the execution changed meanwhile.
MAX_CONFLICTS = 5


class EngineWorker:
    """Runs the conductor for engine events; several threads may share one worker.

    An event is handled in three steps, so that no expression is ever
    evaluated while holding a lock that other executions or the API need:

    1. claim: a short write transaction leases the due events of ONE execution
       that no other thread holds (``attempts`` counts the claims);
    2. compute: the conductor runs on a read snapshot (expressions evaluated
       under the runtime's budget, ``state.budget``);
    3. commit: a short write transaction checks that the execution's
       ``version`` is still the one computed from (else back to 2), writes
       the changes with the jobs they cause and deletes the events.

    An event claimed ``max_attempts`` times without being committed crashed
    or stalled its worker each time: it is quarantined instead of claimed
    again (its execution fails, saying why).
    """

    def __init__(self, db: Database, on_actions_queued: Callable[[], None] = lambda: None,
                 poll: float = 0.5, budget: Any = None, max_attempts: int = 3,
                 caps: Any = None, step_timeout: float = 0.0):
        self.db = db
        self.on_actions_queued = on_actions_queued
        self.poll = poll
        self.budget = budget
        self.caps = caps
        self.max_attempts = max_attempts
        self.step_timeout = step_timeout
        self.owner = f"{socket.gethostname()}:{os.getpid()}:engine:{uuid.uuid4().hex[:6]}"
        self.wake = threading.Event()
        self._stop = threading.Event()
        # execution id -> (version, ExecState); valid while nobody else wrote the row
        self._cache: "OrderedDict[str, tuple[int, ExecState]]" = OrderedDict()
        self._cache_lock = threading.Lock()

    # --------------------------------------------------------------- loop

    def run_forever(self) -> None:
        while not self._stop.is_set():
            try:
                n = self.run_once()
            except Exception:   # keep the loop alive; the jobs stay in the table
                log.exception("role=engine batch failed; retrying")
                with self._cache_lock:
                    self._cache.clear()
                n = 0
                time.sleep(0.2)
            if n == 0:
                self.wake.wait(self._idle_wait())
                self.wake.clear()

    def _idle_wait(self) -> float:
        """Sleep until the next delayed event is due, at most ``poll`` seconds."""
        try:
            with self.db.read() as conn:
                due = jobs.next_due(conn, jobs.ENGINE)
        except Exception:
            return self.poll
        if due is None:
            return self.poll
        return max(0.0, min(self.poll, due - time.time()))

    def stop(self) -> None:
        self._stop.set()
        self.wake.set()

    def run_once(self) -> int:
        now = time.time()
        exec_id, rows = self._claim(now)
        if not rows:
            return 0
        events = [json.loads(r.payload) for r in rows]
        queued = self._handle(exec_id, events, [r.id for r in rows], now)
        if queued:
            self.on_actions_queued()
        return len(rows)

    def _claim(self, now: float) -> tuple[str | None, list]:
        """Lease the due events of the execution with the oldest one (see the class doc)."""
        skip = not self.db.is_sqlite
        with self.db.tx() as conn:
            while True:
                exec_id, rows = jobs.claim_one_key(conn, jobs.ENGINE, BATCH, now, skip)
                if not rows:
                    return None, []
                spent = [r for r in rows if self.max_attempts and r.attempts >= self.max_attempts]
                if not spent:
                    jobs.lease(conn, [r.id for r in rows], self.owner, now + LEASE)
                    return exec_id, rows
                self._quarantine(conn, exec_id, spent, now)

    def _quarantine(self, conn: sa.Connection, exec_id: str, spent: list, now: float) -> None:
        kinds = sorted({json.loads(r.payload).get("event", "?") for r in spent})
        info = (f"Execution quarantined: handling its {', '.join(kinds)} event was interrupted "
                f"{spent[0].attempts} times (the engine crashed, was killed or stalled while "
                f"working on it), so it is not tried again (setting job_max_attempts="
                f"{self.max_attempts}).")
        log.error("role=engine execution=%s %s", exec_id, info)
        jobs.delete_by_key(conn, jobs.ENGINE, exec_id)
        self.forget(exec_id)
        _fail_execution(conn, exec_id, info, now)

    # --------------------------------------------------------------- one execution

    def _handle(self, exec_id: str, events: list[dict], job_ids: list[int], now: float) -> int:
        try:
            return self.step(exec_id, lambda conn, c, s: _dispatch(conn, c, s, events), now,
                             job_ids)
        except Exception as e:
            self.forget(exec_id)
            log.exception("role=engine execution=%s failed to process events %s", exec_id, events)
            with self.db.tx() as conn:
                jobs.delete(conn, job_ids)
                _fail_execution(conn, exec_id, f"Internal engine error: {type(e).__name__}: {e}", now)
            return 0

    def step(self, exec_id: str, action: Callable[[sa.Connection, Conductor, ExecState], None],
             now: float | None = None, job_ids: list[int] = ()) -> int:
        """Let ``action`` drive the conductor of ``exec_id`` outside any write
        transaction, then commit the outcome if the execution did not change
        meanwhile (recomputing it if it did). Deletes ``job_ids`` with the commit.
        Returns how many actions were queued."""
        now = time.time() if now is None else now
        for _ in range(MAX_CONFLICTS):
            with self.db.read() as conn:
                row = state_store.lock_execution(conn, exec_id, for_update=False)
                if row is None:
                    break
                state = self._state(conn, row)
                before = state.state
                try:
                    with self._step_budget():
                        action(conn, Conductor(state, state_store.new_id), state)
                except BaseException:
                    self.forget(exec_id)
                    raise
            with self.db.tx() as conn:
                version = conn.execute(_version_query(exec_id, not self.db.is_sqlite)).scalar()
                if version != row.version:
                    self.forget(exec_id)
                    continue
                queued = state_store.persist(conn, state, _meta(row), now, previous_state=before)
                jobs.delete(conn, list(job_ids))
            self._remember(exec_id, row.version, before, state)
            return queued
        else:
            # Kept changing under us: let the events be claimed again later.
            log.warning("role=engine execution=%s changed %d times while computing; retrying later",
                        exec_id, MAX_CONFLICTS)
            with self.db.tx() as conn:
                jobs.release(conn, list(job_ids))
            return 0
        with self.db.tx() as conn:      # the execution is gone
            jobs.delete(conn, list(job_ids))
        return 0

    def _step_budget(self):
        step = getattr(self.budget, "step", None)
        return step(self.step_timeout) if step is not None else contextlib.nullcontext()

    def _state(self, conn: sa.Connection, row) -> ExecState:
        # Taken out of the cache while in use: two threads never share a state.
        with self._cache_lock:
            hit = self._cache.pop(row.id, None)
        if hit is not None and hit[0] == row.version:
            state = hit[1]
        else:
            state = state_store.load(conn, row)
        state_store.bind_loaders(conn, state)
        state.budget = self.budget
        state.caps = self.caps
        return state

    def _remember(self, exec_id: str, version: int, before: str, state: ExecState) -> None:
        if state.state != before:
            log.info("role=engine execution=%s workflow=%s state %s -> %s%s", exec_id,
                     state.workflow_name, before, state.state,
                     f" info={state.state_info!r}" if state.state_info else "")
        with self._cache_lock:
            if states.is_completed(state.state):
                self._cache.pop(exec_id, None)
            else:
                self._cache[exec_id] = (version + 1, state)
                self._cache.move_to_end(exec_id)
                while len(self._cache) > CACHE_SIZE:
                    self._cache.popitem(last=False)

    def apply(self, conn: sa.Connection, exec_id: str,
              action: Callable[[Conductor, ExecState], None], now: float | None = None) -> int:
        """Load execution ``exec_id``, let ``action`` drive its conductor, persist,
        all in the caller's write transaction ``conn``.

        Used by the API for pause/resume/cancel/rerun, which change several
        executions in one transaction. The engine's own work goes through
        :meth:`step`, which evaluates nothing inside a write transaction.
        """
        row = state_store.lock_execution(conn, exec_id, for_update=not self.db.is_sqlite)
        if row is None:
            return 0
        state = self._state(conn, row)
        before = state.state
        try:
            with self._step_budget():
                action(Conductor(state, state_store.new_id), state)
            queued = state_store.persist(conn, state, _meta(row), now, previous_state=before)
        except BaseException:
            # The object may be half-changed while the transaction rolls back.
            self.forget(exec_id)
            raise
        self._remember(exec_id, row.version, before, state)
        return queued

    def forget(self, exec_id: str) -> None:
        with self._cache_lock:
            self._cache.pop(exec_id, None)


def _meta(row) -> dict:
    return {"workflow_id": row.workflow_id, "workflow_namespace": row.workflow_namespace,
            "project_id": row.project_id}


def _version_query(exec_id: str, for_update: bool):
    q = sa.select(WE.c.version).where(WE.c.id == exec_id)
    return q.with_for_update() if for_update else q


def _fail_execution(conn: sa.Connection, exec_id: str, info: str, now: float) -> None:
    """Put a running execution in ERROR with ``info``; tell its parent task, if any."""
    res = conn.execute(WE.update().where(WE.c.id == exec_id, WE.c.state.in_(
        [states.RUNNING, states.PAUSED, states.IDLE])).values(
        state=states.ERROR, state_info=info, output=json.dumps({"result": info}),
        version=WE.c.version + 1, updated_at=now))
    if res.rowcount:
        parent_task = conn.execute(sa.select(WE.c.task_execution_id)
                                   .where(WE.c.id == exec_id)).scalar()
        if parent_task:
            state_store.notify_parent(conn, parent_task, exec_id, now)


def _dispatch(conn: sa.Connection, cond: Conductor, state: ExecState, events: list[dict]) -> None:
    for ev in events:
        kind = ev.get("event")
        if kind == "action":
            row = conn.execute(sa.select(AE.c.state, AE.c.output, AE.c.idx)
                               .where(AE.c.id == ev["action_id"])).first()
            if row is None or not states.is_completed(row.state):
                continue
            result = json.loads(row.output).get("result") if row.output else None
            log.debug("role=engine execution=%s task=%s action=%s %s", state.id, ev["task_id"],
                      ev["action_id"], row.state)
            cond.on_action_complete(ev["task_id"], ev["action_id"], row.idx,
                                    row.state == states.SUCCESS, result)
        elif kind == "subworkflow":
            row = conn.execute(sa.select(WE.c.state, WE.c.output, WE.c.state_info, WE.c.params)
                               .where(WE.c.id == ev["child_id"])).first()
            if row is None or not states.is_completed(row.state):
                continue
            ok = row.state == states.SUCCESS
            output = json.loads(row.output) if row.output else {}
            index = json.loads(row.params).get("index", 0)
            info = row.state_info or (f"Sub-workflow {ev['child_id']} ended in state {row.state}.")
            # As in Mistral, the task's result is the child's output, failed or not.
            cond.on_subworkflow_complete(ev["task_id"], ev["child_id"], index, ok, output,
                                         None if ok else info)
        elif kind == "timer":
            cond.on_timer(ev)
        elif kind == "start":
            cond.start()
        elif kind == "resume":
            cond.resume()
        elif kind == "cancel":
            cond.cancel(ev.get("info"))
        else:
            log.warning("role=engine execution=%s unknown event %r", state.id, ev)
