"""The one writer of execution state.

Whoever creates a workflow execution or changes its state, env or version
comes through here: the API (create, pause / resume / cancel / force, env,
task rerun and skip, delete), the triggers (an execution queued in the
trigger's own transaction), sub-workflows (:func:`start_child`, in the
parent's engine step) and the engine's commits (:func:`save_step`,
:func:`fail`).

State changes are decided by the conductor, so every move is checked by
``engine/states.py``. They are computed outside any write transaction: an
operation reads a snapshot, lets the conductor evaluate what it must
(untrusted expressions, under their budget) and commits in one short
transaction only if the execution's ``version`` is still the one it read
(``EngineWorker.step``; recomputed if it changed). A slow expression holds
no lock that other executions or the API need.

The functions at module level write inside a transaction the caller holds;
:class:`Executions` (one per ``Runtime``) runs whole operations.
"""
from __future__ import annotations

import collections
import json
import logging
import time
import uuid
from typing import Any, Callable

import sqlalchemy as sa

from levante import limits
from levante.engine import states
from levante.errors import BadRequest, Forbidden, NotFound
from levante.runtime import caps, definitions, specs
from levante.store import jobs, prepared, scope
from levante.store.db import update_by_id
from levante.store.scope import Caller
from levante.store.schema import action_executions as AE
from levante.store.schema import environments as ENV
from levante.store.schema import task_executions as TE
from levante.store.schema import workflow_executions as WE

log = logging.getLogger("levante.runtime")

# The execution param mistral.executions_create sets to the execution it runs in.
STARTED_BY_PARAM = "started_by_execution_id"
# An execution's env may change (alone) only in these states, as in Mistral.
ENV_UPDATE_STATES = (states.IDLE, states.PAUSED, states.ERROR)

_dumps = json.dumps


def new_id() -> str:
    return str(uuid.uuid4())


# ---------------------------------------------------------------- rows, in the caller's transaction

_insert = prepared.Insert(WE)


def insert(conn: sa.Connection, values: dict) -> None:
    """Store a new execution row (``values``: every column)."""
    _insert(conn, values)


def _column_default(column: sa.Column) -> Any:
    """The value the database gives ``column`` when an insert leaves it out."""
    if column.server_default is None:
        return None
    text = column.server_default.arg
    if not isinstance(text, str):       # an SQL expression: say so at import, not in a wrong row
        raise TypeError(f"no Python value for the server default of {column}")
    return int(text) if isinstance(column.type, sa.Integer) else text


#: One execution row, as a SELECT of the table would return it (by attribute).
ExecutionRow = collections.namedtuple("ExecutionRow", [c.name for c in WE.c])
_ROW_DEFAULTS = {c.name: _column_default(c) for c in WE.c}


def stored_row(values: dict) -> ExecutionRow:
    """The row :func:`insert` stored from ``values``, without reading it back:
    the columns ``values`` leaves out hold their server defaults."""
    return ExecutionRow(**{**_ROW_DEFAULTS, **values})


def queue_start(conn: sa.Connection, values: dict) -> None:
    """Store a new execution and, unless it is stored in ERROR (it could not
    start: ``state_info`` says why), the engine job that starts it."""
    insert(conn, values)
    if values["state"] != states.ERROR:
        jobs.enqueue(conn, jobs.ENGINE, values["id"], {"event": "start"}, now=values["created_at"])


def save_step(conn: sa.Connection, exec_id: str, values: dict) -> None:
    """Write what an engine step changed on the execution row; its version moves on."""
    update_by_id(conn, WE, exec_id, values, bump="version")


# The states an execution may fail from, as engine/states.py's table says.
_MAY_FAIL = sorted(src for src, dst in states.WORKFLOW_TRANSITIONS.items() if states.ERROR in dst)


def fail(conn: sa.Connection, exec_id: str, info: str, now: float) -> bool:
    """Put an unfinished execution in ERROR with ``info`` (without the conductor:
    its events cannot be handled) and tell its parent task, if any; False if it
    had finished already."""
    res = conn.execute(WE.update().where(WE.c.id == exec_id, WE.c.state.in_(_MAY_FAIL)).values(
        state=states.ERROR, state_info=info, output=_dumps({"result": info}),
        version=WE.c.version + 1, updated_at=now))
    if not res.rowcount:
        return False
    parent_task = conn.execute(sa.select(WE.c.task_execution_id).where(WE.c.id == exec_id)).scalar()
    if parent_task:
        notify_parent(conn, parent_task, exec_id, now)
    return True


