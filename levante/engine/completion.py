"""The workflow's end: when nothing can run any more, succeed (with the
workflow's output) or fail (with every unhandled error, and output-on-error).

Deciding whether anything can still run does not scan every task on every
event: the state keeps the ids of the tasks that may be unfinished, oldest
first, and the ones found finished are dropped from it as they are met, so
each check looks at the tasks that ended since the last one and at one more.
"""
from __future__ import annotations

from typing import Any

from levante import expr
from levante.engine import dataflow, states
from levante.engine.model import TaskEx
from levante.engine.steps import Steps


class Completion(Steps):
    def _check_completion(self) -> None:
        s = self.s
        if s.state != states.RUNNING:
            return
        open_ids = s.open_ids()
        waiting: list[TaskEx] = []
        finished: list[str] = []
        busy = False
        for tid in open_ids:
            t = s.tasks[tid]
            if t.state == states.WAITING:
                waiting.append(t)
            elif t.state in states.ACTIVE or (states.is_completed(t.state) and not t.processed):
                busy = True
                break
            elif states.is_completed(t.state):
                finished.append(tid)
        for tid in finished:
            del open_ids[tid]
        if busy:
            return
        for t in sorted(waiting, key=lambda t: t.seq):   # nothing left that could ever satisfy these joins
            s.move_task(t, states.ERROR)
            t.result = []
            t.state_info = (f"Failed to satisfy join: task '{t.name}' received "
                            f"{len(t.runtime.arrivals or ())} of {self._join_needed(s.spec.tasks[t.name])} "
                            "inbound transitions.")
            t.processed = True
            t.runtime.next = 0
        unhandled = [t for t in s.tasks.values()
                     if t.state == states.ERROR and not t.runtime.handled]
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
            for unit_id, index, msg in t.runtime.failed_actions or ():
                text += f"    [{kind}={unit_id}, idx={index}]: {msg}\n"
        return text

    def _final_context(self) -> dict:
        s = self.s
        ctx: dict = {}
        for t in s.tasks.values():
            # The tasks that ended a branch: completed, and leading to no other task.
            if states.is_completed(t.state) and t.state != states.CANCELLED and not t.runtime.next:
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
        s.move(states.SUCCESS)
        s.state_info = info
        s.output = output

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
        s.move(states.ERROR)
        s.state_info = info
        s.output = output
