"""The base of the conductor's parts: the state they change and the helpers
they share (new tasks, a task's expression evaluator, timers).

Each part of the conductor (launch, join, items, outcome, transitions,
reverse, completion) is a mixin over :class:`Steps`; :class:`~levante.engine.
conductor.Conductor` puts them together and adds the events.
"""
from __future__ import annotations

import json
from typing import Any, Callable

from levante import expr
from levante.engine import dataflow, policies
from levante.engine.model import ExecState, TaskEx, Timer
from levante.engine.with_items import WithItemsError

#: Errors of evaluating what a workflow says: they fail the task, never the engine.
EVAL_ERRORS = (expr.ExpressionError, policies.PolicyError, WithItemsError)


class Steps:
    s: ExecState
    new_id: Callable[[], str]

    def _new_task(self, name: str, state: str, in_tasks: list[str]) -> TaskEx:
        s = self.s
        task = TaskEx(id=self.new_id(), name=name, state=state, in_tasks=in_tasks,
                      seq=len(s.tasks), new=True, result=None)
        if s.spec.tasks[name].workflow:
            task.type = "WORKFLOW"
        s.add_task(task)
        return task

    def _task_eval(self, task: TaskEx, result: Any = None) -> Callable[[Any], Any]:
        data = dataflow.view(self.s, dataflow.in_context(self.s, task))
        return lambda v: dataflow.evaluate(v, self.s, data, task, result)

    def _timer(self, task: TaskEx, kind: str, delay: float, **extra) -> None:
        payload = {"event": "timer", "kind": kind, "task_id": task.id,
                   "attempt": task.runtime.attempt, **extra}
        self.s.timers.append(Timer(delay, payload))


def num_text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def as_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if value is None:
        return "None"
    try:
        return json.dumps(value)
    except (TypeError, ValueError):
        return str(value)