def notify_parent(conn: sa.Connection, task_id: str, child_id: str, now: float,
                  parent_exec_id: str | None = None) -> None:
    """Queue the event that tells the parent execution its sub-workflow ended."""
    if parent_exec_id is None:
        parent_exec_id = conn.execute(sa.select(TE.c.workflow_execution_id)
                                      .where(TE.c.id == task_id)).scalar()
    if parent_exec_id:
        jobs.enqueue(conn, jobs.ENGINE, parent_exec_id,
                     {"event": "subworkflow", "task_id": task_id, "child_id": child_id}, now=now)


def start_child(conn: sa.Connection, parent, sub, row_meta: dict, now: float) -> None:
    """Store a sub-workflow execution and queue its start, in the parent's transaction.

    ``parent`` is the parent's ExecState, ``sub`` the conductor's
    SubWorkflowRequest. A child that cannot be created (unknown workflow,
    bad input, a cap reached) is stored in ERROR with the reason, so the
    parent task fails the usual way.
    """
    namespace = row_meta.get("workflow_namespace", "")
    # As Mistral: a sub-workflow is looked up in the parent's namespace, then in
    # the global one, as the project of the execution that started it.
    wf = definitions.resolve_workflow(
        conn, sub.name, namespace, scope.acting_for(row_meta.get("project_id", scope.DEFAULT_PROJECT)),
        with_global=True)
    full_input = sub.input
    state_info = None
    budget_root, depth = caps.lineage(conn, parent.id) or (parent.root_execution_id or parent.id, 1)
    if parent.caps is not None:
        state_info = caps.refusal(conn, budget_root, depth, parent.caps.max_executions_per_root,
                                  parent.caps.max_nesting_depth)
    if state_info:
        source, wf_id, wf_name = (wf.source, wf.id, wf.name) if wf is not None else ("", None, sub.name)
    elif wf is None:
        state_info = f"Workflow not found [workflow_identifier={sub.name}, namespace={namespace}]"
        source, wf_id, wf_name = "", None, sub.name
    else:
        source, wf_id, wf_name = wf.source, wf.id, wf.name
        try:
            full_input = definitions.check_input(specs.workflow(source, wf.name), sub.input)
        except ValueError as e:
            state_info = str(e)
    queue_start(conn, dict(
        id=sub.id, workflow_id=wf_id, workflow_name=wf_name, workflow_namespace=namespace,
        description="", state=states.ERROR if state_info else states.IDLE, state_info=state_info,
        input=_dumps(full_input), output=_dumps({"result": state_info} if state_info else {}),
        params=_dumps(dict(sub.params)), context="{}", published_global="{}", definition=source,
        task_execution_id=sub.task_id, root_execution_id=parent.root_execution_id or parent.id,
        budget_root_id=budget_root, depth=depth, tags="[]",
        project_id=row_meta.get("project_id", scope.DEFAULT_PROJECT), scope="private",
        created_at=now, updated_at=now, version=0))
    if state_info:
        notify_parent(conn, sub.task_id, sub.id, now, parent_exec_id=parent.id)


# ---------------------------------------------------------------- operations

