"""Execution and task states, and the transitions allowed between them.

The tables are data: every state change of the engine goes through
:func:`move`, which checks them, and the API consults the same ones, so a
transition the engine would never make is also refused at the API.
"""
from __future__ import annotations

from levante.errors import IllegalStateChange

IDLE = "IDLE"
WAITING = "WAITING"
RUNNING = "RUNNING"
RUNNING_DELAYED = "DELAYED"
PAUSED = "PAUSED"
SUCCESS = "SUCCESS"
CANCELLED = "CANCELLED"
ERROR = "ERROR"
SKIPPED = "SKIPPED"

ALL = (IDLE, WAITING, RUNNING, RUNNING_DELAYED, PAUSED, SUCCESS, CANCELLED, ERROR, SKIPPED)
COMPLETED = frozenset({SUCCESS, ERROR, CANCELLED, SKIPPED})
ACTIVE = frozenset({RUNNING, RUNNING_DELAYED, WAITING, IDLE})

#: Workflow execution: from-state -> states it may move to.
WORKFLOW_TRANSITIONS: dict[str, frozenset[str]] = {
    IDLE: frozenset({RUNNING, PAUSED, ERROR, CANCELLED}),   # PAUSED: a parent's pause before it began
    RUNNING: frozenset({PAUSED, SUCCESS, ERROR, CANCELLED}),
    PAUSED: frozenset({RUNNING, ERROR, CANCELLED}),
    SUCCESS: frozenset(),
    ERROR: frozenset({RUNNING}),   # rerun of a failed task
    CANCELLED: frozenset({RUNNING}),   # as Mistral: a cancelled execution may run again
}

#: Moves in the table that only the engine makes (a task's rerun, a pause that
#: cascades from a parent), never a client's PUT.
ENGINE_ONLY_WORKFLOW_MOVES = frozenset({(ERROR, RUNNING), (CANCELLED, RUNNING), (IDLE, PAUSED)})

#: Task execution: from-state -> states it may move to.
TASK_TRANSITIONS: dict[str, frozenset[str]] = {
    IDLE: frozenset({RUNNING, WAITING, ERROR, CANCELLED}),
    WAITING: frozenset({RUNNING, ERROR, CANCELLED}),
    RUNNING: frozenset({RUNNING_DELAYED, IDLE, SUCCESS, ERROR, CANCELLED, PAUSED}),   # IDLE: pause-before
    RUNNING_DELAYED: frozenset({RUNNING, ERROR, CANCELLED}),
    PAUSED: frozenset({RUNNING, ERROR, CANCELLED}),
    SUCCESS: frozenset(),
    ERROR: frozenset({RUNNING, SKIPPED}),
    CANCELLED: frozenset({RUNNING}),   # as Mistral
    SKIPPED: frozenset(),
}

#: A task that has just ended may still turn into an error while its end is
#: being decided (its publish or its transitions fail to evaluate): see amend().
TASK_AMENDMENTS: dict[str, frozenset[str]] = {
    SUCCESS: frozenset({ERROR}),
    ERROR: frozenset({ERROR}),
    SKIPPED: frozenset({ERROR}),
}

#: States a client may ask for with PUT /v2/executions/{id}.
API_WORKFLOW_STATES = (RUNNING, PAUSED, SUCCESS, ERROR, CANCELLED)


def is_completed(state: str) -> bool:
    return state in COMPLETED


def can_workflow_move(src: str, dst: str) -> bool:
    return src == dst or dst in WORKFLOW_TRANSITIONS.get(src, ())


def can_task_move(src: str, dst: str) -> bool:
    return src == dst or dst in TASK_TRANSITIONS.get(src, ())


def can_client_move(src: str, dst: str) -> bool:
    """May a client's PUT move a workflow execution from ``src`` to ``dst``?"""
    return can_workflow_move(src, dst) and (src, dst) not in ENGINE_ONLY_WORKFLOW_MOVES


def move(obj, dst: str) -> None:
    """Set ``obj.state`` (a workflow or a task execution) to ``dst`` if its table
    (``obj.TRANSITIONS``) allows the move; raise IllegalStateChange otherwise."""
    src = obj.state
    if src != dst and dst not in obj.TRANSITIONS.get(src, ()):
        raise IllegalStateChange(f"{type(obj).__name__} {obj.id} cannot move from {src} to {dst}")
    obj.state = dst


def amend(task, dst: str) -> None:
    """Turn a task that has just ended into ``dst`` (see TASK_AMENDMENTS)."""
    src = task.state
    if dst not in TASK_AMENDMENTS.get(src, ()):
        raise IllegalStateChange(f"task {task.id} cannot be amended from {src} to {dst}")
    task.state = dst
