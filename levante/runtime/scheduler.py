"""The scheduler loop: fire due timers (sleeping actions, delayed echo, ...)
and run the steps services add (the cron triggers' step, given by the
composition root).

Timers are rows of the jobs table, so thousands of waiting actions cost no
threads and survive restarts: a timer due while the server was down fires as
soon as it is back.
"""
from __future__ import annotations

import json
import logging
import threading
import time
from typing import Callable

import sqlalchemy as sa

from levante.runtime.executor import complete_action
from levante.store import jobs, prepared
from levante.store.db import Database
from levante.store.schema import action_executions as AE

log = logging.getLogger("levante.scheduler")

# The task and execution of a timer's action (built once: asked for every timer).
_OWNERS = prepared.Statement(sa.select(AE.c.task_execution_id, AE.c.workflow_execution_id)
                             .where(AE.c.id == sa.bindparam("id")))

# A step services add: called with now, returns (how many it fired, when to call it again or None).
Step = Callable[[float], "tuple[int, float | None]"]


class Scheduler:
    def __init__(self, db: Database, on_engine_event: Callable[[], None] = lambda: None,
                 max_sleep: float = 1.0):
        self.db = db
        self.on_engine_event = on_engine_event
        self.max_sleep = max_sleep
        self.wake = threading.Event()
        self._stop = threading.Event()
        self._steps: list[Step] = []

    def add_step(self, step: Step) -> None:
        """Run ``step`` on every tick too (e.g. firing due cron triggers)."""
        self._steps.append(step)

    def run_forever(self) -> None:
        while not self._stop.is_set():
            try:
                fired, next_due = self.run_once()
            except Exception:
                log.exception("role=scheduler tick failed; retrying")
                fired, next_due = 0, None
            if fired:
                continue
            sleep = self.max_sleep
            if next_due is not None:
                sleep = max(0.0, min(sleep, next_due - time.time()))
            self.wake.wait(sleep)
            self.wake.clear()

    def stop(self) -> None:
        self._stop.set()
        self.wake.set()

    def run_once(self) -> tuple[int, float | None]:
        now = time.time()
        with self.db.tx() as conn:
            rows = jobs.due(conn, jobs.TIMER, 256, now, skip_locked=not self.db.is_sqlite)
            fired = 0
            for r in rows:
                a = _OWNERS.first(conn, {"id": r.key})
                if a is not None:
                    payload = json.loads(r.payload)
                    if complete_action(conn, r.key, a.task_execution_id, a.workflow_execution_id,
                                       payload.get("ok", True), payload.get("result"), now):
                        fired += 1
            jobs.delete(conn, [r.id for r in rows])
            next_due = jobs.next_due(conn, jobs.TIMER)
        stepped = 0
        for step in self._steps:
            n, step_next = step(now)
            stepped += n
            if step_next is not None:
                next_due = step_next if next_due is None else min(next_due, step_next)
        if fired or stepped:
            self.on_engine_event()
        return len(rows) + stepped, next_due
