"""The in-memory picture of one workflow execution that the conductor works on.

The runtime builds an :class:`ExecState` from storage (or keeps it cached), the
conductor changes it, and the runtime writes back what is marked dirty. Nothing
here does I/O: results that live outside the hot rows are fetched through the
loader callables the runtime passes in.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar

from levante.engine import states
from levante.engine.task_runtime import TaskRuntime
from levante.lang.spec import WorkflowSpec


class _NotLoaded:
    def __repr__(self) -> str:
        return "NOT_LOADED"


NOT_LOADED: Any = _NotLoaded()


@dataclass
class TaskEx:
    TRANSITIONS: ClassVar[dict] = states.TASK_TRANSITIONS

    id: str
    name: str
    state: str
    state_info: str | None = None
    published: dict = field(default_factory=dict)
    result: Any = NOT_LOADED
    in_tasks: list[str] = field(default_factory=list)   # ids of the tasks that led here
    runtime: TaskRuntime = field(default_factory=TaskRuntime)   # with-items counters, join arrivals, ...
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
    # (ok, result or error, state_info, output JSON) once it ran inside the engine step
    # (runtime/inline.py)
    outcome: tuple | None = None
    # How the runtime handles it (runtime/inline.py): ``stored``, its action execution
    # is in the database already (RUNNING), so it is updated rather than inserted;
    # ``deferred``, a later engine step runs it (an engine ``run`` event), not an executor.
    stored: bool = False
    deferred: bool = False
    input_text: str | None = None       # its input as JSON, once made


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


@dataclass(frozen=True)
class Caps:
    """Limits on what an untrusted workflow may ask for, each a setting (0: no limit)."""
    max_with_items: int = 0          # items of one with-items task
    max_retry_count: int = 0         # retry count of a task
    max_executions_per_root: int = 0     # executions under one root execution
    max_nesting_depth: int = 0           # depth of an execution under its root


@dataclass
class ExecState:
    TRANSITIONS: ClassVar[dict] = states.WORKFLOW_TRANSITIONS

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
    # The budget of every expression evaluation (levante.expr.Budget), supplied
    # by the runtime; None: no time limit.
    budget: Any = None
    # Caps on what one execution may ask for (levante.engine.model.Caps); None: no caps.
    caps: Any = None
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
    # Action executions that ended as they were made (std.noop of a task without an
    # action, actions run inside the step): stored finished, with their ``outcome``.
    done_actions: list[ActionRequest] = field(default_factory=list)
    _out_ctx_cache: dict = field(default_factory=dict, repr=False)
    # Indexes kept as tasks are added and moved, built from ``tasks`` on first use:
    # name -> latest task of that name; ids of tasks that may still be unfinished
    # (active, or ended with their transitions not yet taken).
    _latest: dict | None = field(default=None, repr=False)
    _open: dict | None = field(default=None, repr=False)    # ids in the order they opened

    @property
    def env(self) -> dict:
        return self.params.get("env") or {}

    def task_by_name(self, name: str) -> TaskEx | None:
        """The latest execution of task ``name``."""
        if self._latest is None:
            self._latest = {t.name: t for t in self.tasks.values()}
        return self._latest.get(name)

    def open_ids(self) -> dict:
        """Ids of the tasks that may be unfinished, oldest first (a superset:
        callers drop the ones they find finished)."""
        if self._open is None:
            self._open = {t.id: None for t in self.tasks.values()
                          if not (states.is_completed(t.state) and t.processed)}
        return self._open

    def add_task(self, task: TaskEx) -> None:
        self.tasks[task.id] = task
        if self._latest is not None:
            self._latest[task.name] = task
        self.open_ids()[task.id] = None
        self.mark(task)

    def move_task(self, task: TaskEx, dst: str) -> None:
        """The one way a task changes state: checked against the task table."""
        states.move(task, dst)
        self.open_ids()[task.id] = None
        self.mark(task)

    def move(self, dst: str) -> None:
        """The one way this execution changes state: checked against the workflow table."""
        states.move(self, dst)
        self.exec_dirty = True

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
