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
import sys
import threading
import time
import uuid
from collections import OrderedDict
from typing import Any, Callable

import sqlalchemy as sa

from levante.engine import states
from levante.engine.conductor import Conductor
from levante.engine.model import ExecState, Timer
from levante.errors import Conflict
from levante.expr.budget import Abandoned
from levante.runtime import executions, state_store
from levante.runtime import inline as inline_actions
from levante.store import jobs, prepared
from levante.store.db import Database
from levante.store.schema import action_executions as AE
from levante.store.schema import workflow_executions as WE

log = logging.getLogger("levante.engine")

BATCH = 512
CACHE_SIZE = 256
# How long a claimed event may take before another engine may take it over.
LEASE = 120.0
# How many times a step is recomputed when the execution changed meanwhile.
MAX_CONFLICTS = 5
# A step running longer than this leases its events and counts an attempt; it
# stops running actions inline before that (INLINE_SHARE): the rest wait for the
# next step (runtime/inline.py).
SLOW_STEP = 0.25
# Seconds the API's start of an execution may spend on its fast path (running
# the I/O-free actions inline) before it leaves the rest to the engine.
FAST_START = 0.1
# The share of SLOW_STEP a step spends running inline actions.
INLINE_SHARE = 0.8


class _Conflict(Exception):
    """The execution changed while the step was computed."""


class _Taken(Exception):
    """The step's events were handled by another engine meanwhile."""


