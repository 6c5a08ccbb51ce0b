"""Execution and task states, and the transitions allowed between them.

The tables are data: the conductor and the API consult the same ones, so a
transition the engine would never make is also refused at the API.
"""
from __future__ import annotations

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
    IDLE: frozenset({RUNNING, ERROR, CANCELLED}),
    RUNNING: frozenset({PAUSED, SUCCESS, ERROR, CANCELLED}),
    PAUSED: frozenset({RUNNING, ERROR, CANCELLED}),
    SUCCESS: frozenset(),
    ERROR: frozenset({RUNNING}),   # rerun of a failed task
    CANCELLED: frozenset(),
}

#: Task execution: from-state -> states it may move to.
TASK_TRANSITIONS: dict[str, frozenset[str]] = {
    IDLE: frozenset({RUNNING, WAITING, ERROR, CANCELLED}),
    WAITING: frozenset({RUNNING, ERROR, CANCELLED}),
    RUNNING: frozenset({RUNNING_DELAYED, IDLE, SUCCESS, ERROR, CANCELLED, PAUSED}),   # IDLE: pause-before
    RUNNING_DELAYED: frozenset({RUNNING, ERROR, CANCELLED}),
    PAUSED: frozenset({RUNNING, ERROR, CANCELLED}),
    SUCCESS: frozenset(),
    ERROR: frozenset({RUNNING, SKIPPED}),
    CANCELLED: frozenset(),
    SKIPPED: frozenset(),
}

#: States a client may ask for with PUT /v2/executions/{id}.
API_WORKFLOW_STATES = (RUNNING, PAUSED, SUCCESS, ERROR, CANCELLED)


def is_completed(state: str) -> bool:
    return state in COMPLETED


def can_workflow_move(src: str, dst: str) -> bool:
    return src == dst or dst in WORKFLOW_TRANSITIONS.get(src, ())


def can_task_move(src: str, dst: str) -> bool:
    return src == dst or dst in TASK_TRANSITIONS.get(src, ())
