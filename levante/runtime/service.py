"""The runtime: the worker loops of one process plus the operations the API
needs that go through the engine (start, pause/resume/cancel, run an action,
complete an asynchronous action)."""
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

from levante import expr, limits, queues, triggers
from levante.config import get_settings
from levante.expr import Limits
from levante.engine.model import Caps
from levante.runtime.watchdog import Watchdog
from levante.actions.base import Outcome
from levante.actions.registry import Registry
from levante.engine import states
from levante.engine.conductor import Conductor
from levante.engine.model import ExecState
from levante.notify import Notifier
from levante.runtime import caps, definitions, specs, state_store
from levante.runtime.action_resolver import ActionResolver
from levante.runtime.dynamic_actions import DynamicActionError
from levante.runtime.engine_worker import EngineWorker
from levante.errors import BadRequest, NotFound, TooManyRequests
from levante.runtime.executor import Executor, complete_action
from levante.runtime.scheduler import Scheduler
from levante.runtime.wakeup import Wakeup
from levante.store import jobs
from levante.store.notifications import NOTIFY
from levante.store import scope
from levante.store.db import Database
from levante.store.scope import Caller
from levante.store.schema import action_executions as AE
from levante.store.schema import environments as ENV
from levante.store.schema import workflow_executions as WE

log = logging.getLogger("levante.runtime")

ROLES = ("api", "engine", "executor", "scheduler")
# The execution param mistral.executions_create sets to the execution it runs in.
STARTED_BY_PARAM = "started_by_execution_id"
# Synchronous run-action calls running at once (each holds an API thread).
SYNC_ACTIONS = 8


