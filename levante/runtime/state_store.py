"""Load an execution into an :class:`ExecState` and write back what changed.

Everything happens inside the caller's transaction, so a state change and the
jobs it causes are committed together or not at all.
"""
from __future__ import annotations

import json
import time

import sqlalchemy as sa

from levante import limits
from levante.engine import states
from levante.engine.model import NOT_LOADED, ActionRequest, Changes, ExecState, TaskEx
from levante.engine.task_runtime import TaskRuntime
from levante.runtime import events, executions, specs
from levante.runtime.executor import LOCAL_ACTIONS, store_ended
from levante.store import jobs, prepared
from levante.store.db import update_by_id
from levante.store.schema import CREATION_TICK, DEFAULT_PROJECT
from levante.store.schema import action_executions as AE
from levante.store.schema import task_executions as TE
from levante.store.schema import workflow_executions as WE

_insert_tasks = prepared.Insert(TE)
_insert_actions = prepared.Insert(AE)

_dumps = json.dumps


new_id = executions.new_id


_EXECUTION = prepared.with_lock(sa.select(WE).where(WE.c.id == sa.bindparam("exec_id")))


def lock_execution(conn: sa.Connection, exec_id: str, for_update: bool):
    return _EXECUTION[for_update].first(conn, {"exec_id": exec_id})


def load(conn: sa.Connection, row) -> ExecState:
    """Build the in-memory state of execution ``row`` (task results stay lazy)."""
    spec = specs.workflow(row.definition, row.workflow_name)
    state = ExecState(
        id=row.id, workflow_name=row.workflow_name, spec=spec,
        input=json.loads(row.input), params=json.loads(row.params),
        context=json.loads(row.context), state=row.state, state_info=row.state_info,
        output=json.loads(row.output) if row.output else None,
        published_global=json.loads(row.published_global),
        root_execution_id=row.root_execution_id, task_execution_id=row.task_execution_id,
    )
    q = (sa.select(TE.c.id, TE.c.name, TE.c.state, TE.c.state_info, TE.c.published, TE.c.runtime,
                   TE.c.in_tasks, TE.c.type, TE.c.processed, TE.c.seq)
         .where(TE.c.workflow_execution_id == row.id).order_by(TE.c.seq))
    for t in conn.execute(q):
        state.tasks[t.id] = TaskEx(
            id=t.id, name=t.name, state=t.state, state_info=t.state_info,
            published=json.loads(t.published), runtime=TaskRuntime.from_json(json.loads(t.runtime)),
            in_tasks=json.loads(t.in_tasks), type=t.type, processed=bool(t.processed),
            seq=t.seq, result=NOT_LOADED, stored_state=t.state)
    return state


def stored_actions(conn: sa.Connection, ids: list[str]) -> list[ActionRequest]:
    """The actions among ``ids`` that are stored and still RUNNING, as requests to
    run (``stored``), in the order of ``ids``."""
    found = {}
    for i in range(0, len(ids), 500):
        for r in conn.execute(sa.select(AE.c.id, AE.c.name, AE.c.input, AE.c.task_execution_id,
                                        AE.c.task_name, AE.c.idx, AE.c.safe_rerun, AE.c.params)
                              .where(AE.c.id.in_(ids[i:i + 500]), AE.c.state == states.RUNNING)):
            found[r.id] = ActionRequest(
                id=r.id, task_id=r.task_execution_id, task_name=r.task_name, name=r.name,
                input=json.loads(r.input), index=r.idx, safe_rerun=bool(r.safe_rerun),
                timeout=json.loads(r.params).get("timeout") if r.params else None,
                stored=True, input_text=r.input)
    return [found[i] for i in ids if i in found]


def _load_result(conn: sa.Connection, task_id: str):
    raw = conn.execute(sa.select(TE.c.result).where(TE.c.id == task_id)).scalar()
    return json.loads(raw) if raw else None


def _load_item_results(conn: sa.Connection, task_id: str) -> list:
    # Oldest first, so a rerun's result for an index replaces the earlier one.
    out = []
    for r in conn.execute(sa.select(AE.c.idx, AE.c.state, AE.c.output, AE.c.id, AE.c.created_at)
                          .where(AE.c.task_execution_id == task_id)):
        res = json.loads(r.output).get("result") if r.output else None
        out.append((r.idx, r.state == states.SUCCESS, res, r.id, r.created_at))
    for r in conn.execute(sa.select(WE.c.id, WE.c.state, WE.c.output, WE.c.params, WE.c.created_at)
                          .where(WE.c.task_execution_id == task_id)):
        idx = json.loads(r.params).get("index", 0)
        out.append((idx, r.state == states.SUCCESS, json.loads(r.output), r.id, r.created_at))
    out.sort(key=lambda r: r[4])
    return out


