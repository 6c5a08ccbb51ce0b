"""The in-memory picture of one workflow execution that the conductor works on.

The runtime builds an :class:`ExecState` from storage (or keeps it cached), the
conductor changes it, and the runtime writes back what is marked dirty. Nothing
here does I/O: results that live outside the hot rows are fetched through the
loader callables the runtime passes in.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from levante.lang.spec import WorkflowSpec


class _NotLoaded:
    def __repr__(self) -> str:
        return "NOT_LOADED"


NOT_LOADED: Any = _NotLoaded()


@dataclass
class TaskEx:
    id: str
    name: str
    state: str
    state_info: str | None = None
    published: dict = field(default_factory=dict)
    result: Any = NOT_LOADED
    in_tasks: list[str] = field(default_factory=list)   # ids of the tasks that led here
    runtime: dict = field(default_factory=dict)         # with-items counters, join arrivals, ...
    type: str = "ACTION"
    processed: bool = False     # transitions evaluated (False while paused)
    seq: int = 0                # creation order within the execution
    new: bool = False           # not yet stored
    stored_state: str | None = None   # the state last written (to tell what changed)


@dataclass
class ActionRequest:
    """Run action ``name`` with ``input`` for task ``task_id`` (item ``index``)."""

    id: str
    task_id: str
    task_name: str
    name: str
    input: dict
    index: int = 0
    safe_rerun: bool = False
    timeout: float | None = None


@dataclass
class SubWorkflowRequest:
    """Start workflow ``name`` as a child of task ``task_id`` (item ``index``)."""

    id: str
    task_id: str
    task_name: str
    name: str
    input: dict
    params: dict
    index: int = 0


@dataclass
class Timer:
    """Deliver engine event ``payload`` to this execution after ``delay`` seconds."""

    delay: float
    payload: dict


@dataclass
class Changes:
    """What one conductor step decided, for the runtime to store in one transaction."""

    tasks: list
    exec_dirty: bool
    actions: list
    subworkflows: list
    timers: list
    cancel_actions_of: list
    drop_outputs_of: list = field(default_factory=list)   # task ids (keep-result: false)
    # task id -> error: its running actions fail with it instead of being cancelled (timeout)
    fail_actions_of: dict = field(default_factory=dict)
    done_actions: list = field(default_factory=list)      # to record as already SUCCESS


@dataclass
class ExecState:
    id: str
    workflow_name: str
    spec: WorkflowSpec
    input: dict
    params: dict = field(default_factory=dict)
    context: dict = field(default_factory=dict)     # evaluated vars
    state: str = "RUNNING"
    state_info: str | None = None
    output: Any = None
    published_global: dict = field(default_factory=dict)
    tasks: dict[str, TaskEx] = field(default_factory=dict)   # by id, creation order
    # Callables supplied by the runtime: task id -> stored result; task id ->
    # [(index, ok, result_or_error, action_id)] of a with-items task's actions.
    load_result: Callable[[str], Any] | None = None
    load_item_results: Callable[[str], list] | None = None
    root_execution_id: str | None = None
    task_execution_id: str | None = None      # the parent task, for a sub-workflow
    created_at: str | None = None
    updated_at: str | None = None
    # change tracking for the runtime
    dirty_tasks: set = field(default_factory=set)
    exec_dirty: bool = False
    actions_to_run: list[ActionRequest] = field(default_factory=list)
    subworkflows_to_start: list[SubWorkflowRequest] = field(default_factory=list)
    timers: list[Timer] = field(default_factory=list)
    cancel_actions_of: list[str] = field(default_factory=list)
    drop_outputs_of: list[str] = field(default_factory=list)
    fail_actions_of: dict[str, str] = field(default_factory=dict)
    # Action executions that ended as they were made (std.noop of a task without an action).
    done_actions: list[ActionRequest] = field(default_factory=list)
    _out_ctx_cache: dict = field(default_factory=dict, repr=False)

    @property
    def env(self) -> dict:
        return self.params.get("env") or {}

    def task_by_name(self, name: str) -> TaskEx | None:
        """The latest execution of task ``name``."""
        found = None
        for t in self.tasks.values():
            if t.name == name:
                found = t
        return found

    def result_of(self, task: TaskEx) -> Any:
        if task.result is NOT_LOADED:
            task.result = self.load_result(task.id) if self.load_result else None
        return task.result

    def mark(self, task: TaskEx) -> None:
        self.dirty_tasks.add(task.id)

    def take_changes(self) -> Changes:
        """Hand the pending changes to the runtime and reset the trackers."""
        tasks = [self.tasks[i] for i in self.dirty_tasks if i in self.tasks]
        tasks.sort(key=lambda t: t.seq)
        out = Changes(tasks, self.exec_dirty, self.actions_to_run, self.subworkflows_to_start,
                      self.timers, self.cancel_actions_of, self.drop_outputs_of, self.fail_actions_of,
                      self.done_actions)
        self.dirty_tasks = set()
        self.exec_dirty = False
        self.actions_to_run = []
        self.subworkflows_to_start = []
        self.timers = []
        self.cancel_actions_of = []
        self.drop_outputs_of = []
        self.fail_actions_of = {}
        self.done_actions = []
        return out