class Runtime:
    def __init__(self, db_url: str, roles: tuple[str, ...] = ROLES, executor_workers: int = 16,
                 notify: list[dict] | None = None):
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
        self.queues = queues.install(self.db)   # the zaqar.* actions' backend
        self.resolver = ActionResolver(self.db, self.registry)
        self.engine = EngineWorker(
            self.db, on_actions_queued=self._wake_executor, budget=self.watchdog,
            poll=settings.job_poll_interval,
            max_attempts=settings.job_max_attempts, step_timeout=settings.engine_step_timeout,
            caps=Caps(max_with_items=settings.max_with_items,
                      max_retry_count=settings.max_retry_count,
                      max_executions_per_root=settings.max_executions_per_root,
                      max_nesting_depth=settings.max_nesting_depth))
        self.executor = Executor(self.db, self.resolver, workers=executor_workers,
                                 on_engine_event=self._wake_engine, on_timer=self._wake_scheduler,
                                 poll=settings.job_poll_interval)
        self.engine.inline = self._run_inline
        self.scheduler = Scheduler(self.db, on_engine_event=self._wake_engine,
                                   max_sleep=2 * settings.job_poll_interval)
        self.notifier = Notifier(self.db, defaults=notify)   # notify jobs + live streams
        self._services: list = []     # started and stopped with the loops (add_service)
        triggers.install(self)
        if Wakeup.applies(db_url) and set(roles) & {"engine", "executor", "scheduler"}:
            # Other processes' commits wake these loops at once (LISTEN/NOTIFY).
            self.add_service(Wakeup(db_url, {
                jobs.ENGINE: self._wake_engine, jobs.ACTION: self._wake_executor,
                jobs.LOCAL: self._wake_executor, jobs.TIMER: self._wake_scheduler,
                NOTIFY: self.notifier.delivery.wake.set}))
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
        if "executor" in self.roles:
            self.notifier.start()
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
        self.notifier.stop()
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

    def _wake_engine(self) -> None:
        self.engine.wake.set()

    def _run_inline(self, a, state, meta: dict):
        """Run action request ``a`` of execution ``state`` here, as the executor would."""
        row = SimpleNamespace(id=a.id, workflow_execution_id=state.id, task_execution_id=a.task_id,
                              workflow_name=state.workflow_name, idx=a.index,
                              workflow_namespace=meta.get("workflow_namespace", ""),
                              project_id=meta.get("project_id"))
        return self.executor.run_action(a.name, a.input, row)

    def _wake_executor(self) -> None:
        self.executor.wake.set()

    def _wake_scheduler(self) -> None:
        self.scheduler.wake.set()

    # ------------------------------------------------------------ executions

    def create_execution(self, workflow_identifier: str, given_input: dict, params: dict,
                         description: str = "", namespace: str = "", caller: Caller | None = None):
        """Store a new execution of a workflow ``caller`` may run, owned by the caller's
        project, and start it; returns its row as the start left it."""
        namespace = limits.check_namespace(namespace)
        with self.db.read() as conn:
            wf = definitions.resolve_workflow(conn, workflow_identifier, namespace, caller)
            if wf is None:
                raise NotFound(f"Workflow not found [workflow_identifier={workflow_identifier}, "
                               f"namespace={namespace}]")
            source = wf.source
            env = params.get("env")
            if isinstance(env, str):
                env_row = conn.execute(sa.select(ENV.c.variables).where(
                    ENV.c.name == env, scope.visible(ENV, caller))).first()
                if env_row is None:
                    # Mistral: InputException (400), not a 404
                    raise BadRequest(f"Environment is not found: {env}")
                params = dict(params, env=json.loads(env_row.variables))
        spec = specs.workflow(source, wf.name)
        full_input = self._check_input(spec, given_input)
        try:
            definitions.check_params(spec, params)
        except ValueError as e:
            raise BadRequest(str(e)) from e
        self.notifier.check_params(params)
        params = dict(params)
        params.setdefault("namespace", namespace)
        params.setdefault("env", {})
        exec_id = params.pop("execution_id", None) or state_store.new_id()
        # Set by mistral.executions_create run from a workflow: the new execution
        # counts against the caps of the root that workflow descends from.
        started_by = params.pop(STARTED_BY_PARAM, None)
        input_text, params_text = json.dumps(full_input), json.dumps(params)
        limits.check_field_size("WorkflowExecution", "input", input_text)
        limits.check_field_size("WorkflowExecution", "params", params_text)
        now = time.time()
        values = dict(
            id=exec_id, workflow_id=wf.id, workflow_name=wf.name, workflow_namespace=namespace,
            description=description or "", state=states.IDLE, state_info=None,
            input=input_text, output="{}", params=params_text, context="{}",
            published_global="{}", definition=source, tags=wf.tags,
            project_id=caller.project_id if caller else wf.project_id,
            scope="private", created_at=now, updated_at=now, version=0)

        def check_caps(conn) -> None:
            if not isinstance(started_by, str):
                return
            # Only an execution of the caller's own project counts: a client may
            # not charge its executions to another project's tree.
            owner = conn.execute(sa.select(WE.c.project_id).where(WE.c.id == started_by)).scalar()
            if owner != values["project_id"]:
                return
            budget_root, depth = caps.lineage(conn, started_by) or (None, 0)
            if budget_root:
                refused = caps.refusal(conn, budget_root, depth,
                                       self.settings.max_executions_per_root,
                                       self.settings.max_nesting_depth)
                if refused:
                    raise BadRequest(refused)
                values.update(budget_root_id=budget_root, depth=depth)

        # The start (vars, first inputs: untrusted expressions) is computed
        # before any write transaction; one transaction then stores the
        # execution as its start left it, with the jobs it causes.
        queued, row = self.engine.create(values, spec, check_caps, now)
        log.info("role=api execution=%s workflow=%s created", exec_id, wf.name)
        if queued:
            self._wake_executor()
        if not states.is_completed(row.state):
            self._wake_engine()     # the start may have queued engine work (a sub-workflow)
        return row

    @staticmethod
    def _check_input(spec, given: dict) -> dict:
        try:
            return definitions.check_input(spec, given)
        except ValueError as e:
            raise BadRequest(str(e)) from e

    def set_execution_state(self, exec_id: str, new_state: str, info: str | None = None) -> None:
        """Pause, resume, cancel, or force SUCCESS/ERROR, through the conductor."""
        if new_state not in states.API_WORKFLOW_STATES:
            raise BadRequest(f"Cannot change state to {new_state}. Allowed states are: "
                             f"'{', '.join(states.API_WORKFLOW_STATES)}")
        with self.db.tx() as conn:
            row = conn.execute(sa.select(WE.c.state, WE.c.workflow_name).where(WE.c.id == exec_id)).first()
            if row is None:
                raise NotFound(f"WorkflowExecution not found [id={exec_id}]")
            if row.state == new_state:
                return
            if not states.can_client_move(row.state, new_state):
                raise BadRequest(f"Can't change workflow execution state from {row.state} to "
                                 f"{new_state}. [workflow={row.workflow_name}, execution_id={exec_id}]")

            def act(c: Conductor, s: ExecState) -> None:
                if new_state == states.PAUSED:
                    c.pause()
                elif new_state == states.RUNNING:
                    c.resume()
                elif new_state == states.CANCELLED:
                    c.cancel(info)
                else:
                    c.force(new_state, info)

            queued = self.engine.apply(conn, exec_id, act)
            if new_state in (states.PAUSED, states.RUNNING):
                queued += self._cascade(conn, exec_id, new_state)
        if queued:
            self._wake_executor()
        self._wake_engine()

    def _cascade(self, conn, exec_id: str, new_state: str) -> int:
        """Pause or resume the running sub-workflows of an execution, all the way down."""
        from levante.store.schema import task_executions as TE

        want = (states.RUNNING, states.IDLE) if new_state == states.PAUSED else (states.PAUSED,)
        children = conn.execute(sa.select(WE.c.id).where(
            WE.c.task_execution_id.in_(sa.select(TE.c.id).where(TE.c.workflow_execution_id == exec_id)),
            WE.c.state.in_(want))).fetchall()
        queued = 0
        for (child_id,) in children:
            queued += self.engine.apply(
                conn, child_id, lambda c, s: c.pause() if new_state == states.PAUSED else c.resume())
            queued += self._cascade(conn, child_id, new_state)
        return queued

    def update_task(self, task_id: str, new_state: str, reset: bool = True, env: dict | None = None) -> None:
        """PUT /v2/tasks/{id}: rerun a failed task (RUNNING) or skip it (SKIPPED)."""
        from levante.store.schema import task_executions as TE

        if new_state not in (states.RUNNING, states.SKIPPED):
            raise BadRequest(f"Task state can only be set to RUNNING (rerun) or SKIPPED, not {new_state}.")
        with self.db.tx() as conn:
            t = conn.execute(sa.select(TE.c.state, TE.c.name, TE.c.workflow_execution_id)
                             .where(TE.c.id == task_id)).first()
            if t is None:
                raise NotFound(f"Task execution not found [id={task_id}]")
            if t.state != states.ERROR:
                raise BadRequest(f"Only failed tasks can be rerun or skipped: task '{t.name}' "
                                 f"[id={task_id}] is in state {t.state}.")
            if new_state == states.RUNNING and not reset:
                ex_row = conn.execute(sa.select(WE.c.definition, WE.c.workflow_name)
                                      .where(WE.c.id == t.workflow_execution_id)).first()
                tspec = specs.workflow(ex_row.definition, ex_row.workflow_name).tasks.get(t.name)
                if tspec is None or tspec.with_items is None:
                    raise BadRequest("Only with-items task has the option to not reset.")
            ex = conn.execute(sa.select(WE.c.state, WE.c.params).where(WE.c.id == t.workflow_execution_id)).first()
            if ex.state in (states.SUCCESS, states.CANCELLED):
                raise BadRequest(f"Can't change task '{t.name}': its workflow execution is {ex.state}.")
            if env:
                p = json.loads(ex.params)
                p["env"] = dict(p.get("env") or {}, **env)
                conn.execute(WE.update().where(WE.c.id == t.workflow_execution_id)
                             .values(params=json.dumps(p), version=WE.c.version + 1))
            if new_state == states.RUNNING:
                act = lambda c, s: c.rerun(task_id, reset)   # noqa: E731
            else:
                act = lambda c, s: c.skip(task_id)   # noqa: E731
            queued = self.engine.apply(conn, t.workflow_execution_id, act)
            if new_state == states.RUNNING:
                self._reopen_parents(conn, t.workflow_execution_id)
        if queued:
            self._wake_executor()
        self._wake_engine()

    def _reopen_parents(self, conn, exec_id: str) -> None:
        """A rerun inside a sub-workflow makes its failed parents run again, up to the root."""
        from levante.store.schema import task_executions as TE

        while True:
            row = conn.execute(sa.select(WE.c.task_execution_id, WE.c.params).where(WE.c.id == exec_id)).first()
            if row is None or not row.task_execution_id:
                return
            parent = conn.execute(sa.select(TE.c.workflow_execution_id)
                                  .where(TE.c.id == row.task_execution_id)).scalar()
            if parent is None:
                return
            index = json.loads(row.params).get("index", 0)
            self.engine.apply(conn, parent, lambda c, s, tid=row.task_execution_id, i=index: c.reopen(tid, i))
            exec_id = parent

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
        self._wake_engine()


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
