"""The executor loop: claim action jobs, run the actions, report the outcomes.

A claimed job carries a lease that a heartbeat renews while the action runs.
If the process dies, the lease runs out and the job is claimed again: an
action that is safe to rerun runs again; any other fails with a clear
``state_info`` instead of running twice.
"""
from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable

import sqlalchemy as sa
from mistral_lib.actions import context as ml_context

from levante import limits
from levante.actions.base import Outcome
from levante.engine import states
from levante.runtime.action_resolver import ActionResolver
from levante.store import jobs, prepared
from levante.store.db import Database
from levante.store.schema import action_executions as AE

log = logging.getLogger("levante.executor")

LEASE = 30.0
# Built-in actions that do no I/O and return at once. Their jobs (kind
# ``local``) are run by the claiming thread itself, never wait for a free
# worker thread, and so are never stuck behind slow actions (std.http,
# std.javascript...) that hold every worker.
LOCAL_ACTIONS = frozenset({"std.noop", "std.echo", "std.fail", "std.async_noop", "std.sleep"})
LOCAL_BATCH = 256


class Executor:
    def __init__(self, db: Database, resolver: ActionResolver, workers: int = 16,
                 on_engine_event: Callable[[], None] = lambda: None,
                 on_timer: Callable[[], None] = lambda: None, poll: float = 0.5):
        self.db = db
        self.resolver = resolver
        self.workers = workers
        self.on_engine_event = on_engine_event
        self.on_timer = on_timer
        self.poll = poll
        # project id -> a token acting for that project (set by the composition
        # root when authentication is on): mistral.* actions call the API as
        # the project that started the execution.
        self.credentials: Callable[[str], str | None] | None = None
        self.backends: dict[str, Any] = {}     # the runtime's, handed to actions (context.backends)
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="levante-action")
        self.wake = threading.Event()
        self._stop = threading.Event()
        self._inflight: dict[int, str] = {}     # job id -> action id
        self._wanting = False       # the last claim may have left due jobs for want of a slot
        self._lock = threading.Lock()

    def run_forever(self) -> None:
        last_beat = time.time()
        while not self._stop.is_set():
            try:
                n = self.claim_and_submit()
            except Exception:
                log.exception("role=executor claim failed; retrying")
                n = 0
                time.sleep(0.2)
            if time.time() - last_beat > LEASE / 3:
                self._heartbeat()
                last_beat = time.time()
            if n == 0:
                self.wake.wait(self.poll)
                self.wake.clear()

    def stop(self) -> None:
        self._stop.set()
        self.wake.set()
        self.pool.shutdown(wait=False, cancel_futures=True)

    # ------------------------------------------------------------ claiming

    def claim_and_submit(self) -> int:
        with self._lock:
            free = self.workers - len(self._inflight)
        now = time.time()
        with self.db.read() as conn:
            due = jobs.due_kinds(conn, (jobs.LOCAL, jobs.ACTION), now)
        local = jobs.LOCAL in due
        remote = free > 0 and jobs.ACTION in due
        ran = self.run_local() if local else 0
        if not remote:
            self._wanting = jobs.ACTION in due      # no free slot: claim when one frees
            return ran
        with self.db.tx() as conn:
            rows = jobs.due_fair(conn, jobs.ACTION, free, now, skip_locked=not self.db.is_sqlite)
            self._wanting = len(rows) >= free       # the slots may have left some behind
            if not rows:
                return ran
            ids = [r.key for r in rows]
            actions = {a.id: a for a in _ACTIONS.all(conn, {"ids": ids})}
            to_run, interrupted, gone = [], [], []
            for r in rows:
                a = actions.get(r.key)
                if a is None or a.state != states.RUNNING:
                    gone.append(r.id)
                elif r.attempts > 0 and not (a.safe_rerun or self.resolver.is_safe(a.name)):
                    interrupted.append((r, a))
                else:
                    to_run.append((r, a))
            jobs.delete(conn, gone)
            jobs.lease(conn, [r.id for r, _ in to_run], self.owner, now + LEASE)
            for r, a in interrupted:
                self._finish(conn, a, Outcome(
                    "error", "The executor running this action stopped before it finished; the "
                             "action is not safe to run again, so it was not retried (mark the task "
                             "'safe-rerun: true' to allow that)."), r.id, now)
        if interrupted:
            self.on_engine_event()
        with self._lock:
            for r, a in to_run:
                self._inflight[r.id] = a.id
        for r, a in to_run:
            self.pool.submit(self._run, r.id, a)
        return ran + len(rows)

    def run_local(self) -> int:
        """Run a batch of ``local`` jobs (actions without I/O) here and now, in
        the transaction that claims them: they only compute (no I/O, no
        database), so a crash before the commit leaves the jobs to run again,
        and no lease or second transaction is needed."""
        with self.db.tx() as conn:
            now = time.time()
            rows = jobs.due_fair(conn, jobs.LOCAL, LOCAL_BATCH, now, skip_locked=not self.db.is_sqlite)
            if not rows:
                return 0
            actions = {a.id: a for a in _ACTIONS.all(conn, {"ids": [r.key for r in rows]})}
            todo = [(r, actions[r.key]) for r in rows
                    if r.key in actions and actions[r.key].state == states.RUNNING]
            done = []
            for r, a in todo:
                try:
                    done.append((r, a, self.run_action(a.name, json.loads(a.input), a)))
                except Exception as e:
                    done.append((r, a, Outcome("error", f"{type(e).__name__}: {e}")))
            now = time.time()
            ended = [(r, a, o) for r, a, o in done if o.kind in ("ok", "error")]
            for r, a, outcome in done:
                if outcome.kind not in ("ok", "error"):
                    self._finish(conn, a, outcome, r.id, now)
            complete_actions(conn, [(a, o.kind == "ok", o.value) for _, a, o in ended], now,
                             skip_locked=not self.db.is_sqlite)
            by_finish = {r.id for r, _, o in done if o.kind not in ("ok", "error")}
            jobs.delete(conn, [r.id for r in rows if r.id not in by_finish])    # ended, or cancelled meanwhile
        if any(o.kind == "delay" for _, _, o in done):
            self.on_timer()
        if any(o.kind not in ("delay", "async") for _, _, o in done):
            self.on_engine_event()
        return len(rows)

    def _heartbeat(self) -> None:
        with self._lock:
            ids = list(self._inflight)
        if ids:
            with self.db.tx() as conn:
                conn.execute(jobs.jobs.update().where(jobs.jobs.c.id.in_(ids))
                             .values(lease_until=time.time() + LEASE))

    # ------------------------------------------------------------ running

    def _run(self, job_id: int, a: Any) -> None:
        try:
            outcome = self.run_action(a.name, json.loads(a.input), a)
            with self.db.tx() as conn:
                self._finish(conn, a, outcome, job_id, time.time())
            if outcome.kind == "delay":
                self.on_timer()
            elif outcome.kind != "async":
                self.on_engine_event()
        except Exception:
            log.exception("role=executor action=%s failed to report; the lease will expire", a.id)
        finally:
            with self._lock:
                self._inflight.pop(job_id, None)
            if self._wanting:
                # Due jobs were left for want of a slot: claim them now, not at the
                # next poll. Otherwise the loop sleeps on: a new job wakes it when it
                # is committed, and a claim now would only take the interpreter from
                # the engine step this action's outcome just started.
                self.wake.set()

    def run_action(self, name: str, given: dict, a: Any = None, project_id: str | None = None,
                   log_level: int = logging.INFO) -> Outcome:
        """Run one action; its outcome is logged at ``log_level`` (the engine's
        inline actions, std.echo and the like, run thousands at a time: DEBUG)."""
        project_id = project_id or getattr(a, "project_id", None)
        security = None
        if self.credentials is not None and project_id:
            security = ml_context.SecurityContext(project_id=project_id,
                                                  auth_token=self.credentials(project_id))
        ctx = ml_context.ActionContext(security_ctx=security, execution_ctx=ml_context.ExecutionContext(
            workflow_execution_id=getattr(a, "workflow_execution_id", None),
            task_execution_id=getattr(a, "task_execution_id", None),
            action_execution_id=getattr(a, "id", None),
            workflow_name=getattr(a, "workflow_name", None),
            with_items_index=getattr(a, "idx", 0)))
        ctx.backends = self.backends
        started = time.time()
        outcome = self.resolver.run(name, given, ctx, namespace=getattr(a, "workflow_namespace", None),
                                    project_id=project_id)
        log.log(log_level, "role=executor execution=%s task=%s action=%s name=%s outcome=%s %.3fs",
                getattr(a, "workflow_execution_id", None), getattr(a, "task_execution_id", None),
                getattr(a, "id", None), name, outcome.kind, time.time() - started)
        return outcome

    def _finish(self, conn: sa.Connection, a: Any, outcome: Outcome, job_id: int, now: float) -> None:
        jobs.delete(conn, [job_id])
        if outcome.kind in ("async", "delay"):     # it ends later: accepted for now
            _ACCEPTED.rowcount(conn, {"b_id": a.id, "b_now": now})
            if outcome.kind == "delay":
                jobs.enqueue(conn, jobs.TIMER, a.id, {"result": outcome.value}, delay=outcome.delay, now=now)
            return
        complete_action(conn, a.id, a.task_execution_id, a.workflow_execution_id,
                        outcome.kind == "ok", outcome.value, now)


