"""The runtime: the worker loops of one process, the writer of execution
state (``runtime.executions``) and the action operations the API needs (run
an action, complete an asynchronous action)."""
from __future__ import annotations

import json
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from types import SimpleNamespace
from typing import Any

import sqlalchemy as sa

from levante import expr
from levante.config import get_settings
from levante.expr import Limits
from levante.engine.model import Caps
from levante.runtime.watchdog import Watchdog
from levante.actions.base import Outcome
from levante.actions.registry import Registry
from levante.engine import states
from levante.runtime import state_store
from levante.runtime.events import EventBus
from levante.runtime.executions import Executions
from levante.runtime.action_resolver import ActionResolver
from levante.runtime.dynamic_actions import DynamicActionError
from levante.runtime.engine_worker import EngineWorker
from levante.errors import BadRequest, Forbidden, NotFound, TooManyRequests
from levante.runtime.executor import Executor, complete_action
from levante.runtime.scheduler import Scheduler
from levante.runtime.wakeup import Wakeup
from levante.store import jobs
from levante.store import scope
from levante.store.db import Database
from levante.store.scope import Caller
from levante.store.schema import action_executions as AE

log = logging.getLogger("levante.runtime")

ROLES = ("api", "engine", "executor", "scheduler")
# Synchronous run-action calls running at once (each holds an API thread).
SYNC_ACTIONS = 8