def bind_loaders(conn: sa.Connection, state: ExecState) -> None:
    """Give the state the lazy loaders it needs for this transaction."""
    state.load_result = lambda task_id: _load_result(conn, task_id)
    state.load_item_results = lambda task_id: _load_item_results(conn, task_id)


def bind_own_reads(db, state: ExecState) -> None:
    """Loaders that each read in a transaction of their own: for a new execution,
    whose results are all in memory, so that its start opens no transaction
    for reads it almost never makes."""

    def read(load):
        def loader(task_id: str):
            with db.read() as conn:
                return load(conn, task_id)
        return loader

    state.load_result = read(_load_result)
    state.load_item_results = read(_load_item_results)


def persist(conn: sa.Connection, state: ExecState, row_meta: dict, now: float | None = None,
            previous_state: str | None = None, bus: events.EventBus | None = None,
            new_row: dict | None = None) -> int:
    """Write the state's pending changes; returns how many action jobs were queued.

    ``row_meta`` carries the execution's static columns (workflow id,
    namespace, project) copied onto new task and action rows. The events
    of the changes go to ``bus`` (the runtime's), in this transaction.
    ``new_row``: the execution is new, and this is its row as created; it is
    stored as the step left it (one insert rather than an insert and an update),
    and ``new_row`` is updated to the values stored.
    """
    now = time.time() if now is None else now
    text: dict[int, str] = {}      # JSON text of published variables and inputs, made once
    changes = _within_size_limit(state, state.take_changes(), text)
    tasks, exec_dirty, actions, cancel_of = (changes.tasks, changes.exec_dirty, changes.actions,
                                             changes.cancel_actions_of)
    if new_row is not None:
        new_row.update(_exec_values(state, exec_dirty, now), version=new_row["version"] + 1)
        executions.insert(conn, new_row)
    new_rows = []
    for t in tasks:
        done = states.is_completed(t.state)
        values = dict(state=t.state, state_info=t.state_info,
                      published=text.get(id(t.published)) or _dumps(t.published),
                      runtime=_dumps(t.runtime.to_json()), in_tasks=_dumps(t.in_tasks),
                      processed=t.processed, updated_at=now)
        if t.result is not NOT_LOADED and (done or t.new or t.runtime.pending_outcome is not None):
            values["result"] = _dumps(t.result) if t.result is not None else None
        if done:
            values["finished_at"] = now
        elif t.stored_state is not None and states.is_completed(t.stored_state):
            values["finished_at"] = None        # running again (rerun)
        if t.new:
            values.update(id=t.id, workflow_execution_id=state.id, name=t.name,
                          workflow_name=state.workflow_name, workflow_id=row_meta.get("workflow_id"),
                          workflow_namespace=row_meta.get("workflow_namespace", ""),
                          project_id=row_meta.get("project_id", "<default-project>"),
                          type=t.type, seq=t.seq, created_at=now + len(new_rows) * CREATION_TICK,
                          started_at=now if t.state != states.WAITING else None)
            values.setdefault("result", None)
            new_rows.append(values)
            t.new = False
        else:
            if t.state == states.RUNNING:
                values["started_at"] = sa.func.coalesce(TE.c.started_at, now)
            update_by_id(conn, TE, t.id, values)
    if new_rows:
        keys = set().union(*(r.keys() for r in new_rows))
        for r in new_rows:
            for k in keys:
                r.setdefault(k, None)
        _insert_tasks(conn, new_rows)
    new_actions = [a for a in actions if not a.stored]
    if new_actions:
        _insert_actions(conn, [dict(
            id=a.id, name=a.name, task_execution_id=a.task_id, workflow_execution_id=state.id,
            workflow_name=state.workflow_name, workflow_namespace=row_meta.get("workflow_namespace", ""),
            task_name=a.task_name, state=states.RUNNING, state_info=None,
            input=_input_text(a, text), output=None, accepted=False, idx=a.index,
            params=_dumps({"timeout": a.timeout} if a.timeout else {}), description="",
            safe_rerun=a.safe_rerun, project_id=row_meta.get("project_id", "<default-project>"),
            tags="[]", scope="private", created_at=now + i * CREATION_TICK, updated_at=None)
            for i, a in enumerate(new_actions)])
    # Deferred ones are run by a later engine step (its ``run`` event is among the timers).
    executor_jobs = [(jobs.LOCAL if a.name in LOCAL_ACTIONS else jobs.ACTION, a.id, {}, 0.0)
                     for a in actions if not a.deferred]
    jobs.enqueue_many(conn, executor_jobs, now=now)
    if changes.done_actions:
        fresh = [a for a in changes.done_actions if not a.stored]
        if fresh:
            _insert_actions(conn, [_done_row(a, state, row_meta, now + i * CREATION_TICK, now, text)
                                       for i, a in enumerate(fresh)])
        ran = [(a.id, a.outcome) for a in changes.done_actions if a.stored]
        if ran:
            store_ended(conn, ran, now)
    if changes.timers:
        jobs.enqueue_many(conn, [(jobs.ENGINE, state.id, tm.payload, tm.delay) for tm in changes.timers],
                          now=now)
    for i, sub in enumerate(changes.subworkflows):
        executions.start_child(conn, state, sub, row_meta, now + i * CREATION_TICK)
    if cancel_of:
        running = conn.execute(sa.select(AE.c.id, AE.c.task_execution_id).where(
            AE.c.task_execution_id.in_(cancel_of), AE.c.state == states.RUNNING)).fetchall()
        ids = [r.id for r in running]
        failed = changes.fail_actions_of
        for r in running:
            if r.task_execution_id in failed:
                msg = failed[r.task_execution_id]
                conn.execute(AE.update().where(AE.c.id == r.id).values(
                    state=states.ERROR, state_info=msg, output=_dumps({"result": msg}), updated_at=now))
        if ids:
            conn.execute(AE.update().where(AE.c.id.in_(ids), AE.c.state == states.RUNNING)
                         .values(state=states.CANCELLED, updated_at=now))
            conn.execute(jobs.jobs.delete().where(jobs.jobs.c.key.in_(ids),
                                                  jobs.jobs.c.kind.in_((jobs.ACTION, jobs.LOCAL, jobs.TIMER))))
        # Sub-workflows of cancelled tasks are cancelled too (each by its own engine event).
        children = conn.execute(sa.select(WE.c.id).where(
            WE.c.task_execution_id.in_(cancel_of),
            WE.c.state.in_([states.RUNNING, states.PAUSED]))).fetchall()
        jobs.enqueue_many(conn, [(jobs.ENGINE, c.id, {"event": "cancel"}, 0.0) for c in children], now=now)
    if changes.drop_outputs_of:
        conn.execute(AE.update().where(AE.c.task_execution_id.in_(changes.drop_outputs_of))
                     .values(output="{}"))
    _emit_events(conn, bus, state, tasks, previous_state, now)
    if exec_dirty and states.is_completed(state.state) and state.task_execution_id:
        executions.notify_parent(conn, state.task_execution_id, state.id, now)
    if new_row is None:
        executions.save_step(conn, state.id, _exec_values(state, exec_dirty, now))
    return len(executor_jobs)


