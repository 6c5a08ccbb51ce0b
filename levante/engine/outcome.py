"""Finishing tasks: when a task's work ends, apply fail-on, retry and wait-after,
then complete it: its result, keep-result, and what it publishes."""
from __future__ import annotations

from typing import Any

from levante import expr
from levante.engine import dataflow, policies, states
from levante.engine.model import TaskEx
from levante.engine.steps import EVAL_ERRORS, Steps
from levante.lang.spec import OnClause, TaskSpec


class Outcome(Steps):
    def _on_outcome(self, task: TaskEx, tspec: TaskSpec, ok: bool, result: Any,
                    info: str | None = None) -> None:
        """The task's work ended: apply fail-on, retry and wait-after, then complete it."""
        s = self.s
        rt = task.runtime
        ev = self._task_eval(task, result)
        try:
            if ok and tspec.fail_on is not None and not rt.timed_out and policies.flag(tspec.fail_on, ev):
                # The action succeeded: Mistral still publishes what `publish` says.
                ok, info = False, "Failed by 'fail-on' policy"
                rt.failed_by_policy = True
            if not rt.timed_out:
                attempt = rt.retry_no or 0
                again, delay = policies.should_retry(tspec.retry, ok, attempt, ev,
                                                     getattr(s.caps, "max_retry_count", 0))
                if again:
                    rt.retry_no = attempt + 1
                    rt.attempt += 1
                    if tspec.with_items is not None:     # each round of items starts afresh
                        rt.failed_actions = None
                    s.mark(task)
                    if delay > 0:
                        s.move_task(task, states.RUNNING_DELAYED)
                        self._timer(task, "retry", delay)
                    else:
                        self._run_units(task, tspec)
                    return
            wait = 0.0 if rt.waited_after else policies.number(tspec.wait_after, ev, "wait-after")
        except EVAL_ERRORS as e:
            ok, info, wait = False, str(e), 0.0
        if wait > 0:
            task.result = result if ok or tspec.with_items is not None else (result if result is not None else info)
            rt.pending_outcome = {"ok": ok, "info": info}   # also stops the timeout
            s.move_task(task, states.RUNNING_DELAYED)
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
        s.move_task(task, states.SUCCESS if ok else states.ERROR)
        task.state_info = None if ok else info
        try:
            outcome = tspec.on_success if ok else tspec.on_error
            by_policy, task.runtime.failed_by_policy = task.runtime.failed_by_policy, False
            own = tspec.publish if ok or by_policy else tspec.publish_on_error
            self._publish(task, tspec, outcome, own, result, data)
        except expr.ExpressionError as e:
            ok = False
            info = f"Failed to publish variables of task '{task.name}': {e}"
        try:
            keep = tspec.keep_result is None or policies.flag(tspec.keep_result, self._task_eval(task, result))
        except EVAL_ERRORS:
            keep = True
        if not keep:
            # As Mistral: the result is gone, from the task and from its action
            # executions' output (a sub-workflow keeps its own output).
            task.result = [None] * len(result) if tspec.with_items is not None and isinstance(result, list) \
                else None
            if not tspec.workflow:
                s.drop_outputs_of.append(task.id)
        if not ok:
            states.amend(task, states.ERROR)     # its publish failed
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