class EngineWorker:
    """Runs the conductor for engine events; several threads may share one worker.

    An event is handled in three steps, so that no expression is ever
    evaluated while holding a lock that other executions or the API need:

    1. pick: read the due events of ONE execution that no other thread of
       this process works on and no other process holds a lease on;
    2. compute: the conductor runs on a read snapshot (expressions evaluated
       under the runtime's budget, ``state.budget``). A step still running
       after SLOW_STEP seconds leases its events (from the watchdog thread)
       and counts one attempt; quick steps, nearly all of them, write nothing
       before they commit;
    3. commit: a short write transaction checks that the execution's
       ``version`` is still the one computed from (else back to 2) and that
       the events are still there (else another engine did them), writes
       the changes with the jobs they cause and deletes the events.

    An event attempted ``max_attempts`` times without being committed crashed
    or stalled its worker each time: it is quarantined instead of tried
    again (its execution fails, saying why).
    """

    def __init__(self, db: Database, on_actions_queued: Callable[[], None] = lambda: None,
                 poll: float = 0.5, budget: Any = None, max_attempts: int = 3,
                 caps: Any = None, step_timeout: float = 0.0, events: Any = None,
                 inline: inline_actions.Runner | None = None,
                 inline_limit: int = inline_actions.STEP_LIMIT):
        self.db = db
        self.events = events        # the runtime's EventBus: what a commit changed goes there
        # Runs std.noop/std.echo/std.fail inside the step (runtime/inline.py); None: never.
        self.inline = inline
        self.inline_limit = inline_limit
        self.fast_start = FAST_START
        self.on_actions_queued = on_actions_queued
        self.poll = poll
        self.budget = budget
        self.caps = caps
        self.max_attempts = max_attempts
        self.step_timeout = step_timeout
        self.owner = f"{socket.gethostname()}:{os.getpid()}:engine:{uuid.uuid4().hex[:6]}"
        self.wake = _WakeOne()
        self._stop = threading.Event()
        # execution id -> (version, ExecState); valid while nobody else wrote the row
        self._cache: "OrderedDict[str, tuple[int, ExecState]]" = OrderedDict()
        self._cache_lock = threading.Lock()
        # executions a thread of this process is working on
        self._busy: set[str] = set()
        self._busy_lock = threading.Lock()

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

    def _idle_wait(self) -> float:
        """Sleep until the next delayed event is due, at most ``poll`` seconds."""
        with self._busy_lock:
            busy = tuple(self._busy)
        try:
            with self.db.read() as conn:
                due = jobs.next_due(conn, jobs.ENGINE, exclude=busy)
        except Exception:
            return self.poll
        if due is None:
            return self.poll
        return max(0.0, min(self.poll, due - time.time()))

    def stop(self) -> None:
        self._stop.set()
        self.wake.set_all()

    def run_once(self) -> int:
        now = time.time()
        # One read transaction picks the events and, if nothing else is due,
        # serves the step's computation too.
        reading = self.db.read()
        conn = reading.__enter__()
        try:
            exec_id, rows = self._pick(conn, now)
        except BaseException:
            reading.__exit__(*sys.exc_info())
            raise
        if not rows:
            reading.__exit__(None, None, None)
            return 0
        try:
            spent = [r for r in rows if self.max_attempts and r.attempts >= self.max_attempts]
            if spent:
                reading.__exit__(None, None, None)
                with self.db.tx() as wconn:
                    self._quarantine(wconn, exec_id, spent, now)
                return len(rows)
            events = [json.loads(r.payload) for r in rows]
            if self.inline is not None:
                rows, events = _within_room(rows, events, self.inline_limit)
            queued = self._handle(exec_id, events, [r.id for r in rows], now,
                                  _Entered(reading, conn))
        finally:
            with self._busy_lock:
                self._busy.discard(exec_id)
        if queued:
            self.on_actions_queued()
        return len(rows)

    def _pick(self, conn: sa.Connection, now: float) -> tuple[str | None, list]:
        """The due events of the execution with the oldest one that no thread of
        this process and no other process (lease) is working on; marked busy."""
        with self._busy_lock:
            exec_id, rows, more = jobs.claim_one_key(conn, jobs.ENGINE, BATCH, now, False,
                                                     exclude=tuple(self._busy))
            if rows:
                self._busy.add(exec_id)
        if more:
            self.wake.set()     # events of other executions are due: another thread's turn
        return exec_id, rows

    def _lease_later(self, job_ids: list[int]) -> Callable[[], None]:
        """What the watchdog calls when a step has run for a while: lease its
        events and count the attempt, so that a step that keeps killing or
        stalling the process is quarantined after job_max_attempts starts."""
        def lease() -> None:
            try:
                with self.db.tx() as conn:
                    jobs.lease(conn, job_ids, self.owner, time.time() + LEASE)
            except Exception:
                log.exception("role=engine could not lease events %s", job_ids)
        return lambda: threading.Thread(target=lease, name="levante-engine-lease",
                                        daemon=True).start()

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

    def _handle(self, exec_id: str, events: list[dict], job_ids: list[int], now: float,
                reading: contextlib.AbstractContextManager | None = None) -> int:
        try:
            room = self.inline_limit if self.inline is not None else None
            return self.step(exec_id, lambda conn, c, s: _dispatch(conn, c, s, events, room), now,
                             job_ids, reading)
        except Exception as e:
            self.forget(exec_id)
            log.exception("role=engine execution=%s failed to process events %s", exec_id, events)
            self.fail(exec_id, f"Internal engine error: {type(e).__name__}: {e}", now, job_ids)
            return 0

    def fail(self, exec_id: str, info: str, now: float, job_ids: list[int] = ()) -> None:
        """Put a running execution in ERROR with ``info`` (its events deleted)."""
        self.forget(exec_id)
        with self.db.tx() as conn:
            jobs.delete(conn, list(job_ids))
            _fail_execution(conn, exec_id, info, now)

    def step(self, exec_id: str, action: Callable[[sa.Connection, Conductor, ExecState], None],
             now: float | None = None, job_ids: list[int] = (),
             reading: contextlib.AbstractContextManager | None = None) -> int:
        """Let ``action`` drive the conductor of ``exec_id`` outside any write
        transaction, then commit the outcome if the execution did not change
        meanwhile (recomputing it if it did). Deletes ``job_ids`` with the commit.
        ``reading``, if given, is the read transaction to compute in first.
        Returns how many actions were queued."""
        now = time.time() if now is None else now
        for _ in range(MAX_CONFLICTS):
            with (reading or self.db.read()) as conn:
                reading = None
                row = state_store.lock_execution(conn, exec_id, for_update=False)
                if row is None:
                    break
                state = self._state(conn, row)
                before = state.state
                started = time.monotonic()
                try:
                    with self._step_budget(self._lease_later(list(job_ids)) if job_ids else None):
                        cond = Conductor(state, state_store.new_id)
                        action(conn, cond, state)
                        # Ends before SLOW_STEP, so that a step of inline actions is not leased.
                        inline_actions.run_inline(cond, state, self.inline, _meta(row),
                                                  self.inline_limit,
                                                  deadline=started + INLINE_SHARE * SLOW_STEP)
                except BaseException:
                    self.forget(exec_id)
                    raise
            try:
                with self.db.tx() as conn:
                    version = _VERSION[not self.db.is_sqlite].scalar(conn, {"exec_id": exec_id})
                    if version != row.version:
                        raise _Conflict
                    if job_ids and jobs.delete(conn, list(job_ids)) != len(job_ids):
                        raise _Taken     # another engine handled these events meanwhile
                    runs_later = _runs_later(state)
                    queued = state_store.persist(conn, state, _meta(row), now, previous_state=before,
                                                 bus=self.events)
            except _Conflict:
                self.forget(exec_id)
                continue
            except _Taken:
                self.forget(exec_id)
                return 0
            self._remember(exec_id, row.version, before, state)
            if runs_later:
                self.wake.set()     # its next step has inline actions to run
            return queued
        else:
            # Kept changing under us: let the events be claimed again later.
            if not job_ids:     # a client's request: say so rather than drop it
                raise Conflict(f"Execution {exec_id} kept changing while the request was "
                               "computed; try again.")
            log.warning("role=engine execution=%s changed %d times while computing; retrying later",
                        exec_id, MAX_CONFLICTS)
            with self.db.tx() as conn:
                jobs.release(conn, list(job_ids), self.owner)
            return 0
        with self.db.tx() as conn:      # the execution is gone
            jobs.delete(conn, list(job_ids))
        return 0

    def create(self, values: dict, spec, check: Callable[[sa.Connection], None],
               now: float) -> tuple[int, Any]:
        """Store a new execution (``values``: its row) started by the conductor.

        The start runs before any write transaction. No read transaction is
        held while the write one commits either: on SQLite, a read still open
        in the process when a write commits made commits several times slower
        (the WAL cannot be reset). ``check(conn)`` runs in the write transaction
        before the insert and may refuse it by raising. Returns (actions
        queued, the stored row).

        The fast path: the start also runs the actions that need no I/O and
        what follows from them (runtime/inline.py), so a short workflow is
        stored already finished. It has FAST_START seconds in the caller's
        thread (the API's; ``fast_start``): a start that needs longer is given
        up and done again without them, leaving the rest to the engine as usual.
        """
        started = None
        if self.inline is not None and getattr(self.budget, "abandon_in", None) is not None:
            started = self._start(values, spec, fast=True)
        if started is None:
            started = self._start(values, spec, fast=False)
        state, info = started
        version = values["version"]
        with self.db.tx() as conn:
            check(conn)
            if info is not None:
                executions.insert(conn, values)
                _fail_execution(conn, state.id, info, now)
                row = conn.execute(sa.select(WE).where(WE.c.id == state.id)).first()
                queued = 0
            else:
                runs_later = _runs_later(state)
                queued = state_store.persist(conn, state, _meta_of(values), now,
                                             previous_state=states.IDLE, bus=self.events,
                                             new_row=values)
                row = executions.stored_row(values)     # persist left in values what it stored
        if info is None:
            self._remember(state.id, version, states.IDLE, state, logged=True)   # the creator logs it
            if runs_later:
                self.wake.set()
        return queued, row

    def _start(self, values: dict, spec, fast: bool) -> tuple[ExecState, str | None] | None:
        """Run the conductor's start of a new execution: (state, None), or (state,
        why) if it failed, or None if ``fast`` and it took longer than
        ``fast_start``. Nothing of it is in the database yet, so it reads
        nothing (but through the loaders, should the conductor ask)."""
        state = ExecState(
            id=values["id"], workflow_name=values["workflow_name"], spec=spec,
            input=json.loads(values["input"]), params=json.loads(values["params"]),
            state=states.IDLE)
        state.budget = self.budget
        state.caps = self.caps
        info = None
        state_store.bind_own_reads(self.db, state)
        try:
            with self._step_budget():
                cond = Conductor(state, state_store.new_id)
                cond.start()
                if fast:
                    # The start itself is needed either way; what follows from its
                    # inline actions has fast_start seconds, then goes to the engine.
                    # An expression still running a while after that is given up.
                    self.budget.abandon_in(2 * self.fast_start)
                    inline_actions.run_inline(cond, state, self.inline, _meta_of(values),
                                              self.inline_limit,
                                              deadline=time.monotonic() + self.fast_start)
                elif self.inline is not None:
                    inline_actions.defer_rest(state)
        except Abandoned:
            return None
        except Exception as e:      # a bug: store the execution failed, say why
            log.exception("role=engine execution=%s failed to start", state.id)
            info = f"Internal engine error: {type(e).__name__}: {e}"
        return state, info

    def _step_budget(self, on_slow: Callable[[], None] | None = None):
        step = getattr(self.budget, "step", None)
        if step is None:
            return contextlib.nullcontext()
        return step(self.step_timeout, on_slow=on_slow, slow_after=SLOW_STEP)

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

    def _remember(self, exec_id: str, version: int, before: str, state: ExecState,
                  logged: bool = False) -> None:
        if state.state != before and not logged:
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

    def forget(self, exec_id: str) -> None:
        with self._cache_lock:
            self._cache.pop(exec_id, None)