def _exec_values(state: ExecState, exec_dirty: bool, now: float) -> dict:
    """What a step writes on the execution's row."""
    values = dict(updated_at=now)
    if exec_dirty:
        values.update(state=state.state, state_info=state.state_info,
                      output=_dumps(state.output if state.output is not None else {}),
                      context=_dumps(state.context), published_global=_dumps(state.published_global))
    return values


def _input_text(a, text: dict[int, str]) -> str:
    return a.input_text or text.get(id(a.input)) or _dumps(a.input)


# How an action made already finished is stored (std.noop of a task without an action).
_NOOP_OUTCOME = (True, None, None, _dumps({"result": None}))


def _done_row(a, state: ExecState, row_meta: dict, created: float, now: float,
              text: dict[int, str]) -> dict:
    ok, _value, info, output = a.outcome if a.outcome is not None else _NOOP_OUTCOME
    return dict(
        id=a.id, name=a.name, task_execution_id=a.task_id, workflow_execution_id=state.id,
        workflow_name=state.workflow_name, workflow_namespace=row_meta.get("workflow_namespace", ""),
        task_name=a.task_name, state=states.SUCCESS if ok else states.ERROR, state_info=info,
        input=_input_text(a, text), output=output, accepted=True, idx=a.index,
        params=_dumps({"timeout": a.timeout} if a.timeout else {}), description="",
        safe_rerun=a.safe_rerun, project_id=row_meta.get("project_id", DEFAULT_PROJECT),
        tags="[]", scope="private", created_at=created, updated_at=now)


