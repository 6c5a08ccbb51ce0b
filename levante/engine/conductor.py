"""The conductor: pure decisions for direct and reverse workflows.

Each public method takes an event (start, an action's or a sub-workflow's
outcome, a timer, pause, resume, cancel, rerun, skip), changes the
:class:`ExecState` it was given and records what must happen next (tasks to
store, actions to run, sub-workflows to start, timers to set). It never
touches storage, the clock or the network; ids come from ``new_id``.
"""
from __future__ import annotations

import json
from typing import Any, Callable

from levante import expr
from levante.engine import dataflow, policies, reverse, states
from levante.engine.model import ActionRequest, ExecState, SubWorkflowRequest, TaskEx, Timer
from levante.engine.with_items import WithItemsError, expand
from levante.lang.spec import OnClause, TaskSpec, Transition

_EVAL_ERRORS = (expr.ExpressionError, policies.PolicyError, WithItemsError)


class Conductor:
    def __init__(self, state: ExecState, new_id: Callable[[], str]):
        self.s = state
        self.new_id = new_id

    # ================================================================ events

    def start(self) -> None:
        """Begin the execution: evaluate vars, start the first tasks."""
        s = self.s
        if s.state == states.PAUSED:
            return      # paused before it began (a parent's pause cascaded): resume starts it
        s.state = states.RUNNING
        s.exec_dirty = True
        try:
            s.context = dataflow.evaluate(s.spec.vars or {}, s, dataflow.view(s, {})) or {}
        except expr.ExpressionError as e:
            self._fail_workflow(f"Failed to evaluate workflow vars: {e}")
            return
        if s.spec.type == "reverse":
            self._start_reverse()
        else:
            for tspec in s.spec.start_tasks():
                if s.state != states.RUNNING:
                    return
                self._schedule(tspec, pred=None)
        self._check_completion()

    def on_action_complete(self, task_id: str, action_id: str, index: int, ok: bool,
                           result: Any, info: str | None = None) -> None:
        """An action (or sub-workflow) finished: ``result`` is its result, or its error
        (``info``: the error text when it differs, e.g. a failed child's state_info
        while ``result`` is the child's output)."""
        s = self.s
        task = s.tasks.get(task_id)
        if task is None or task.state != states.RUNNING:
            return      # stale: the task was cancelled, timed out or already decided
        tspec = s.spec.tasks[task.name]
        text = info if info is not None else _as_text(result)
        if tspec.with_items is not None:
            self._on_item_complete(task, tspec, action_id, index, ok, result, text)
        elif ok:
            self._on_outcome(task, tspec, True, result)
        else:
            # Kept across retries: the execution's state_info lists every attempt, as Mistral's does.
            task.runtime.setdefault("failed_actions", []).append([action_id, index, text])
            self._on_outcome(task, tspec, False, result, info=text)
        self._check_completion()

    on_subworkflow_complete = on_action_complete

    def on_timer(self, payload: dict) -> None:
        """A delay set by a policy ran out."""
        s = self.s
        task = s.tasks.get(payload.get("task_id", ""))
        kind = payload.get("kind")
        if task is None:
            return
        # A timeout covers the whole task, retries included, until a rerun; the
        # other timers belong to one attempt. A timer of an earlier one is stale.
        if kind == "timeout":
            if payload.get("run", 0) != task.runtime.get("reruns", 0):
                return
        elif payload.get("attempt", 0) != task.runtime.get("attempt", 0):
            return
        tspec = s.spec.tasks[task.name]
        if kind == "timeout":
            if task.state in (states.RUNNING, states.RUNNING_DELAYED) and "pending_outcome" not in task.runtime:
                seconds = _num_text(payload.get('seconds'))
                s.cancel_actions_of.append(task.id)
                # As Mistral, the running action itself fails (a sub-workflow is cancelled).
                s.fail_actions_of[task.id] = f"Action timed out [timeout(s)={seconds}]."
                task.runtime["timed_out"] = True
                info = f"Task timed out [timeout(s)={seconds}]."
                task.runtime["failed_actions"] = []
                task.state = states.RUNNING
                # No action ended: as Mistral, the result is the list of no results.
                self._on_outcome(task, tspec, False, [], info=info)
        elif task.state != states.RUNNING_DELAYED or s.state != states.RUNNING:
            if task.state == states.RUNNING_DELAYED:
                task.runtime["wake_on_resume"] = payload
                s.mark(task)
            return
        elif kind == "wait_before":
            task.state = states.RUNNING
            task.runtime["waited_before"] = True
            self._start_task(task, tspec)
        elif kind == "retry":
            task.state = states.RUNNING
            self._run_units(task, tspec)
        elif kind == "wait_after":
            pending = task.runtime.pop("pending_outcome", {"ok": True})
            task.state = states.RUNNING
            task.runtime["waited_after"] = True
            self._complete_task(task, tspec, pending["ok"], s.result_of(task), pending.get("info"))
        self._check_completion()

    def pause(self) -> None:
        s = self.s
        if s.state in (states.RUNNING, states.IDLE):
            s.state = states.PAUSED
            s.exec_dirty = True

    def resume(self) -> None:
        """Continue: decide what was left undecided while paused."""
        s = self.s
        if states.is_completed(s.state):
            return
        if not s.tasks:         # paused before it began
            s.state = states.IDLE
            self.start()
            return
        s.state = states.RUNNING
        s.state_info = None
        s.exec_dirty = True
        self._continue()
        self._check_completion()

    def _continue(self) -> None:
        """Pick up what a pause left: paused-before tasks, due timers, undecided tasks."""
        s = self.s
        for task in list(s.tasks.values()):
            if s.state != states.RUNNING:
                return
            tspec = s.spec.tasks[task.name]
            if task.state == states.IDLE and task.runtime.get("paused_before"):
                task.state = states.RUNNING
                self._start_task(task, tspec)
            elif task.state == states.RUNNING_DELAYED and "wake_on_resume" in task.runtime:
                self.on_timer(task.runtime.pop("wake_on_resume"))
            elif task.state == states.RUNNING and tspec.with_items is not None and "with_items" in task.runtime:
                self._launch_items(task, tspec)
            elif states.is_completed(task.state) and not task.processed:
                self._after(task, tspec)
            elif "resume_next" in task.runtime:
                rest = task.runtime.pop("resume_next")
                s.mark(task)
                self._follow(task, rest, dataflow.view(s, dataflow.out_context(s, task)))

    def cancel(self, info: str | None = None) -> None:
        s = self.s
        if states.is_completed(s.state):
            return
        for task in s.tasks.values():
            if task.state in states.ACTIVE:
                task.state = states.CANCELLED
                task.processed = True
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
                task.processed = True
                s.mark(task)
                s.cancel_actions_of.append(task.id)
        if state == states.SUCCESS:
            self._succeed_workflow()
        else:
            self._fail_workflow(info or "Execution was set to ERROR by a client.")

    def rerun(self, task_id: str, reset: bool = True) -> None:
        """Run a failed task again (``reset=False``: only its failed items)."""
        s = self.s
        task = s.tasks[task_id]
        tspec = s.spec.tasks[task.name]
        failed_items = sorted({int(f[1]) for f in task.runtime.get("failed_actions", [])})
        was_paused = s.state == states.PAUSED
        self._reopen(task, states.RUNNING, ("failed_actions", "timed_out", "waited_before",
                                            "waited_after", "retry_no", "paused_before", "resume_next"))
        task.runtime["attempt"] = task.runtime.get("attempt", 0) + 1
        task.runtime["reruns"] = task.runtime.get("reruns", 0) + 1
        s.mark(task)
        s._out_ctx_cache.clear()
        if tspec.with_items is not None and not reset and failed_items:
            self._start_task(task, tspec, only_items=failed_items)
        else:
            self._start_task(task, tspec)
        if was_paused:
            self._continue()
        self._check_completion()

    def reopen(self, task_id: str, index: int = 0) -> None:
        """A sub-workflow of ``task_id`` that had failed runs again (it was rerun):
        the task, and this execution, are running again until it reports back."""
        s = self.s
        task = s.tasks.get(task_id)
        if task is None or task.state != states.ERROR:
            return
        self._reopen(task, states.RUNNING)
        failed = [f for f in task.runtime.get("failed_actions", []) if int(f[1]) != index]
        task.runtime["failed_actions"] = failed
        if "with_items" in task.runtime:
            task.runtime["with_items"]["done"] -= 1
        s.mark(task)

    def _reopen(self, task: TaskEx, new_state: str, forget: tuple[str, ...] = ()) -> None:
        """A failed task gets another chance: it and its execution are undecided again."""
        s = self.s
        s.state = states.RUNNING
        s.state_info = None
        s.output = None
        s.exec_dirty = True
        task.state = new_state
        task.state_info = None
        task.processed = False
        for key in ("next", "handled", *forget):
            task.runtime.pop(key, None)

    def skip(self, task_id: str) -> None:
        """Mark a failed task SKIPPED and go on as its ``on-skip`` says."""
        s = self.s
        task = s.tasks[task_id]
        was_paused = s.state == states.PAUSED
        self._reopen(task, states.SKIPPED)
        task.state_info = "Task was skipped."
        tspec = s.spec.tasks[task.name]
        result = s.result_of(task)
        data = dataflow.view(s, dataflow.in_context(s, task),
                             {"__task_execution": {"id": task.id, "name": task.name}})
        try:
            # As Mistral: publish-on-skip, with on-skip's and on-complete's publish.
            self._publish(task, tspec, tspec.on_skip, tspec.publish_on_skip, result, data)
        except expr.ExpressionError as e:
            task.state = states.ERROR
            task.state_info = f"Failed to publish variables of task '{task.name}': {e}"
        s._out_ctx_cache.pop(task.id, None)
        s.mark(task)
        self._after(task, tspec)
        if was_paused:
            self._continue()
        self._check_completion()

    # ================================================================ starting tasks

    def _schedule(self, tspec: TaskSpec, pred: TaskEx | None) -> None:
        """Start ``tspec`` because ``pred`` led to it (or at workflow start)."""
        s = self.s
        if tspec.join is not None and pred is not None:
            task = self._join_task(tspec.name)
            if task is None:
                task = self._new_task(tspec.name, states.WAITING, [])
            arrivals = task.runtime.setdefault("arrivals", [])
            if pred.id not in arrivals:
                arrivals.append(pred.id)
            s.mark(task)
            if task.state == states.WAITING:
                task.in_tasks.append(pred.id)
                if len(arrivals) >= self._join_needed(tspec):
                    task.state = states.RUNNING
                    self._start_task(task, tspec)
                else:
                    self._check_join(tspec.name)
            return
        task = self._new_task(tspec.name, states.RUNNING, [pred.id] if pred else [])
        self._start_task(task, tspec)

    def _check_join(self, name: str) -> None:
        """Fail a waiting join that can no longer get enough inbound branches, at once
        (as Mistral does: "Failed by tasks: [...]"), instead of at the workflow's end."""
        s = self.s
        join = self._join_task(name)
        if join is None or join.state != states.WAITING:
            return
        inbound = s.spec.inbound(name)
        failed = []
        for n in inbound:
            t = s.task_by_name(n)
            if t is not None and states.is_completed(t.state) and t.processed \
                    and name not in t.runtime.get("next_names", []) and t.id not in join.runtime.get("arrivals", []):
                failed.append(n)
        if len(failed) > len(inbound) - self._join_needed(s.spec.tasks[name]):
            join.state = states.ERROR
            join.state_info = f"Failed by tasks: {failed}"
            join.result = []        # as Mistral: the results of no action executions
            s.mark(join)
            self._process_transitions(join, s.spec.tasks[name])

    def _join_needed(self, tspec: TaskSpec) -> int:
        inbound = len(self.s.spec.inbound(tspec.name))
        if tspec.join == "all":
            return inbound
        if tspec.join == "one":
            return 1
        return min(int(tspec.join), inbound) if inbound else int(tspec.join)

    def _join_task(self, name: str) -> TaskEx | None:
        """The join task an arriving branch belongs to: the latest one of this name,
        unless every inbound branch already arrived there (then a new round starts,
        as in a loop)."""
        latest = None
        for t in self.s.tasks.values():
            if t.name == name:
                latest = t
        if latest is None:
            return None
        if latest.state == states.WAITING:
            return latest
        inbound = len(self.s.spec.inbound(name))
        return latest if len(latest.runtime.get("arrivals", [])) < inbound else None

    def _new_task(self, name: str, state: str, in_tasks: list[str]) -> TaskEx:
        s = self.s
        task = TaskEx(id=self.new_id(), name=name, state=state, in_tasks=in_tasks,
                      seq=len(s.tasks), new=True, result=None)
        if s.spec.tasks[name].workflow:
            task.type = "WORKFLOW"
        s.tasks[task.id] = task
        s.mark(task)
        return task

    def _task_eval(self, task: TaskEx, result: Any = None) -> Callable[[Any], Any]:
        data = dataflow.view(self.s, dataflow.in_context(self.s, task))
        return lambda v: dataflow.evaluate(v, self.s, data, task, result)

    def _start_task(self, task: TaskEx, tspec: TaskSpec, only_items: list[int] | None = None) -> None:
        """Apply the start policies, then run the task's action(s) or sub-workflow(s)."""
        s = self.s
        ev = self._task_eval(task)
        try:
            if not task.runtime.get("paused_before") and policies.flag(tspec.pause_before, ev):
                task.runtime["paused_before"] = True
                task.state = states.IDLE
                s.mark(task)
                s.state = states.PAUSED
                s.exec_dirty = True
                return
            wait = 0.0 if task.runtime.get("waited_before") else policies.number(tspec.wait_before, ev, "wait-before")
            timeout = policies.number(tspec.timeout, ev, "timeout")
        except _EVAL_ERRORS as e:
            self._complete_task(task, tspec, False, [], info=str(e))
            return
        if wait > 0:
            task.state = states.RUNNING_DELAYED
            s.mark(task)
            self._timer(task, "wait_before", wait)
            return
        if timeout > 0:
            self._timer(task, "timeout", timeout, seconds=timeout, run=task.runtime.get("reruns", 0))
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
                except _EVAL_ERRORS as e:
                    self._on_outcome(task, tspec, False, None, info=str(e))
                    return
            for i in range(1 if count is None else count):
                s.done_actions.append(ActionRequest(id=self.new_id(), task_id=task.id, task_name=task.name,
                                                    name="std.noop", input={}, index=i))
            self._on_outcome(task, tspec, True, None if count is None else [None] * count)
            return
        if tspec.with_items is not None:
            ev = self._task_eval(task)
            try:
                items = expand(tspec.with_items, ev)
            except _EVAL_ERRORS as e:
                self._on_outcome(task, tspec, False, None, info=str(e))
                return
            wi = {"count": len(items), "launched": 0, "done": 0}
            if only_items is not None:
                wi["indices"] = only_items
            task.runtime["with_items"] = wi
            task.runtime.pop("failed_actions", None)
            s.mark(task)
            if not items:
                self._on_outcome(task, tspec, True, [])
                return
            # Every item's input is worked out before any runs (as Mistral does):
            # one bad item fails the task without running the others.
            base = dataflow.view(s, dataflow.in_context(s, task))
            units = {}
            try:
                for i in (only_items if only_items is not None else range(len(items))):
                    units[i] = self._unit(task, tspec, {**base, **items[i]}, i)
            except _EVAL_ERRORS as e:
                self._on_outcome(task, tspec, False, [], info=str(e))
                return
            self._launch_items(task, tspec, items, units)
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
        except _EVAL_ERRORS as e:
            self._on_outcome(task, tspec, False, [], info=str(e))
            return False
        return True

    def _timer(self, task: TaskEx, kind: str, delay: float, **extra) -> None:
        payload = {"event": "timer", "kind": kind, "task_id": task.id,
                   "attempt": task.runtime.get("attempt", 0), **extra}
        self.s.timers.append(Timer(delay, payload))

    # ================================================================ with-items

    def _launch_items(self, task: TaskEx, tspec: TaskSpec, items: list[dict] | None = None,
                      units: dict | None = None) -> None:
        s = self.s
        if s.state != states.RUNNING:
            return
        wi = task.runtime["with_items"]
        base = dataflow.view(s, dataflow.in_context(s, task))
        ev = lambda v: dataflow.evaluate(v, s, base, task)   # noqa: E731
        if items is None:
            try:
                items = expand(tspec.with_items, ev)
            except _EVAL_ERRORS as e:
                self._on_outcome(task, tspec, False, None, info=str(e))
                return
        indices = wi.get("indices")
        total = len(indices) if indices is not None else len(items)
        limit = total
        try:
            conc = int(policies.number(tspec.concurrency, ev, "concurrency"))
        except _EVAL_ERRORS:
            conc = 0
        if conc > 0:
            limit = min(limit, wi["done"] + conc)
        while wi["launched"] < limit:
            i = indices[wi["launched"]] if indices is not None else wi["launched"]
            wi["launched"] += 1
            if units is not None and i in units:
                self._request(units[i])
            elif not self._dispatch(task, tspec, {**base, **items[i]}, i):
                return
        s.mark(task)

    def _on_item_complete(self, task: TaskEx, tspec: TaskSpec, action_id: str, index: int,
                          ok: bool, result: Any, text: str) -> None:
        s = self.s
        wi = task.runtime["with_items"]
        wi["done"] += 1
        if not ok:
            task.runtime.setdefault("failed_actions", []).append([action_id, index, text])
        s.mark(task)
        total = len(wi["indices"]) if "indices" in wi else wi["count"]
        failed = task.runtime.get("failed_actions")
        if wi["done"] < total:
            if not failed:
                if wi["launched"] < total:
                    self._launch_items(task, tspec)
                return
            if wi["done"] < wi["launched"]:
                return      # let the running items finish before failing the task
        rows = s.load_item_results(task.id) if s.load_item_results else []
        latest: dict[int, tuple] = {}
        for r in rows:      # rows come oldest first: a rerun's result replaces the earlier one
            latest[r[0]] = r
        # A failed item's place holds its error, as in Mistral's task result.
        results = [latest[i][2] if i in latest else None for i in range(wi["count"])]
        if failed:
            self._on_outcome(task, tspec, False, results, info="One or more actions had failed.")
        else:
            self._on_outcome(task, tspec, True, results)

    # ================================================================ finishing tasks

    def _on_outcome(self, task: TaskEx, tspec: TaskSpec, ok: bool, result: Any,
                    info: str | None = None) -> None:
        """The task's work ended: apply fail-on, retry and wait-after, then complete it."""
        s = self.s
        ev = self._task_eval(task, result)
        try:
            if ok and tspec.fail_on is not None and not task.runtime.get("timed_out") \
                    and policies.flag(tspec.fail_on, ev):
                # The action succeeded: Mistral still publishes what `publish` says.
                ok, info = False, "Failed by 'fail-on' policy"
                task.runtime["failed_by_policy"] = True
            if not task.runtime.get("timed_out"):
                attempt = task.runtime.get("retry_no", 0)
                again, delay = policies.should_retry(tspec.retry, ok, attempt, ev)
                if again:
                    task.runtime["retry_no"] = attempt + 1
                    task.runtime["attempt"] = task.runtime.get("attempt", 0) + 1
                    if tspec.with_items is not None:     # each round of items starts afresh
                        task.runtime.pop("failed_actions", None)
                    s.mark(task)
                    if delay > 0:
                        task.state = states.RUNNING_DELAYED
                        self._timer(task, "retry", delay)
                    else:
                        self._run_units(task, tspec)
                    return
            wait = 0.0 if task.runtime.get("waited_after") else policies.number(tspec.wait_after, ev, "wait-after")
        except _EVAL_ERRORS as e:
            ok, info, wait = False, str(e), 0.0
        if wait > 0:
            task.result = result if ok or tspec.with_items is not None else (result if result is not None else info)
            task.runtime["pending_outcome"] = {"ok": ok, "info": info}   # also stops the timeout
            task.state = states.RUNNING_DELAYED
            s.mark(task)
            self._timer(task, "wait_after", wait)
            return
        self._complete_task(task, tspec, ok, result, info)

    def _complete_task(self, task: TaskEx, tspec: TaskSpec, ok: bool, result: Any,
                       info: str | None = None) -> None:
        s = self.s
        if tspec.with_items is not None and result is None:
            result = []     # no item ended: as Mistral, the list of no results
        if ok or tspec.with_items is not None:
            task.result = result
        else:
            task.result = result if result is not None else info
        data = dataflow.view(s, dataflow.in_context(s, task),
                             {"__task_execution": {"id": task.id, "name": task.name}})
        # Publishing sees the task in its final state, as in Mistral.
        task.state = states.SUCCESS if ok else states.ERROR
        task.state_info = None if ok else info
        try:
            outcome = tspec.on_success if ok else tspec.on_error
            own = tspec.publish if ok or task.runtime.pop("failed_by_policy", False) else tspec.publish_on_error
            self._publish(task, tspec, outcome, own, result, data)
        except expr.ExpressionError as e:
            ok = False
            info = f"Failed to publish variables of task '{task.name}': {e}"
        try:
            keep = tspec.keep_result is None or policies.flag(tspec.keep_result, self._task_eval(task, result))
        except _EVAL_ERRORS:
            keep = True
        if not keep:
            # As Mistral: the result is gone, from the task and from its action
            # executions' output (a sub-workflow keeps its own output).
            task.result = [None] * len(result) if tspec.with_items is not None and isinstance(result, list) \
                else None
            if not tspec.workflow:
                s.drop_outputs_of.append(task.id)
        task.state = states.SUCCESS if ok else states.ERROR
        task.state_info = None if ok else info
        s._out_ctx_cache.pop(task.id, None)
        s.mark(task)
        if s.state == states.RUNNING:
            self._after(task, tspec)

    def _publish(self, task: TaskEx, tspec: TaskSpec, outcome: OnClause | None, own: dict,
                 result: Any, data: dict) -> None:
        """Set the task's published variables (raises ExpressionError).

        Mistral's precedence: on-complete over the task's own publish over the
        outcome clause's (on-success / on-error / on-skip) publish. With none of
        them, what the task published before stays."""
        s = self.s
        parts = [(outcome.publish if outcome else None), own,
                 (tspec.on_complete.publish if tspec.on_complete else None)]
        globals_ = [c for c in (outcome, tspec.on_complete) if c and c.publish_global]
        if not any(parts) and not globals_ and task.state == states.SKIPPED:
            return
        published: Any = {}
        for part in parts:
            if part:
                value = dataflow.evaluate(part, s, data, task, result) or {}
                published = dataflow.merge_dicts(published, value) if isinstance(value, dict) else value
        for clause in globals_:
            s.published_global.update(dataflow.evaluate(clause.publish_global, s, data, task, result) or {})
            s.exec_dirty = True
        task.published = published if isinstance(published, dict) else {"published": published}

    def _after(self, task: TaskEx, tspec: TaskSpec) -> None:
        """What a completed task leads to."""
        if self.s.spec.type == "reverse":
            self._reverse_after(task)
        else:
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
        if task.state == states.SKIPPED:
            # Mistral: a skipped task without on-skip goes on as if it had succeeded.
            clauses.append(tspec.on_skip if tspec.on_skip and tspec.on_skip.next else tspec.on_success)
            clauses = [c for c in clauses if c]
        data = dataflow.view(s, dataflow.out_context(s, task))
        chosen: list[Transition] = []
        handled = False
        try:
            for clause in clauses:
                for tr in clause.next:
                    if tr.condition is None or bool(dataflow.evaluate(tr.condition, s, data, task)):
                        chosen.append(tr)
                        # Only on-error handles an error (Mistral's all_errors_handled).
                        handled = handled or clause is tspec.on_error
        except expr.ExpressionError as e:
            task.state = states.ERROR
            task.state_info = f"Failed to evaluate transitions of task '{task.name}': {e}"
            task.runtime["next"] = 0
            return
        task.runtime["handled"] = handled
        # Tasks this one led to; engine commands do not count (see _final_context).
        task.runtime["next"] = sum(1 for tr in chosen if not self._is_command(tr))
        task.runtime["next_names"] = [tr.target for tr in chosen if not self._is_command(tr)]
        self._follow(task, [[tr.target, tr.params] for tr in chosen], data)
        # A join this task could have led to, but did not, may now be impossible.
        for clause in (tspec.on_success, tspec.on_error, tspec.on_complete, tspec.on_skip):
            for tr in (clause.next if clause else ()):
                if s.state == states.RUNNING and not self._is_command(tr) \
                        and tr.target not in task.runtime["next_names"] \
                        and s.spec.tasks[tr.target].join is not None:
                    self._check_join(tr.target)

    def _follow(self, task: TaskEx, targets: list, data: dict) -> None:
        """Take the chosen transitions in order; a ``pause`` keeps the rest for resume."""
        s = self.s
        for i, (target, params) in enumerate(targets):
            tr = Transition(target, None, params or {})
            if self._is_command(tr):
                self._engine_command(task, tr, data)
            else:
                self._schedule(s.spec.tasks[target], task)
            if s.state != states.RUNNING:
                if s.state == states.PAUSED and targets[i + 1:]:
                    task.runtime["resume_next"] = targets[i + 1:]
                    s.mark(task)
                return

    def _is_command(self, tr: Transition) -> bool:
        # A task named like a command wins: the author linked to that task.
        return tr.is_command and tr.target not in self.s.spec.tasks

    def _engine_command(self, task: TaskEx, tr: Transition, data: dict) -> None:
        s = self.s
        if tr.target == "noop":
            return
        msg = tr.params.get("msg")
        if msg is not None:
            try:
                msg = dataflow.evaluate(msg, s, data, task)
            except expr.ExpressionError as e:
                msg = str(e)
            if not isinstance(msg, str):
                msg = _as_text(msg)
        if tr.target == "succeed":
            self._succeed_workflow(msg)
        elif tr.target == "fail":
            self._fail_workflow(msg or f"Failed by 'fail' command in task '{task.name}'.")
        elif tr.target == "pause":
            s.state = states.PAUSED
            s.state_info = msg
            s.exec_dirty = True

    # ================================================================ reverse workflows

    def _target_closure(self) -> set[str]:
        return reverse.closure(self.s.spec, self.s.params.get("task_name"))

    def _start_reverse(self) -> None:
        s = self.s
        target = s.params.get("task_name")
        if not target:
            self._fail_workflow("A reverse workflow needs the 'task_name' parameter: the task to run.")
            return
        if target not in s.spec.tasks:
            self._fail_workflow(f"Task '{target}' not found in workflow '{s.spec.name}'.")
            return
        names = self._target_closure()
        cycle = reverse.find_cycle(s.spec, names)
        if cycle:
            self._fail_workflow("Reverse workflow has a dependency cycle: " + " -> ".join(cycle))
            return
        for name in [n for n in s.spec.tasks if n in names]:     # document order
            if not s.spec.tasks[name].requires and s.state == states.RUNNING:
                self._schedule(s.spec.tasks[name], None)

    def _reverse_after(self, task: TaskEx) -> None:
        s = self.s
        task.processed = True
        task.runtime["next"] = 0
        s.mark(task)
        if task.state not in (states.SUCCESS, states.SKIPPED):
            return
        done = {t.name: t for t in s.tasks.values() if t.state in (states.SUCCESS, states.SKIPPED)}
        started = {t.name for t in s.tasks.values()}
        for name in [n for n in s.spec.tasks if n in self._target_closure()]:
            spec = s.spec.tasks[name]
            if name in started or task.name not in spec.requires:
                continue
            if all(r in done for r in spec.requires):
                task.runtime["next"] += 1
                new = self._new_task(name, states.RUNNING, [done[r].id for r in spec.requires])
                self._start_task(new, spec)
                if s.state != states.RUNNING:
                    return

    # ================================================================ the workflow's end

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
            t.result = []
            t.state_info = (f"Failed to satisfy join: task '{t.name}' received "
                            f"{len(t.runtime.get('arrivals', []))} of {self._join_needed(s.spec.tasks[t.name])} "
                            "inbound transitions.")
            t.processed = True
            t.runtime["next"] = 0
            s.mark(t)
        unhandled = [t for t in s.tasks.values()
                     if t.state == states.ERROR and not t.runtime.get("handled")]
        if unhandled:
            self._fail_workflow(self._failure_text(unhandled))
        elif s.spec.type == "reverse" and not any(
                t.name == s.params.get("task_name") and t.state in (states.SUCCESS, states.SKIPPED)
                for t in s.tasks.values()):
            self._fail_workflow(f"Target task '{s.params.get('task_name')}' could not run.")
        else:
            self._succeed_workflow()

    def _failure_text(self, failed: list[TaskEx]) -> str:
        text = "Failure caused by error in tasks: " + ", ".join(t.name for t in failed) + "\n"
        for t in failed:
            text += f"\n  {t.name} [task_ex_id={t.id}] -> {t.state_info}\n"
            kind = "wf_ex_id" if t.type == "WORKFLOW" else "action_ex_id"
            for unit_id, index, msg in t.runtime.get("failed_actions", []):
                text += f"    [{kind}={unit_id}, idx={index}]: {msg}\n"
        return text

    def _final_context(self) -> dict:
        s = self.s
        ctx: dict = {}
        for t in s.tasks.values():
            # The tasks that ended a branch: completed, and leading to no other task.
            if states.is_completed(t.state) and t.state != states.CANCELLED and not t.runtime.get("next"):
                ctx = dataflow.merge_dicts(ctx, dataflow.out_context(s, t))
        return ctx

    def _succeed_workflow(self, info: str | None = None) -> None:
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
        s.state_info = info
        s.output = output
        s.exec_dirty = True

    def _fail_workflow(self, info: str) -> None:
        s = self.s
        # As Mistral: `{"result": <the failure>}` merged with the evaluated
        # output-on-error, or with the final context (what the tasks that ended
        # the branches published) when there is none. A key of either wins
        # over `result`.
        ctx = {k: v for k, v in self._final_context().items() if not k.startswith("__")}
        extra: Any = None
        if s.spec.output_on_error is not None:
            try:
                extra = dataflow.evaluate(s.spec.output_on_error, s, dataflow.view(s, self._final_context()))
            except expr.ExpressionError as e:
                extra = None
                info = (f"Failed to evaluate expression in output-on-error! (output-on-error: "
                        f"'{s.spec.output_on_error}', exception: '{e}' Cause: '{info}'")
                ctx = {}
        output: dict = {"result": info}
        output.update(extra if extra and isinstance(extra, dict) else ctx)
        s.state = states.ERROR
        s.state_info = info
        s.output = output
        s.exec_dirty = True


def _num_text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _as_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if value is None:
        return "None"
    try:
        return json.dumps(value)
    except (TypeError, ValueError):
        return str(value)
