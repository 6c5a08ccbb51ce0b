"""The conductor: pure decisions for direct and reverse workflows.

Each public method takes an event (start, an action's or a sub-workflow's
outcome, a timer, pause, resume, cancel, rerun, skip), changes the
:class:`ExecState` it was given and records what must happen next (tasks to
store, actions to run, sub-workflows to start, timers to set). It never
touches storage, the clock or the network; ids come from ``new_id``.

The events are here; what they set going lives in one module per concern:
launch (starting tasks), join, items (with-items), outcome (fail-on, retry,
wait-after, publish), transitions, reverse and completion. Every state change
goes through ``ExecState.move`` / ``ExecState.move_task``, which check the
tables in :mod:`levante.engine.states`.
"""
from __future__ import annotations

from typing import Any, Callable

from levante import expr
from levante.engine import dataflow, states
from levante.engine.completion import Completion
from levante.engine.items import Items
from levante.engine.join import Join
from levante.engine.launch import Launch
from levante.engine.model import ExecState, TaskEx
from levante.engine.outcome import Outcome
from levante.engine.reverse import Reverse
from levante.engine.steps import as_text, num_text
from levante.engine.transitions import Transitions


class Conductor(Launch, Join, Items, Outcome, Transitions, Reverse, Completion):
    def __init__(self, state: ExecState, new_id: Callable[[], str]):
        self.s = state
        self.new_id = new_id

    def start(self) -> None:
        """Begin the execution: evaluate vars, start the first tasks."""
        if self.s.state == states.PAUSED:
            return      # paused before it began (a parent's pause cascaded): resume starts it
        self._begin()

    def _begin(self) -> None:
        s = self.s
        s.move(states.RUNNING)
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
        text = info if info is not None else as_text(result)
        if tspec.with_items is not None:
            self._on_item_complete(task, tspec, action_id, index, ok, result, text)
        elif ok:
            self._on_outcome(task, tspec, True, result)
        else:
            # Kept across retries: the execution's state_info lists every attempt, as Mistral's does.
            if task.runtime.failed_actions is None:
                task.runtime.failed_actions = []
            task.runtime.failed_actions.append([action_id, index, text])
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
        rt = task.runtime
        # A timeout covers the whole task, retries included, until a rerun; the
        # other timers belong to one attempt. A timer of an earlier one is stale.
        if kind == "timeout":
            if payload.get("run", 0) != rt.reruns:
                return
        elif payload.get("attempt", 0) != rt.attempt:
            return
        tspec = s.spec.tasks[task.name]
        if kind == "timeout":
            if task.state in (states.RUNNING, states.RUNNING_DELAYED) and rt.pending_outcome is None:
                seconds = num_text(payload.get('seconds'))
                s.cancel_actions_of.append(task.id)
                # As Mistral, the running action itself fails (a sub-workflow is cancelled).
                s.fail_actions_of[task.id] = f"Action timed out [timeout(s)={seconds}]."
                rt.timed_out = True
                info = f"Task timed out [timeout(s)={seconds}]."
                rt.failed_actions = []
                s.move_task(task, states.RUNNING)
                # No action ended: as Mistral, the result is the list of no results.
                self._on_outcome(task, tspec, False, [], info=info)
        elif task.state != states.RUNNING_DELAYED or s.state != states.RUNNING:
            if task.state == states.RUNNING_DELAYED:
                rt.wake_on_resume = payload
                s.mark(task)
            return
        elif kind == "wait_before":
            s.move_task(task, states.RUNNING)
            rt.waited_before = True
            self._start_task(task, tspec)
        elif kind == "retry":
            s.move_task(task, states.RUNNING)
            self._run_units(task, tspec)
        elif kind == "wait_after":
            pending = rt.pending_outcome or {"ok": True}
            rt.pending_outcome = None
            s.move_task(task, states.RUNNING)
            rt.waited_after = True
            self._complete_task(task, tspec, pending["ok"], s.result_of(task), pending.get("info"))
        self._check_completion()

    def pause(self) -> None:
        s = self.s
        if s.state in (states.RUNNING, states.IDLE):
            s.move(states.PAUSED)

    def resume(self) -> None:
        """Continue: decide what was left undecided while paused."""
        s = self.s
        if states.is_completed(s.state):
            return
        if not s.tasks:         # paused before it began
            self._begin()
            return
        s.move(states.RUNNING)
        s.state_info = None
        self._continue()
        self._check_completion()

    def _continue(self) -> None:
        """Pick up what a pause left: paused-before tasks, due timers, undecided tasks."""
        s = self.s
        for task in list(s.tasks.values()):
            if s.state != states.RUNNING:
                return
            rt = task.runtime
            tspec = s.spec.tasks[task.name]
            if task.state == states.IDLE and rt.paused_before:
                s.move_task(task, states.RUNNING)
                self._start_task(task, tspec)
            elif task.state == states.RUNNING_DELAYED and rt.wake_on_resume is not None:
                payload, rt.wake_on_resume = rt.wake_on_resume, None
                self.on_timer(payload)
            elif task.state == states.RUNNING and tspec.with_items is not None and rt.with_items is not None:
                self._launch_items(task, tspec)
            elif states.is_completed(task.state) and not task.processed:
                self._after(task, tspec)
            elif rt.resume_next is not None:
                rest, rt.resume_next = rt.resume_next, None
                s.mark(task)
                self._follow(task, rest, dataflow.view(s, dataflow.out_context(s, task)))
                self._check_missed_joins(task, tspec)

    def cancel(self, info: str | None = None) -> None:
        s = self.s
        if states.is_completed(s.state):
            return
        for task in s.tasks.values():
            if task.state in states.ACTIVE:
                s.move_task(task, states.CANCELLED)
                task.processed = True
                s.cancel_actions_of.append(task.id)
        s.move(states.CANCELLED)
        s.state_info = info
        s.output = {"result": info}

    def force(self, state: str, info: str | None = None) -> None:
        """A client sets SUCCESS or ERROR by hand."""
        s = self.s
        for task in s.tasks.values():
            if task.state in states.ACTIVE:
                s.move_task(task, states.CANCELLED if state == states.SUCCESS else states.ERROR)
                task.state_info = info
                task.processed = True
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
        failed_items = sorted({int(f[1]) for f in task.runtime.failed_actions or ()})
        was_paused = s.state == states.PAUSED
        self._reopen(task, states.RUNNING, ("failed_actions", "timed_out", "waited_before",
                                            "waited_after", "retry_no", "paused_before", "resume_next"))
        task.runtime.attempt += 1
        task.runtime.reruns += 1
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
        rt = task.runtime
        rt.failed_actions = [f for f in rt.failed_actions or () if int(f[1]) != index]
        if rt.with_items is not None:
            rt.with_items.done -= 1

    def _reopen(self, task: TaskEx, new_state: str, forget: tuple[str, ...] = ()) -> None:
        """A failed task gets another chance: it and its execution are undecided again."""
        s = self.s
        s.move(states.RUNNING)
        s.state_info = None
        s.output = None
        s.move_task(task, new_state)
        task.state_info = None
        task.processed = False
        task.runtime.reset("next", "handled", *forget)

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
            states.amend(task, states.ERROR)
            task.state_info = f"Failed to publish variables of task '{task.name}': {e}"
        s._out_ctx_cache.pop(task.id, None)
        s.mark(task)
        self._after(task, tspec)
        if was_paused:
            self._continue()
        self._check_completion()