class _WakeOne:
    """Wakes ONE waiting engine thread per set(), so that an event does not
    send every thread racing for it."""

    def __init__(self):
        self._cond = threading.Condition()
        self._permits = 0

    def set(self) -> None:
        with self._cond:
            self._permits = min(self._permits + 1, 64)
            self._cond.notify()

    def set_all(self) -> None:
        with self._cond:
            self._permits = 64
            self._cond.notify_all()

    def wait(self, timeout: float) -> None:
        with self._cond:
            if not self._permits:
                self._cond.wait(timeout)
            if self._permits:
                self._permits -= 1


class _Entered:
    """An already entered context manager, to be used in one ``with`` that exits it."""

    def __init__(self, cm, value):
        self.cm = cm
        self.value = value

    def __enter__(self):
        return self.value

    def __exit__(self, *exc):
        return self.cm.__exit__(*exc)


def _meta_of(values: dict) -> dict:
    return {"workflow_id": values.get("workflow_id"),
            "workflow_namespace": values.get("workflow_namespace", ""),
            "project_id": values.get("project_id")}


def _meta(row) -> dict:
    return {"workflow_id": row.workflow_id, "workflow_namespace": row.workflow_namespace,
            "project_id": row.project_id}


_VERSION = prepared.with_lock(sa.select(WE.c.version).where(WE.c.id == sa.bindparam("exec_id")))
_ENDED_ACTIONS = prepared.Statement(sa.select(AE.c.id, AE.c.state, AE.c.output, AE.c.idx)
                                    .where(AE.c.id.in_(sa.bindparam("ids", expanding=True))))