class Runtime:
    """The loops of one process over one database, and the writer of execution state.

    It knows nothing of the services beside it (api, queues, triggers,
    notify): the composition root (``levante/cli/server.py``) makes them and
    hands them in: listeners on ``events`` (this runtime's EventBus),
    ``backends`` for the actions (``context.backends``: the queues),
    ``executions.param_checks``, ``services`` for the API (the live streams'
    hub, the event triggers), and services started and stopped with the
    loops (:meth:`add_service`). Two runtimes in one process share none of it.
    """

    def __init__(self, db_url: str, roles: tuple[str, ...] = ROLES, executor_workers: int = 16,
                 events: EventBus | None = None):
        self.db = Database(db_url)
        self.db.upgrade()
        self.roles = roles
        settings = get_settings()
        self.settings = settings
        expr.configure(limit_iterators=settings.yaql_limit_iterators or None,
                       memory_quota=settings.yaql_memory_quota or None)
        # The time and size budget of every expression this process evaluates.
        self.watchdog = Watchdog(Limits(timeout=settings.expression_timeout,
                                        result_size=settings.expression_result_size))
        self.registry = Registry()
        self.events = events if events is not None else EventBus()
        self.resolver = ActionResolver(self.db, self.registry)
        self.engine = EngineWorker(
            self.db, on_actions_queued=self._wake_executor, budget=self.watchdog, events=self.events,
            poll=settings.job_poll_interval,
            max_attempts=settings.job_max_attempts, step_timeout=settings.engine_step_timeout,
            caps=Caps(max_with_items=settings.max_with_items,
                      max_retry_count=settings.max_retry_count,
                      max_executions_per_root=settings.max_executions_per_root,
                      max_nesting_depth=settings.max_nesting_depth))
        self.executor = Executor(self.db, self.resolver, workers=executor_workers,
                                 on_engine_event=self.wake_engine, on_timer=self._wake_scheduler,
                                 poll=settings.job_poll_interval)
        self.engine.inline = self._run_inline
        # What the actions of this runtime reach besides the database, by name ("queues").
        self.backends: dict[str, Any] = self.executor.backends
        # The services beside this runtime that the API reaches through it, by name
        # ("hub": the live streams' hub, "event_triggers"); the runtime never reads them.
        self.services: dict[str, Any] = {}
        self.scheduler = Scheduler(self.db, on_engine_event=self.wake_engine,
                                   max_sleep=2 * settings.job_poll_interval)
        # The one writer of execution state (the API, triggers and sub-workflows use it).
        self.executions = Executions(self.db, self.engine, settings, wake_engine=self.wake_engine,
                                     wake_executor=self._wake_executor)
        self._services: list = []     # started and stopped with the loops (add_service)
        # Job kind -> wake the loop that serves it (the composition root adds its own).
        self.wakers: dict[str, Any] = {jobs.ENGINE: self.wake_engine, jobs.ACTION: self._wake_executor,
                                       jobs.LOCAL: self._wake_executor, jobs.TIMER: self._wake_scheduler}
        if Wakeup.applies(db_url) and set(roles) & {"engine", "executor", "scheduler"}:
            # Other processes' commits wake these loops at once (LISTEN/NOTIFY).
            self.add_service(Wakeup(db_url, self.wakers))
        self._threads: list[threading.Thread] = []
        # Runs the synchronous `run-action` calls, so a timeout can be kept. Bounded:
        # past SYNC_ACTIONS running at once the API answers 429 at once rather
        # than let slow actions hold every API thread.
        self._sync_pool = ThreadPoolExecutor(max_workers=SYNC_ACTIONS,
                                             thread_name_prefix="levante-run-action")
        self._sync_slots = threading.BoundedSemaphore(SYNC_ACTIONS)

    # ------------------------------------------------------------ lifecycle

    def start(self) -> None:
        if self.db.is_sqlite and "executor" in self.roles:
            self._recover_leases()
        loops = {"engine": self.engine, "executor": self.executor, "scheduler": self.scheduler}
        for role, loop in loops.items():
            if role in self.roles:
                # Several engine threads: each works on a different execution, so a
                # slow one (up to its budget) does not hold up the others.
                count = max(1, self.settings.engine_workers) if role == "engine" else 1
                for n in range(count):
                    t = threading.Thread(target=loop.run_forever, daemon=True,
                                         name=f"levante-{role}" + (f"-{n}" if n else ""))
                    t.start()
                    self._threads.append(t)
        for service in self._services:
            service.start()
        log.info("role=runtime started roles=%s db=%s", ",".join(self.roles), _safe_url(self.db.url))

    def add_service(self, service) -> None:
        """Run ``service`` (an object with ``start()`` and ``stop()``) with this
        runtime: a service beside the loops, such as the broker listener of the
        event triggers, started by ``start()`` and stopped by ``stop()``."""
        self._services.append(service)

    def stop(self) -> None:
        for service in reversed(self._services):
            try:
                service.stop()
            except Exception:
                log.exception("role=runtime stopping %s failed", type(service).__name__)
        self._sync_pool.shutdown(wait=False, cancel_futures=True)
        for loop in (self.engine, self.executor, self.scheduler):
            loop.stop()
        for t in self._threads:
            t.join(timeout=5)
        self.watchdog.close()
        self.db.dispose()

    def _recover_leases(self) -> None:
        # On SQLite this process is the only executor and engine: leases left in
        # the table belong to a previous run that is gone, so take them over now
        # rather than waiting for them to run out. Their attempts stay counted:
        # a job that keeps killing its worker ends up quarantined.
        with self.db.tx() as conn:
            n = conn.execute(jobs.jobs.update().where(
                jobs.jobs.c.kind.in_((jobs.ACTION, jobs.LOCAL, jobs.ENGINE)),
                jobs.jobs.c.lease_until.is_not(None)).values(lease_until=0.0)).rowcount
        if n:
            log.info("role=runtime recovered %d job(s) left by a previous run", n)

    def wake_engine(self) -> None:
        self.engine.wake.set()

    def _run_inline(self, a, state, meta: dict):
        """Run action request ``a`` of execution ``state`` here, as the executor would
        (its line in the log at DEBUG: a with-items may run thousands in one step)."""
        row = SimpleNamespace(id=a.id, workflow_execution_id=state.id, task_execution_id=a.task_id,
                              workflow_name=state.workflow_name, idx=a.index,
                              workflow_namespace=meta.get("workflow_namespace", ""),
                              project_id=meta.get("project_id"))
        return self.executor.run_action(a.name, a.input, row, log_level=logging.DEBUG)

    def _wake_executor(self) -> None:
        self.executor.wake.set()

    def _wake_scheduler(self) -> None:
        self.scheduler.wake.set()

    # ------------------------------------------------------------ actions

    def run_action(self, name: str, given: dict, params: dict, caller: Caller | None = None) -> dict:
        """POST /v2/action_executions: run an action outside any workflow, as ``caller``."""
        project_id = caller.project_id if caller is not None else scope.DEFAULT_PROJECT
        if not self.resolver.exists(name, project_id=project_id):
            raise BadRequest(self.resolver.not_found(name))
        try:
            d = self.resolver.python_def(name, project_id)
        except DynamicActionError as e:
            raise BadRequest(f"Failed to load action [action_name={name}]: {e}") from e
        try:
            if d is not None:
                d.check_input(given)
            else:
                self.resolver.check_adhoc_input(name, given, project_id)
        except Exception as e:
            raise BadRequest(str(e)) from e
        save = bool(params.get("save_result"))
        run_sync = bool(params.get("run_sync"))
        timeout = _timeout_param(params)
        try:
            is_sync = d is None or d.cls(**given).is_sync()
        except Exception as e:      # a plug-in's constructor may refuse the input
            raise BadRequest(f"Failed to create action [name={name}]: {e}") from e
        if run_sync and not is_sync:
            raise BadRequest("Action does not support synchronous execution.")
        if not is_sync:
            # Like Mistral, an asynchronous action is always stored: its result
            # comes later through PUT /v2/action_executions/{id}.
            save = True
        if not save:
            outcome = self._run_now(name, given, timeout, project_id)
            return {"id": None, "state": states.SUCCESS if outcome.kind == "ok" else
                    (states.RUNNING if outcome.kind == "async" else states.ERROR),
                    "output": {"result": outcome.value} if outcome.kind != "async" else None,
                    "saved": False}
        action_id = state_store.new_id()
        now = time.time()
        with self.db.tx() as conn:
            conn.execute(AE.insert().values(
                id=action_id, name=name, state=states.RUNNING, input=json.dumps(given),
                output=None, accepted=False, idx=0, params=json.dumps(params), description="",
                safe_rerun=False, tags="[]", project_id=project_id, created_at=now, updated_at=None))
            if not run_sync:
                jobs.enqueue(conn, jobs.ACTION, action_id, {}, now=now)
                if timeout:
                    # Fails the action if it is still running then (a no-op otherwise).
                    jobs.enqueue(conn, jobs.TIMER, action_id,
                                 {"ok": False, "result": _timed_out(timeout)}, delay=timeout, now=now)
        if not run_sync:
            self._wake_executor()
            if timeout:
                self._wake_scheduler()
            return {"id": action_id, "saved": True}
        outcome = self._run_now(name, given, timeout, project_id)
        with self.db.tx() as conn:
            if outcome.kind != "async":
                complete_action(conn, action_id, None, None, outcome.kind == "ok", outcome.value, time.time())
        return {"id": action_id, "saved": True, "sync": True}

    def _run_now(self, name: str, given: dict, timeout: float | None, project_id: str | None = None) -> Outcome:
        """Run an action in this request (run-action without -s), within ``timeout``."""
        if not self._sync_slots.acquire(blocking=False):
            raise TooManyRequests(
                f"{SYNC_ACTIONS} actions are already running synchronously; try again later, or "
                "run this one asynchronously (run_sync false with save_result true)")
        future = self._sync_pool.submit(self.executor.run_action, name, given, None, project_id)
        future.add_done_callback(lambda _: self._sync_slots.release())
        try:
            outcome = future.result(timeout=timeout)
        except FutureTimeout:
            return Outcome("error", _timed_out(timeout))
        if outcome.kind == "delay":     # std.sleep and a delayed std.echo: wait here
            wait = outcome.delay if not timeout else min(outcome.delay, timeout)
            time.sleep(wait)
            if wait < outcome.delay:
                return Outcome("error", _timed_out(timeout))
            return Outcome("ok", outcome.value)
        return outcome

    def complete_action(self, action_id: str, new_state: str, output: Any) -> None:
        """PUT /v2/action_executions/{id}: a client reports an async action's result."""
        if new_state not in (states.SUCCESS, states.ERROR, states.CANCELLED):
            raise BadRequest(f"Action execution state must be SUCCESS, ERROR or CANCELLED, got {new_state}")
        with self.db.tx() as conn:
            a = conn.execute(sa.select(AE).where(AE.c.id == action_id)).first()
            if a is None:
                raise NotFound(f"ActionExecution not found [id={action_id}]")
            if states.is_completed(a.state):
                raise BadRequest(f"Action execution {action_id} is already {a.state}.")
            # Like Mistral, the output sent is the result as a whole (no unwrapping of "result").
            value = output
            if new_state == states.ERROR and not output:
                value = "Unknown error"
            jobs.delete_by_key(conn, jobs.TIMER, action_id)
            jobs.delete_by_key(conn, jobs.ACTION, action_id)
            jobs.delete_by_key(conn, jobs.LOCAL, action_id)
            complete_action(conn, action_id, a.task_execution_id, a.workflow_execution_id,
                            new_state == states.SUCCESS, value, time.time())
        self.wake_engine()


    def delete_action(self, action_id: str) -> None:
        """DELETE /v2/action_executions/{id}: an ad-hoc action execution that ended."""
        with self.db.tx() as conn:
            row = conn.execute(sa.select(AE.c.task_execution_id, AE.c.state)
                               .where(AE.c.id == action_id)).first()
            if row is None:
                raise NotFound(f"ActionExecution not found [id={action_id}]")
            if row.task_execution_id:
                raise Forbidden("Only ad-hoc action execution can be deleted.")
            if not states.is_completed(row.state):
                raise Forbidden("Only completed action execution can be deleted.")
            conn.execute(jobs.jobs.delete().where(jobs.jobs.c.key == action_id))
            conn.execute(AE.delete().where(AE.c.id == action_id))


def _timeout_param(params: dict) -> float | None:
    value = params.get("timeout")
    if value in (None, "", 0):
        return None
    try:
        timeout = float(value)
    except (TypeError, ValueError):
        raise BadRequest(f"Parameter 'timeout' must be a number of seconds, got {value!r}")
    if timeout <= 0:
        raise BadRequest(f"Parameter 'timeout' must be positive, got {value!r}")
    return timeout


def _timed_out(timeout: float | None) -> str:
    shown = int(timeout) if timeout and float(timeout).is_integer() else timeout
    return f"Action timed out [timeout(s)={shown}]."


def _safe_url(url: str) -> str:
    if "@" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url
