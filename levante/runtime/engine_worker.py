"""The engine loop: claim engine events, run the conductor, commit outcome + jobs.

A batch of events is handled in one transaction (group commit). Each
execution in the batch runs inside a savepoint, so a bug that breaks one
execution marks that execution ERROR instead of blocking the queue.
"""
from __future__ import annotations

import json
import logging
import threading
import time
from collections import OrderedDict
from typing import Callable

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


class EngineWorker:
    def __init__(self, db: Database, on_actions_queued: Callable[[], None] = lambda: None,
                 poll: float = 0.5):
        self.db = db
        self.on_actions_queued = on_actions_queued
        self.poll = poll
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
        queued = 0
        with self.db.tx() as conn:
            rows = jobs.due(conn, jobs.ENGINE, BATCH, now, skip_locked=not self.db.is_sqlite)
            if not rows:
                return 0
            groups: "OrderedDict[str, list]" = OrderedDict()
            for r in rows:
                groups.setdefault(r.key, []).append(json.loads(r.payload))
            for exec_id, events in groups.items():
                queued += self._handle(conn, exec_id, events, now)
            jobs.delete(conn, [r.id for r in rows])
        if queued:
            self.on_actions_queued()
        return len(rows)

    # --------------------------------------------------------------- one execution

    def _handle(self, conn: sa.Connection, exec_id: str, events: list[dict], now: float) -> int:
        sp = conn.begin_nested()
        try:
            queued = self.apply(conn, exec_id, lambda c, s: _dispatch(conn, c, s, events), now)
            sp.commit()
            return queued
        except Exception as e:
            sp.rollback()
            self.forget(exec_id)
            log.exception("role=engine execution=%s failed to process events %s", exec_id, events)
            conn.execute(WE.update().where(WE.c.id == exec_id, WE.c.state.in_(
                [states.RUNNING, states.PAUSED])).values(
                state=states.ERROR, state_info=f"Internal engine error: {type(e).__name__}: {e}",
                output=json.dumps({"result": f"Internal engine error: {e}"}),
                version=WE.c.version + 1, updated_at=now))
            return 0

    def apply(self, conn: sa.Connection, exec_id: str,
              action: Callable[[Conductor, ExecState], None], now: float | None = None) -> int:
        """Load execution ``exec_id``, let ``action`` drive its conductor, persist.

        Also used by the API for pause/resume/cancel so that every state change
        goes through the same conductor and the same write path.
        """
        row = state_store.lock_execution(conn, exec_id, for_update=not self.db.is_sqlite)
        if row is None:
            return 0
        with self._cache_lock:
            hit = self._cache.get(exec_id)
        if hit is not None and hit[0] == row.version:
            state = hit[1]
        else:
            state = state_store.load(conn, row)
        state_store.bind_loaders(conn, state)
        before = state.state
        meta = {"workflow_id": row.workflow_id, "workflow_namespace": row.workflow_namespace,
                "project_id": row.project_id}
        try:
            action(Conductor(state, state_store.new_id), state)
            queued = state_store.persist(conn, state, meta, now, previous_state=before)
        except BaseException:
            # The object may be half-changed while the transaction rolls back.
            self.forget(exec_id)
            raise
        if state.state != before:
            log.info("role=engine execution=%s workflow=%s state %s -> %s%s", exec_id,
                     state.workflow_name, before, state.state,
                     f" info={state.state_info!r}" if state.state_info else "")
        with self._cache_lock:
            if states.is_completed(state.state):
                self._cache.pop(exec_id, None)
            else:
                self._cache[exec_id] = (row.version + 1, state)
                self._cache.move_to_end(exec_id)
                while len(self._cache) > CACHE_SIZE:
                    self._cache.popitem(last=False)
        return queued

    def forget(self, exec_id: str) -> None:
        with self._cache_lock:
            self._cache.pop(exec_id, None)


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
