"""Immutable spec objects for Mistral Workflow Language v2 documents.

The parser (``levante.lang.parser``) turns YAML text into these; the engine only
ever reads them. Values that may hold expressions (``<% %>`` / ``{{ }}``) are kept
as the raw Python data from the YAML (str, dict, list, ...); ``levante.expr``
evaluates them at run time.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

#: Transition targets that are engine commands, unless the workflow has a task
#: of that name (then the transition runs the task).
ENGINE_COMMANDS = ("fail", "succeed", "pause", "noop")


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"

    def __bool__(self) -> bool:
        return False


#: Marker for a workflow input without a default value.
MISSING: Any = _Missing()


@dataclass(frozen=True)
class InputParam:
    name: str
    default: Any = MISSING

    @property
    def required(self) -> bool:
        return self.default is MISSING


@dataclass(frozen=True)
class Transition:
    """One entry of on-success / on-error / on-complete.

    ``target`` is a task name or an engine command (``fail``, ``succeed``,
    ``pause``, ``noop``); ``condition`` is an expression string or None (always);
    ``params`` holds engine-command arguments (e.g. ``msg`` for fail/pause).
    """

    target: str
    condition: Any = None
    params: dict = field(default_factory=dict)

    @property
    def is_command(self) -> bool:
        """The target is an engine command's name (a task of that name would win)."""
        return self.target in ENGINE_COMMANDS


@dataclass(frozen=True)
class OnClause:
    """The advanced form of on-success/on-error/on-complete.

    ``publish`` / ``publish_global`` are evaluated before ``next`` transitions.
    The simple forms (a name, a list) parse into an OnClause with only ``next``.
    """

    next: tuple[Transition, ...] = ()
    publish: dict = field(default_factory=dict)
    publish_global: dict = field(default_factory=dict)


@dataclass(frozen=True)
class WithItems:
    """``with-items``: a tuple of (variable name, expression or literal list)."""

    pairs: tuple[tuple[str, Any], ...]


@dataclass(frozen=True)
class RetryPolicy:
    count: Any = 0
    delay: Any = 0
    break_on: Any = None
    continue_on: Any = None


@dataclass(frozen=True)
class TaskSpec:
    name: str
    action: str | None = None          # action name, may be an expression
    workflow: str | None = None        # sub-workflow name, may be an expression
    input: Any = field(default_factory=dict)    # action/workflow input (incl. inline params),
                                                # or one expression giving it
    publish: dict = field(default_factory=dict)
    publish_on_error: dict = field(default_factory=dict)
    publish_on_skip: dict = field(default_factory=dict)
    on_success: OnClause | None = None
    on_error: OnClause | None = None
    on_complete: OnClause | None = None
    on_skip: OnClause | None = None
    join: Any = None                   # None | "all" | "one" (== 1) | int
    with_items: WithItems | None = None
    concurrency: Any = None
    retry: RetryPolicy | None = None
    wait_before: Any = None
    wait_after: Any = None
    timeout: Any = None
    pause_before: Any = None
    fail_on: Any = None
    keep_result: Any = True
    safe_rerun: Any = False
    target: Any = None
    requires: tuple[str, ...] = ()     # reverse workflows
    description: str | None = None
    tags: tuple[str, ...] = ()
    line: int | None = None            # 1-based line of the task's key in the source


@dataclass(frozen=True)
class WorkflowSpec:
    name: str                          # full name ("wb.wf" inside a workbook)
    type: str = "direct"               # "direct" | "reverse"
    description: str | None = None
    tags: tuple[str, ...] = ()
    input: tuple[InputParam, ...] = ()
    output: Any = None
    output_on_error: Any = None
    vars: dict = field(default_factory=dict)
    task_defaults: dict = field(default_factory=dict)  # raw task-defaults mapping
    tasks: dict[str, TaskSpec] = field(default_factory=dict)  # in document order
    line: int | None = None
    definition: str = ""               # the YAML text this workflow was defined by

    def start_tasks(self) -> list[TaskSpec]:
        """Tasks of a direct workflow that no transition leads to."""
        targets: set[str] = set()
        for t in self.tasks.values():
            for clause in (t.on_success, t.on_error, t.on_complete, t.on_skip):
                if clause:
                    targets.update(tr.target for tr in clause.next)
        return [t for t in self.tasks.values() if t.name not in targets]

    def inbound(self, task_name: str) -> list[str]:
        """Names of tasks that have a transition to ``task_name`` (document order)."""
        return list(self._inbound.get(task_name, ()))

    def inbound_count(self, task_name: str) -> int:
        return len(self._inbound.get(task_name, ()))

    @cached_property
    def _inbound(self) -> dict[str, tuple[str, ...]]:
        """Task name -> names of the tasks with a transition to it, computed once."""
        found: dict[str, dict[str, None]] = {}
        for t in self.tasks.values():
            for clause in (t.on_success, t.on_error, t.on_complete, t.on_skip):
                for tr in (clause.next if clause else ()):
                    found.setdefault(tr.target, {})[t.name] = None
        return {name: tuple(names) for name, names in found.items()}


@dataclass(frozen=True)
class ActionSpec:
    """An ad-hoc action: a new name on top of a ``base`` action."""

    name: str
    base: str
    base_input: dict = field(default_factory=dict)
    input: tuple[InputParam, ...] = ()
    output: Any = None
    description: str | None = None
    tags: tuple[str, ...] = ()
    line: int | None = None
    definition: str = ""


@dataclass(frozen=True)
class WorkbookSpec:
    name: str
    description: str | None = None
    tags: tuple[str, ...] = ()
    workflows: dict[str, WorkflowSpec] = field(default_factory=dict)  # keyed by full name
    actions: dict[str, ActionSpec] = field(default_factory=dict)      # keyed by full name
    definition: str = ""
