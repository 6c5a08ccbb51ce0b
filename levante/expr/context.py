"""What expression functions such as ``task()`` and ``env()`` read from.

The engine implements :class:`FunctionContext`; :class:`StaticContext` is a
plain in-memory implementation for tests and ad-hoc evaluation.
"""

from __future__ import annotations

import contextvars
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class FunctionContext(Protocol):
    """Source of the workflow facts the expression functions expose."""

    def task(self, name: str | None) -> dict | None:
        """The task execution called ``name``; the current task when None.

        A dict with the keys ``id``, ``name``, ``state``, ``state_info``,
        ``result``, ``published``, ``workflow_execution_id``, ``spec`` and
        ``type``; None when there is no such task.
        """

    def tasks(self, workflow_execution_id: str | None = None, recursive: bool = False,
              state: str | None = None, flat: bool = False) -> list[dict]:
        """Task executions (same dicts as :meth:`task`) matching the filters."""

    def execution(self) -> dict:
        """The workflow execution: ``id``, ``name``, ``spec``, ``input``,
        ``params``, ``created_at``, ``updated_at``, ``root_execution_id``."""

    def env(self) -> dict:
        """The execution's environment (``env()``)."""

    def global_var(self, name: str) -> Any:
        """The workflow-global variable ``name`` (``global(name)``)."""


@dataclass
class StaticContext:
    """A :class:`FunctionContext` over fixed data.

    ``task_list`` holds task dicts in execution order; ``current_task`` names
    the task that ``task()`` without a name returns.
    """

    task_list: list[dict] = field(default_factory=list)
    current_task: str | None = None
    execution_info: dict = field(default_factory=dict)
    env_vars: dict = field(default_factory=dict)
    globals_vars: dict = field(default_factory=dict)

    def task(self, name: str | None) -> dict | None:
        if name is None:
            name = self.current_task
            if name is None:
                return None
        found = None
        for t in self.task_list:
            if t.get("name") == name:
                found = t  # the latest one wins, as in Mistral
        return found

    def tasks(self, workflow_execution_id: str | None = None, recursive: bool = False,
              state: str | None = None, flat: bool = False) -> list[dict]:
        out = []
        for t in self.task_list:
            if workflow_execution_id is not None and \
                    t.get("workflow_execution_id") != workflow_execution_id:
                continue
            if state and t.get("state") != state:
                continue
            out.append(t)
        return out

    def execution(self) -> dict:
        return self.execution_info

    def env(self) -> dict:
        return self.env_vars

    def global_var(self, name: str) -> Any:
        return self.globals_vars.get(name)


class EvalState:
    """What one top-level :func:`levante.expr.evaluate` call works on."""

    __slots__ = ("data", "fctx", "_yaql_data", "budget", "text")

    def __init__(self, data: Any, fctx: FunctionContext | None, budget: Any = None):
        self.data = data
        self.fctx = fctx
        self._yaql_data = _UNSET
        self.budget = budget    # a levante.expr.budget.Budget, or None (no limits)
        self.text = None        # the expression string being evaluated (for messages)

    def yaql_data(self, convert) -> Any:
        """``data`` converted for yaql, once per evaluation when possible.

        ``convert(data)`` returns the converted data and whether it can be
        reused by the next expression of the same evaluation.
        """
        if self._yaql_data is not _UNSET:
            return self._yaql_data
        value, reusable = convert(self.data)
        if reusable:
            self._yaql_data = value
        return value


_UNSET = object()

#: The evaluation in progress (functions read their context from here).
CURRENT: contextvars.ContextVar[EvalState | None] = contextvars.ContextVar(
    "levante_expr_state", default=None)