# Statements of every action's way, built once (see store/jobs.py).
_ACTIONS = prepared.Statement(sa.select(AE).where(AE.c.id.in_(sa.bindparam("ids", expanding=True))))
_ACCEPTED = prepared.Statement(AE.update().where(AE.c.id == sa.bindparam("b_id"))
                               .values(accepted=True, updated_at=sa.bindparam("b_now")))
_COMPLETE = prepared.Statement(
    AE.update().where(AE.c.id == sa.bindparam("b_id"), AE.c.state == states.RUNNING)
    .values(state=sa.bindparam("b_state"), accepted=True, state_info=sa.bindparam("b_info"),
            output=sa.bindparam("b_output"), updated_at=sa.bindparam("b_now")))


def ended(ok: bool, value: Any) -> tuple[bool, Any, str | None, str]:
    """How an action that ended is stored: (ok, result or error, state_info, output
    JSON). A result over execution_field_size_limit_kb fails the action with a
    message saying so."""
    output = json.dumps({"result": value})
    too_big = limits.size_problem("ActionExecution", "output", output)
    if too_big:
        ok, value, output = False, too_big, json.dumps({"result": too_big})
    return ok, value, None if ok else _text(value), output


def complete_action(conn: sa.Connection, action_id: str, task_id: str | None, exec_id: str | None,
                    ok: bool, value: Any, now: float) -> bool:
    """Store an action's outcome and, for a workflow's action, queue the engine event.

    Returns False when the action was no longer running (already completed or cancelled).
    A result over execution_field_size_limit_kb fails the action with a message saying so.
    """
    ok, _value, info, output = ended(ok, value)
    changed = _COMPLETE.rowcount(conn, {"b_id": action_id, "b_state": states.SUCCESS if ok else states.ERROR,
                                        "b_info": info, "b_output": output, "b_now": now})
    if changed == 0:
        return False
    if task_id and exec_id:
        jobs.enqueue(conn, jobs.ENGINE, exec_id,
                     {"event": "action", "task_id": task_id, "action_id": action_id}, now=now)
    return True


