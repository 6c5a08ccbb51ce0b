"""Starting tasks: the start policies (pause-before, wait-before, timeout), then
the task's action run or sub-workflow (a with-items task's go to items.py)."""
from __future__ import annotations

from levante.engine import dataflow, policies, states
from levante.engine.model import ActionRequest, SubWorkflowRequest, TaskEx
from levante.engine.steps import EVAL_ERRORS, Steps
from levante.engine.with_items import expand
from levante.lang.spec import TaskSpec


class Launch(Steps):
    def _schedule(self, tspec: TaskSpec, pred: TaskEx | None) -> None:
        """Start ``tspec`` because ``pred`` led to it (or at workflow start)."""
        if tspec.join is not None and pred is not None:
            self._arrive(tspec, pred)
            return
        task = self._new_task(tspec.name, states.RUNNING, [pred.id] if pred else [])
        self._start_task(task, tspec)

    def _start_task(self, task: TaskEx, tspec: TaskSpec, only_items: list[int] | None = None) -> None:
        """Apply the start policies, then run the task's action(s) or sub-workflow(s)."""
        s = self.s
        rt = task.runtime
        ev = self._task_eval(task)
        try:
            if not rt.paused_before and policies.flag(tspec.pause_before, ev):
                rt.paused_before = True
                s.move_task(task, states.IDLE)
                s.move(states.PAUSED)
                return
            wait = 0.0 if rt.waited_before else policies.number(tspec.wait_before, ev, "wait-before")
            timeout = policies.number(tspec.timeout, ev, "timeout")
        except EVAL_ERRORS as e:
            self._complete_task(task, tspec, False, [], info=str(e))
            return
        if wait > 0:
            s.move_task(task, states.RUNNING_DELAYED)
            self._timer(task, "wait_before", wait)
            return
        if timeout > 0:
            self._timer(task, "timeout", timeout, seconds=timeout, run=rt.reruns)
        self._run_units(task, tspec, only_items)

    def _run_units(self, task: TaskEx, tspec: TaskSpec, only_items: list[int] | None = None) -> None:
        s = self.s
        if not tspec.action and not tspec.workflow:
            # As Mistral, a task without an action runs std.noop (once per item):
            # recorded as done at once, it succeeds with a null result.
            count = None
            if tspec.with_items is not None:
                try:
                    count = len(expand(tspec.with_items, self._task_eval(task)))
                except EVAL_ERRORS as e:
                    self._on_outcome(task, tspec, False, None, info=str(e))
                    return
            for i in range(1 if count is None else count):
                s.done_actions.append(ActionRequest(id=self.new_id(), task_id=task.id, task_name=task.name,
                                                    name="std.noop", input={}, index=i))
            self._on_outcome(task, tspec, True, None if count is None else [None] * count)
            return
        if tspec.with_items is not None:
            self._start_items(task, tspec, only_items)
            return
        data = dataflow.view(s, dataflow.in_context(s, task))
        self._dispatch(task, tspec, data, 0)

    def _unit(self, task: TaskEx, tspec: TaskSpec, data: dict, index: int):
        """The action run or sub-workflow that ``task`` needs for item ``index``
        (raises an evaluation error; records nothing)."""
        s = self.s
        target = dataflow.evaluate(tspec.workflow or tspec.action, s, data, task)
        given = dataflow.evaluate(tspec.input, s, data, task) or {}
        if not isinstance(given, dict):
            raise policies.PolicyError(f"Task input must be a mapping, got {given!r}")
        if tspec.workflow:
            params = {"env": s.env, "namespace": s.params.get("namespace", ""), "index": index}
            return SubWorkflowRequest(id=self.new_id(), task_id=task.id, task_name=task.name,
                                      name=str(target), input=given, params=params, index=index)
        safe = policies.flag(tspec.safe_rerun, lambda v: dataflow.evaluate(v, s, data, task))
        return ActionRequest(id=self.new_id(), task_id=task.id, task_name=task.name,
                             name=str(target), input=given, index=index, safe_rerun=safe)

    def _request(self, unit) -> None:
        if isinstance(unit, SubWorkflowRequest):
            self.s.subworkflows_to_start.append(unit)
        else:
            self.s.actions_to_run.append(unit)

    def _dispatch(self, task: TaskEx, tspec: TaskSpec, data: dict, index: int) -> bool:
        """Request one action run or one sub-workflow for ``task``; False if it failed early."""
        try:
            self._request(self._unit(task, tspec, data, index))
        except EVAL_ERRORS as e:
            self._on_outcome(task, tspec, False, [], info=str(e))
            return False
        return True
