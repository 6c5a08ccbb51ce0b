"""The conductor: pure decisions for direct workflows.

Each public method takes an event (start, an action's outcome, pause, resume,
cancel), changes the :class:`ExecState` it was given and records what must
happen next (tasks to store, actions to run). It never touches storage, the
clock or the network; ids come from the ``new_id`` callable.
"""
from __future__ import annotations

from typing import Any, Callable

from levante import expr
from levante.engine import dataflow, states
from levante.engine.model import ActionRequest, ExecState, TaskEx
from levante.engine.with_items import WithItemsError, expand
from levante.lang.spec import OnClause, TaskSpec, Transition


class Conductor:
    def __init__(self, state: ExecState, new_id: Callable[[], str]):
        self.s = state
        self.new_id = new_id

    # ------------------------------------------------------------------ events

    def start(self) -> None:
        """Begin the execution: evaluate vars, start the start tasks."""
        s = self.s
        s.state = states.RUNNING
        s.exec_dirty = True
        try:
            s.context = dataflow.evaluate(s.spec.vars or {}, s, dataflow.view(s, {})) or {}
        except expr.ExpressionError as e:
            self._fail_workflow(f"Failed to evaluate workflow vars: {e}")
            return
        if s.spec.type != "direct":
            self._fail_workflow(f"Workflow type '{s.spec.type}' is not supported yet.")
            return
        for tspec in s.spec.start_tasks():
            if s.state != states.RUNNING:
                return
            self._schedule(tspec, pred=None)
        self._check_completion()

    def on_action_complete(self, task_id: str, action_id: str, index: int, ok: bool,
                           result: Any) -> None:
        """An action finished: ``result`` is its result, or its error text when not ok."""
        s = self.s
        task = s.tasks.get(task_id)
        if task is None or task.state != states.RUNNING:
            return      # stale: the task was cancelled or already decided
        tspec = s.spec.tasks[task.name]
        if tspec.with_items is not None:
            self._on_item_complete(task, tspec, action_id, index, ok, result)
        elif ok:
            self._complete_task(task, tspec, True, result)
        else:
            task.runtime["failed_actions"] = [[action_id, index, _as_text(result)]]
            self._complete_task(task, tspec, False, result, info=_as_text(result))
        self._check_completion()

    def pause(self) -> None:
        s = self.s
        if s.state == states.RUNNING:
            s.state = states.PAUSED
            s.exec_dirty = True

    def resume(self) -> None:
        """Continue a paused execution: decide what paused tasks left undecided."""
        s = self.s
        if s.state != states.PAUSED:
            return
        s.state = states.RUNNING
        s.state_info = None
        s.exec_dirty = True
        for task in list(s.tasks.values()):
            if s.state != states.RUNNING:
                return
            tspec = s.spec.tasks[task.name]
            if task.state == states.RUNNING and tspec.with_items is not None:
                self._launch_items(task, tspec)
            elif states.is_completed(task.state) and not task.processed:
                self._process_transitions(task, tspec)
        self._check_completion()

    def cancel(self, info: str | None = None) -> None:
        s = self.s
        if states.is_completed(s.state):
            return
        for task in s.tasks.values():
            if task.state in states.ACTIVE:
                task.state = states.CANCELLED
                s.mark(task)
                s.cancel_actions_of.append(task.id)
        s.state = states.CANCELLED
        s.state_info = info
        s.output = {"result": info}
        s.exec_dirty = True

    def force(self, state: str, info: str | None = None) -> None:
        """A client sets SUCCESS or ERROR by hand."""
        s = self.s
        for task in s.tasks.values():
            if task.state in states.ACTIVE:
                task.state = states.CANCELLED if state == states.SUCCESS else states.ERROR
                task.state_info = info
                s.mark(task)
                s.cancel_actions_of.append(task.id)
        if state == states.SUCCESS:
            self._succeed_workflow()
        else:
            self._fail_workflow(info or "Execution was set to ERROR by a client.")

    # ------------------------------------------------------------ scheduling

    def _schedule(self, tspec: TaskSpec, pred: TaskEx | None) -> None:
        """Start ``tspec`` because ``pred`` led to it (or at workflow start)."""
        s = self.s
        if tspec.join is not None and pred is not None:
            task = self._waiting_join(tspec.name)
            if task is None:
                task = self._new_task(tspec.name, states.WAITING, [])
            if pred.id not in task.in_tasks:
                task.in_tasks.append(pred.id)
            s.mark(task)
            if len(task.in_tasks) >= self._join_needed(tspec):
                task.state = states.RUNNING
                self._start_task(task, tspec)
            return
        task = self._new_task(tspec.name, states.RUNNING, [pred.id] if pred else [])
        self._start_task(task, tspec)

    def _join_needed(self, tspec: TaskSpec) -> int:
        inbound = len(self.s.spec.inbound(tspec.name))
        if tspec.join == "all":
            return inbound
        if tspec.join == "one":
            return 1
        return min(int(tspec.join), inbound) if inbound else int(tspec.join)

    def _waiting_join(self, name: str) -> TaskEx | None:
        for t in self.s.tasks.values():
            if t.name == name and t.state == states.WAITING:
                return t
        return None

    def _new_task(self, name: str, state: str, in_tasks: list[str]) -> TaskEx:
        s = self.s
        task = TaskEx(id=self.new_id(), name=name, state=state, in_tasks=in_tasks,
                      seq=len(s.tasks), new=True, result=None)
        tspec = s.spec.tasks[name]
        if tspec.workflow:
            task.type = "WORKFLOW"
        s.tasks[task.id] = task
        s.mark(task)
        return task

    def _start_task(self, task: TaskEx, tspec: TaskSpec) -> None:
        s = self.s
        if tspec.workflow:
            self._complete_task(task, tspec, False, None,
                                info=f"Sub-workflow tasks are not supported yet [task={tspec.name}].")
            return
        if not tspec.action:
            # A task without an action succeeds at once (it may still publish).
            self._complete_task(task, tspec, True, None)
            return
        if tspec.with_items is not None:
            data = dataflow.view(s, dataflow.in_context(s, task))
            try:
                items = expand(tspec.with_items, lambda v: dataflow.evaluate(v, s, data, task))
            except (WithItemsError, expr.ExpressionError) as e:
                self._complete_task(task, tspec, False, None, info=str(e))
                return
            task.runtime["with_items"] = {"count": len(items), "launched": 0, "done": 0}
            s.mark(task)
            if not items:
                self._complete_task(task, tspec, True, [])
                return
            self._launch_items(task, tspec, items)
            return
        data = dataflow.view(s, dataflow.in_context(s, task))
        req = self._action_request(task, tspec, data, 0)
        if req is not None:
            s.actions_to_run.append(req)

    def _action_request(self, task: TaskEx, tspec: TaskSpec, data: dict, index: int) -> ActionRequest | None:
        s = self.s
        try:
            name = dataflow.evaluate(tspec.action, s, data, task)
            action_input = dataflow.evaluate(tspec.input, s, data, task) or {}
            safe_rerun = bool(dataflow.evaluate(tspec.safe_rerun, s, data, task))
            timeout = dataflow.evaluate(tspec.timeout, s, data, task) if tspec.timeout else None
        except expr.ExpressionError as e:
            self._complete_task(task, tspec, False, None, info=str(e))
            return None
        if not isinstance(action_input, dict):
            self._complete_task(task, tspec, False, None,
                                info=f"Action input must be a mapping, got {action_input!r}")
            return None
        return ActionRequest(id=self.new_id(), task_id=task.id, task_name=task.name, name=str(name),
                             input=action_input, index=index, safe_rerun=safe_rerun,
                             timeout=float(timeout) if timeout else None)

    # ------------------------------------------------------------ with-items

    def _launch_items(self, task: TaskEx, tspec: TaskSpec, items: list[dict] | None = None) -> None:
        s = self.s
        if s.state != states.RUNNING:
            return
        wi = task.runtime["with_items"]
        base = dataflow.view(s, dataflow.in_context(s, task))
        if items is None:
            try:
                items = expand(tspec.with_items, lambda v: dataflow.evaluate(v, s, base, task))
            except (WithItemsError, expr.ExpressionError) as e:
                self._complete_task(task, tspec, False, None, info=str(e))
                return
        limit = len(items)
        if tspec.concurrency:
            try:
                conc = int(dataflow.evaluate(tspec.concurrency, s, base, task) or 0)
            except (expr.ExpressionError, TypeError, ValueError):
                conc = 0
            if conc > 0:
                limit = min(limit, wi["done"] + conc)
        while wi["launched"] < limit:
            i = wi["launched"]
            data = dict(base)
            data.update(items[i])
            req = self._action_request(task, tspec, data, i)
            if req is None:
                return
            s.actions_to_run.append(req)
            wi["launched"] += 1
        s.mark(task)

    def _on_item_complete(self, task: TaskEx, tspec: TaskSpec, action_id: str, index: int,
                          ok: bool, result: Any) -> None:
        s = self.s
        wi = task.runtime["with_items"]
        wi["done"] += 1
        if not ok:
            task.runtime.setdefault("failed_actions", []).append([action_id, index, _as_text(result)])
        s.mark(task)
        if wi["done"] < wi["count"]:
            if wi["launched"] < wi["count"] and not task.runtime.get("failed_actions"):
                self._launch_items(task, tspec)
            if wi["done"] < wi["launched"] or not task.runtime.get("failed_actions"):
                return
        failed = task.runtime.get("failed_actions")
        rows = s.load_item_results(task.id) if s.load_item_results else []
        results = [r[2] if r[1] else None for r in sorted(rows, key=lambda r: r[0])]
        if failed:
            info = failed[0][2]
            self._complete_task(task, tspec, False, results, info=info)
        else:
            self._complete_task(task, tspec, True, results)

    # ------------------------------------------------------------ completion

    def _complete_task(self, task: TaskEx, tspec: TaskSpec, ok: bool, result: Any,
                       info: str | None = None) -> None:
        s = self.s
        task.result = result if ok or tspec.with_items is not None else None
        if not ok and tspec.with_items is None:
            task.result = result if result is not None else info
        data = dataflow.view(s, dataflow.in_context(s, task), {"__task_execution": {"id": task.id, "name": task.name}})
        try:
            publish = tspec.publish if ok else tspec.publish_on_error
            clause = tspec.on_success if ok else tspec.on_error
            published = dataflow.evaluate(publish or {}, s, data, task, result) or {}
            if clause and clause.publish:
                published = dataflow.merge_dicts(
                    published, dataflow.evaluate(clause.publish, s, data, task, result) or {})
            if clause and clause.publish_global:
                s.published_global.update(
                    dataflow.evaluate(clause.publish_global, s, data, task, result) or {})
                s.exec_dirty = True
            task.published = published if isinstance(published, dict) else {"published": published}
        except expr.ExpressionError as e:
            ok = False
            info = f"Failed to publish variables of task '{task.name}': {e}"
        task.state = states.SUCCESS if ok else states.ERROR
        task.state_info = None if ok else info
        s._out_ctx_cache.pop(task.id, None)
        s.mark(task)
        if s.state == states.RUNNING:
            self._process_transitions(task, tspec)

    def _process_transitions(self, task: TaskEx, tspec: TaskSpec) -> None:
        s = self.s
        task.processed = True
        s.mark(task)
        clauses: list[OnClause] = []
        if task.state == states.SUCCESS and tspec.on_success:
            clauses.append(tspec.on_success)
        if task.state == states.ERROR and tspec.on_error:
            clauses.append(tspec.on_error)
        if task.state in (states.SUCCESS, states.ERROR) and tspec.on_complete:
            clauses.append(tspec.on_complete)
        data = dataflow.view(s, dataflow.out_context(s, task))
        chosen: list[Transition] = []
        try:
            for clause in clauses:
                for tr in clause.next:
                    if tr.condition is None or _truthy(dataflow.evaluate(tr.condition, s, data, task)):
                        chosen.append(tr)
        except expr.ExpressionError as e:
            task.state = states.ERROR
            task.state_info = f"Failed to evaluate transitions of task '{task.name}': {e}"
            task.runtime["triggered"] = 0
            return
        task.runtime["triggered"] = len(chosen)
        for tr in chosen:
            if tr.is_command:
                self._engine_command(task, tr, data)
            else:
                self._schedule(s.spec.tasks[tr.target], task)
            if s.state != states.RUNNING:
                return

    def _engine_command(self, task: TaskEx, tr: Transition, data: dict) -> None:
        s = self.s
        msg = tr.params.get("msg")
        if msg is not None:
            try:
                msg = dataflow.evaluate(msg, s, data, task)
            except expr.ExpressionError as e:
                msg = str(e)
        if tr.target == "succeed":
            self._succeed_workflow()
        elif tr.target == "fail":
            self._fail_workflow(msg or f"Failed by 'fail' command in task '{task.name}'.")
        elif tr.target == "pause":
            s.state = states.PAUSED
            s.state_info = msg
            s.exec_dirty = True

    def _check_completion(self) -> None:
        s = self.s
        if s.state != states.RUNNING:
            return
        waiting: list[TaskEx] = []
        for t in s.tasks.values():
            if t.state == states.WAITING:
                waiting.append(t)
            elif t.state in states.ACTIVE or (states.is_completed(t.state) and not t.processed):
                return
        for t in waiting:   # nothing left that could ever satisfy these joins
            t.state = states.ERROR
            t.state_info = (f"Failed to satisfy join: task '{t.name}' received "
                            f"{len(t.in_tasks)} of {self._join_needed(s.spec.tasks[t.name])} inbound transitions.")
            t.processed = True
            t.runtime["triggered"] = 0
            s.mark(t)
        unhandled = [t for t in s.tasks.values()
                     if t.state == states.ERROR and not t.runtime.get("triggered")]
        if unhandled:
            self._fail_workflow(self._failure_text(unhandled))
        else:
            self._succeed_workflow()

    def _failure_text(self, failed: list[TaskEx]) -> str:
        text = "Failure caused by error in tasks: " + ", ".join(t.name for t in failed) + "\n"
        for t in failed:
            text += f"\n  {t.name} [task_ex_id={t.id}] -> {t.state_info}\n"
            for action_id, index, msg in t.runtime.get("failed_actions", []):
                text += f"    [action_ex_id={action_id}, idx={index}]: {msg}\n"
        return text

    def _final_context(self) -> dict:
        s = self.s
        ctx: dict = {}
        for t in s.tasks.values():
            if t.state == states.SUCCESS and not t.runtime.get("triggered"):
                ctx = dataflow.merge_dicts(ctx, dataflow.out_context(s, t))
            elif t.state == states.ERROR and t.runtime.get("triggered") == 0:
                ctx = dataflow.merge_dicts(ctx, dataflow.out_context(s, t))
        return ctx

    def _succeed_workflow(self) -> None:
        s = self.s
        ctx = self._final_context()
        if s.spec.output is not None:
            try:
                output = dataflow.evaluate(s.spec.output, s, dataflow.view(s, ctx))
            except expr.ExpressionError as e:
                self._fail_workflow(f"Failed to evaluate workflow output: {e}")
                return
        else:
            output = {k: v for k, v in ctx.items() if not k.startswith("__")}
        s.state = states.SUCCESS
        s.state_info = None
        s.output = output
        s.exec_dirty = True

    def _fail_workflow(self, info: str) -> None:
        s = self.s
        s.state = states.ERROR
        s.state_info = info
        output: dict = {"result": info}
        if s.spec.output_on_error is not None:
            try:
                extra = dataflow.evaluate(s.spec.output_on_error, s, dataflow.view(s, self._final_context()))
                if isinstance(extra, dict):
                    output.update(extra)
            except expr.ExpressionError:
                pass
        s.output = output
        s.exec_dirty = True


def _truthy(value: Any) -> bool:
    return bool(value)


def _as_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if value is None:
        return "None"
    import json
    try:
        return json.dumps(value)
    except (TypeError, ValueError):
        return str(value)