class Executions:
    """The operations on executions, for one Runtime.

    ``engine`` is the runtime's EngineWorker: its ``create`` and ``step``
    compute with the conductor outside any write transaction and commit
    with a version check. ``param_checks`` are called on the params of
    every new execution (a service refuses a malformed parameter of its
    own, such as ``notify``, with a 400).
    """

    def __init__(self, db, engine, settings, wake_engine: Callable[[], None],
                 wake_executor: Callable[[], None]):
        self.db = db
        self.engine = engine
        self.settings = settings
        self.wake_engine = wake_engine
        self.wake_executor = wake_executor
        self.param_checks: list[Callable[[dict], None]] = []

    start_child = staticmethod(start_child)
    queue_start = staticmethod(queue_start)

    # ------------------------------------------------------------ create

    def create(self, workflow_identifier: str, given_input: dict, params: dict,
               description: str = "", namespace: str = "", caller: Caller | None = None):
        """Store a new execution of a workflow ``caller`` may run, owned by the caller's
        project, and start it; returns its row as the start left it."""
        namespace = limits.check_namespace(namespace)
        with self.db.read() as conn:
            wf = definitions.resolve_workflow(conn, workflow_identifier, namespace, caller)
            if wf is None:
                raise NotFound(f"Workflow not found [workflow_identifier={workflow_identifier}, "
                               f"namespace={namespace}]")
            env = params.get("env")
            if isinstance(env, str):
                env_row = conn.execute(sa.select(ENV.c.variables).where(
                    ENV.c.name == env, scope.visible(ENV, caller))).first()
                if env_row is None:
                    # Mistral: InputException (400), not a 404
                    raise BadRequest(f"Environment is not found: {env}")
                params = dict(params, env=json.loads(env_row.variables))
        spec = specs.workflow(wf.source, wf.name)
        try:
            full_input = definitions.check_input(spec, given_input)
            definitions.check_params(spec, params)
        except ValueError as e:
            raise BadRequest(str(e)) from e
        for check in self.param_checks:
            check(params)
        params = dict(params)
        params.setdefault("namespace", namespace)
        params.setdefault("env", {})
        exec_id = params.pop("execution_id", None) or new_id()
        # Set by mistral.executions_create run from a workflow: the new execution
        # counts against the caps of the root that workflow descends from.
        started_by = params.pop(STARTED_BY_PARAM, None)
        input_text, params_text = _dumps(full_input), _dumps(params)
        limits.check_field_size("WorkflowExecution", "input", input_text)
        limits.check_field_size("WorkflowExecution", "params", params_text)
        now = time.time()
        values = dict(
            id=exec_id, workflow_id=wf.id, workflow_name=wf.name, workflow_namespace=namespace,
            description=description or "", state=states.IDLE, state_info=None,
            input=input_text, output="{}", params=params_text, context="{}",
            published_global="{}", definition=wf.source, tags=wf.tags,
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
        log.info("role=api execution=%s workflow=%s created, state %s%s", exec_id, wf.name, row.state,
                 f" info={row.state_info!r}" if row.state_info else "")
        # The start may have queued engine work too (a sub-workflow), unless it ended.
        self._woken(queued, engine=not states.is_completed(row.state))
        return row

    # ------------------------------------------------------------ state

    def change_state(self, exec_id: str, new_state: str, info: str | None = None) -> None:
        """Pause, resume, cancel, or force SUCCESS/ERROR (a client's request), through
        the conductor; pause and resume reach the sub-workflows too."""
        if new_state not in states.API_WORKFLOW_STATES:
            raise BadRequest(f"Cannot change state to {new_state}. Allowed states are: "
                             f"'{', '.join(states.API_WORKFLOW_STATES)}")
        row = self._row(exec_id, WE.c.state)
        if row.state == new_state:
            return

        def act(conn, c, s) -> None:
            if s.state == new_state:
                return
            if not states.can_client_move(s.state, new_state):
                raise BadRequest(f"Can't change workflow execution state from {s.state} to "
                                 f"{new_state}. [workflow={s.workflow_name}, execution_id={exec_id}]")
            if new_state == states.PAUSED:
                c.pause()
            elif new_state == states.RUNNING:
                c.resume()
            elif new_state == states.CANCELLED:
                c.cancel(info)
            else:
                c.force(new_state, info)

        self._step(exec_id, act)
        if new_state in (states.PAUSED, states.RUNNING):
            self._cascade(exec_id, new_state)

    def _cascade(self, exec_id: str, new_state: str) -> None:
        """Pause or resume the sub-workflows of an execution, all the way down, each
        in its own step."""
        want = (states.RUNNING, states.IDLE) if new_state == states.PAUSED else (states.PAUSED,)
        with self.db.read() as conn:
            children = [r.id for r in conn.execute(sa.select(WE.c.id).where(
                WE.c.task_execution_id.in_(sa.select(TE.c.id).where(TE.c.workflow_execution_id == exec_id)),
                WE.c.state.in_(want)))]

        def act(conn, c, s) -> None:
            if s.state not in want:         # it moved on meanwhile
                return
            c.pause() if new_state == states.PAUSED else c.resume()

        for child_id in children:
            self._step(child_id, act)
            self._cascade(child_id, new_state)

    def rerun(self, task_id: str, new_state: str, reset: bool = True, env: dict | None = None) -> None:
        """Rerun a failed task (``new_state`` RUNNING; ``reset`` False: only its failed
        items; ``env`` merged into the execution's) or skip it (SKIPPED)."""
        if new_state not in (states.RUNNING, states.SKIPPED):
            raise BadRequest(f"Task state can only be set to RUNNING (rerun) or SKIPPED, not {new_state}.")
        with self.db.read() as conn:
            t = conn.execute(sa.select(TE.c.state, TE.c.name, TE.c.workflow_execution_id)
                             .where(TE.c.id == task_id)).first()
            if t is None:
                raise NotFound(f"Task execution not found [id={task_id}]")
            ex = conn.execute(sa.select(WE.c.state, WE.c.definition, WE.c.workflow_name)
                              .where(WE.c.id == t.workflow_execution_id)).first()
        _check_rerun(t.name, task_id, t.state, ex.state)
        if new_state == states.RUNNING and not reset:
            tspec = specs.workflow(ex.definition, ex.workflow_name).tasks.get(t.name)
            if tspec is None or tspec.with_items is None:
                raise BadRequest("Only with-items task has the option to not reset.")
        exec_id = t.workflow_execution_id
        if env:
            self._merge_env(exec_id, env)

        def act(conn, c, s) -> None:
            task = s.tasks.get(task_id)
            _check_rerun(t.name, task_id, task.state if task else None, s.state)
            if new_state == states.RUNNING:
                c.rerun(task_id, reset)
            else:
                c.skip(task_id)

        if new_state == states.RUNNING:
            # Parents first: the rerun may end the sub-workflow at once (its actions
            # run inside the step), and its parent must be waiting for it by then.
            self._reopen_parents(exec_id)
        self._step(exec_id, act)

    def _reopen_parents(self, exec_id: str) -> None:
        """A rerun inside a sub-workflow makes its failed parents run again, up to the root."""
        while True:
            with self.db.read() as conn:
                row = conn.execute(sa.select(WE.c.task_execution_id, WE.c.params)
                                   .where(WE.c.id == exec_id)).first()
                if row is None or not row.task_execution_id:
                    return
                parent = conn.execute(sa.select(TE.c.workflow_execution_id)
                                      .where(TE.c.id == row.task_execution_id)).scalar()
            if parent is None:
                return
            index = json.loads(row.params).get("index", 0)
            self._step(parent, lambda conn, c, s, tid=row.task_execution_id, i=index: c.reopen(tid, i))
            exec_id = parent

    # ------------------------------------------------------------ env, description, delete

    def update_env(self, exec_id: str, env: dict) -> None:
        """Merge ``env`` into the execution's (allowed while IDLE, PAUSED or ERROR):
        the tasks it runs from now on see the new values."""
        row = self._row(exec_id, WE.c.state)
        if row.state not in ENV_UPDATE_STATES:
            raise Forbidden("Updating env to workflow execution is only permitted if it is "
                            "in IDLE, PAUSED, or ERROR state.")
        self._merge_env(exec_id, env)

    def _merge_env(self, exec_id: str, env: dict) -> None:
        with self.db.tx() as conn:
            raw = conn.execute(sa.select(WE.c.params).where(WE.c.id == exec_id)).scalar()
            if raw is None:
                raise NotFound(f"WorkflowExecution not found [id={exec_id}]")
            p = json.loads(raw)
            p["env"] = dict(p.get("env") or {}, **env)
            # The version moves on: an engine that cached the execution reloads it.
            conn.execute(WE.update().where(WE.c.id == exec_id).values(
                params=_dumps(p), version=WE.c.version + 1, updated_at=time.time()))

    def update_description(self, exec_id: str, description: str) -> None:
        with self.db.tx() as conn:
            conn.execute(WE.update().where(WE.c.id == exec_id).values(
                description=description, updated_at=time.time()))

    def delete(self, exec_id: str, force: bool = False) -> None:
        """Delete a finished execution (any, with ``force``) with its tasks, action
        executions and pending jobs."""
        with self.db.tx() as conn:
            row = conn.execute(sa.select(WE.c.state).where(WE.c.id == exec_id)).first()
            if row is None:
                raise NotFound(f"WorkflowExecution not found [id={exec_id}]")
            if not states.is_completed(row.state) and not force:
                raise Forbidden("Only completed executions can be deleted. Use --force to override "
                                f"this. Execution {exec_id} is in {row.state} state")
            action_ids = [r.id for r in conn.execute(
                sa.select(AE.c.id).where(AE.c.workflow_execution_id == exec_id))]
            if action_ids:
                conn.execute(jobs.jobs.delete().where(jobs.jobs.c.key.in_(action_ids)))
                conn.execute(AE.delete().where(AE.c.id.in_(action_ids)))
            conn.execute(TE.delete().where(TE.c.workflow_execution_id == exec_id))
            conn.execute(jobs.jobs.delete().where(jobs.jobs.c.key == exec_id))
            conn.execute(WE.delete().where(WE.c.id == exec_id))
        self.engine.forget(exec_id)

    # ------------------------------------------------------------ helpers

    def _row(self, exec_id: str, *columns):
        with self.db.read() as conn:
            row = conn.execute(sa.select(*columns).where(WE.c.id == exec_id)).first()
        if row is None:
            raise NotFound(f"WorkflowExecution not found [id={exec_id}]")
        return row

    def _step(self, exec_id: str, act: Callable[[Any, Any, Any], None]) -> None:
        self._woken(self.engine.step(exec_id, act))

    def _woken(self, queued: int, engine: bool = True) -> None:
        if queued:
            self.wake_executor()
        if engine:
            self.wake_engine()


def _check_rerun(name: str, task_id: str, task_state: str | None, exec_state: str) -> None:
    if task_state != states.ERROR:
        raise BadRequest(f"Only failed tasks can be rerun or skipped: task '{name}' "
                         f"[id={task_id}] is in state {task_state}.")
    if exec_state in (states.SUCCESS, states.CANCELLED):
        raise BadRequest(f"Can't change task '{name}': its workflow execution is {exec_state}.")