def _within_size_limit(state: ExecState, changes: Changes, text: dict[int, str]) -> Changes:
    """``changes``, or, when one of them stores a field over
    execution_field_size_limit_kb (a task's published variables, the workflow
    output, an action's or a sub-workflow's input), the failure that replaces
    them: the task at fault and the execution go to ERROR saying which limit,
    and nothing more is started. (Mistral fails the execution the same way.)
    ``text`` gets the JSON text made for the check, by id() of the value."""
    limit = limits.field_size_limit()
    if not limit:
        return changes

    def dumped(value) -> str:
        s = text[id(value)] = _dumps(value)
        return s

    found = None
    for t in changes.tasks:
        problem = limits.size_problem("TaskExecution", "published", dumped(t.published), limit)
        if problem:
            found = (t, problem)
            break
    if found is None:
        for kind, reqs in (("ActionExecution", changes.actions), ("WorkflowExecution", changes.subworkflows)):
            for r in reqs:
                problem = limits.size_problem(kind, "input", getattr(r, "input_text", None)
                                              or dumped(r.input), limit)
                if problem:
                    found = (state.tasks.get(r.task_id), problem)
                    break
            if found:
                break
    if found is None and changes.exec_dirty and state.output is not None:
        problem = limits.size_problem("WorkflowExecution", "output", _dumps(state.output), limit)
        if problem:
            found = (None, problem)
    if found is None:
        return changes
    task, problem = found
    text.clear()        # values are replaced below; their ids may be reused
    kept = []
    for t in changes.tasks:
        if t.new and t is not task:         # started by this step: never stored, never run
            state.tasks.pop(t.id, None)
        else:
            kept.append(t)
    if task is not None:
        task.state, task.state_info, task.published = states.ERROR, problem, {}
        if task not in kept:
            kept.append(task)
        state.state_info = (f"Failure caused by error in tasks: {task.name}\n\n"
                            f"  {task.name} [task_ex_id={task.id}] -> {problem}\n")
    else:
        state.state_info = problem
    state.state, state.output = states.ERROR, {"result": state.state_info}
    return Changes(kept, True, [], [], [], [])


_RAN = ("TASK_SUCCEEDED", "TASK_FAILED")


def _emit_events(conn: sa.Connection, bus: events.EventBus | None, state: ExecState, tasks: list,
                 previous_state: str | None, now: float) -> None:
    if bus is None:
        for t in tasks:
            t.stored_state = t.state
        return
    base = dict(execution_id=state.id, workflow_name=state.workflow_name, params=state.params,
                root_execution_id=state.root_execution_id, time=now)
    wf_event = events.workflow_event(previous_state, state.state)
    if wf_event == "WORKFLOW_LAUNCHED":
        bus.emit(conn, events.Event(wf_event, state=state.state, **base))
    elif previous_state == states.IDLE and wf_event:
        # Started and ended (or paused) in one step: it was launched all the same.
        bus.emit(conn, events.Event("WORKFLOW_LAUNCHED", state=states.RUNNING, **base))
    for t in tasks:
        kind = events.task_event(t.stored_state, t.state)
        if t.stored_state is None and kind in _RAN:
            # Created and finished in one step (its action ran inside the step): it
            # was launched first, as when an executor runs the action.
            bus.emit(conn, events.Event("TASK_LAUNCHED", task_id=t.id, task_name=t.name,
                                        state=states.RUNNING, state_info=None, **base))
        t.stored_state = t.state
        if kind:
            bus.emit(conn, events.Event(kind, task_id=t.id, task_name=t.name, state=t.state,
                                        state_info=t.state_info, **base))
    if wf_event and wf_event != "WORKFLOW_LAUNCHED":
        bus.emit(conn, events.Event(wf_event, state=state.state, state_info=state.state_info, **base))