def complete_actions(conn: sa.Connection, done: list[tuple[Any, bool, Any]], now: float,
                     skip_locked: bool = False) -> None:
    """:func:`complete_action` for many actions (rows with id, task and
    execution ids) in a few statements: the ones still running are updated
    and their engine events queued."""
    if not done:
        return
    ids = [a.id for a, _, _ in done]
    q = sa.select(AE.c.id).where(AE.c.id.in_(ids), AE.c.state == states.RUNNING)
    running = {r.id for r in conn.execute(q.with_for_update() if skip_locked else q)}
    outcomes, events = [], []
    for a, ok, value in done:
        if a.id not in running:
            continue
        outcomes.append((a.id, ended(ok, value)))
        if a.task_execution_id and a.workflow_execution_id:
            events.append((jobs.ENGINE, a.workflow_execution_id,
                           {"event": "action", "task_id": a.task_execution_id, "action_id": a.id}, 0.0))
    if outcomes:
        store_ended(conn, outcomes, now)
        jobs.enqueue_many(conn, events, now=now)


def store_ended(conn: sa.Connection, outcomes: list[tuple[str, tuple]], now: float) -> None:
    """Store, in one statement, the outcomes of running actions: (action id,
    :func:`ended`'s tuple) each; an action no longer running is left as it is."""
    conn.execute(AE.update().where(AE.c.id == sa.bindparam("_id"), AE.c.state == states.RUNNING).values(
        state=sa.bindparam("state"), state_info=sa.bindparam("state_info"),
        output=sa.bindparam("output"), accepted=True, updated_at=now),
        [{"_id": action_id, "state": states.SUCCESS if ok else states.ERROR,
          "state_info": info, "output": output} for action_id, (ok, _value, info, output) in outcomes])


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)