_fail_execution = executions.fail


def _within_room(rows: list, events: list[dict], room: int) -> tuple[list, list[dict]]:
    """The events one step takes: all but the ``run`` events past the first
    ones that name ``room`` actions, which stay queued for the next steps (read
    and queued again by each step, a with-items of 100,000 items would cost
    the square of its size)."""
    kept_rows, kept, ids = [], [], 0
    for r, ev in zip(rows, events):
        if ev.get("event") == "run":
            if ids >= room:
                continue
            ids += len(ev.get("action_ids", ()))
        kept_rows.append(r)
        kept.append(ev)
    return kept_rows, kept


def _runs_later(state: ExecState) -> bool:
    """Whether the step's changes queue a ``run`` event (inline actions for a later step)."""
    return any(t.delay <= 0 and t.payload.get("event") == "run" for t in state.timers)


def _dispatch(conn: sa.Connection, cond: Conductor, state: ExecState, events: list[dict],
              room: int | None = None) -> None:
    """Hand the events of one step to the conductor. ``run`` events name stored
    actions the step is to run inline (runtime/inline.py): the first ``room`` of
    them (all if None) are read and put first to run; the rest wait for the next
    step, in new ``run`` events."""
    # The finished actions of the batch, read at once (a with-items of thousands
    # of items brings thousands of these events).
    wanted = [ev["action_id"] for ev in events if ev.get("event") == "action"]
    to_run = [i for ev in events if ev.get("event") == "run" for i in ev.get("action_ids", ())]
    done = {}
    for i in range(0, len(wanted), 500):
        done.update((r.id, r) for r in _ENDED_ACTIONS.all(conn, {"ids": wanted[i:i + 500]}))
    for ev in events:
        kind = ev.get("event")
        if kind == "action":
            row = done.get(ev["action_id"])
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
        elif kind == "run":
            pass    # below
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
    if to_run:
        now_ids, later = (to_run, []) if room is None else (to_run[:room], to_run[room:])
        state.actions_to_run[:0] = state_store.stored_actions(conn, now_ids)
        for i in range(0, len(later), inline_actions.RUN_CHUNK):
            state.timers.append(Timer(0.0, {"event": "run",
                                            "action_ids": later[i:i + inline_actions.RUN_CHUNK]}))
