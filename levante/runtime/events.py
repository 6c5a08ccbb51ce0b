"""Execution events: what happened to a workflow or task, for whoever listens.

The runtime emits an :class:`Event` on its :class:`EventBus` inside the
transaction that made the change, so a listener that writes (a notification job, a triggered
execution) commits or rolls back together with the change itself.
Listeners must be quick and must not raise for bad user data.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Callable

import sqlalchemy as sa

from levante.engine import states

log = logging.getLogger("levante.events")

WORKFLOW_EVENTS = ("WORKFLOW_LAUNCHED", "WORKFLOW_SUCCEEDED", "WORKFLOW_FAILED", "WORKFLOW_CANCELLED",
                   "WORKFLOW_PAUSED", "WORKFLOW_RESUMED", "WORKFLOW_RERUN")
TASK_EVENTS = ("TASK_LAUNCHED", "TASK_SUCCEEDED", "TASK_FAILED", "TASK_CANCELLED", "TASK_PAUSED",
               "TASK_RESUMED", "TASK_SKIPPED", "TASK_RERUN")


@dataclass
class Event:
    type: str                       # one of WORKFLOW_EVENTS / TASK_EVENTS
    execution_id: str
    workflow_name: str
    params: dict                    # the execution's params (notify settings live there)
    root_execution_id: str | None = None
    task_id: str | None = None
    task_name: str | None = None
    state: str | None = None
    state_info: str | None = None
    time: float = 0.0
    extra: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        d = {"event": self.type, "execution_id": self.execution_id, "workflow_name": self.workflow_name,
             "root_execution_id": self.root_execution_id, "state": self.state,
             "state_info": self.state_info, "timestamp": self.time}
        if self.task_id:
            d.update(task_id=self.task_id, task_name=self.task_name)
        return d


Listener = Callable[[sa.Connection, Event], None]


class EventBus:
    """The listeners of one runtime's execution events (made by the composition
    root and handed to the Runtime; two runtimes in one process share none)."""

    def __init__(self):
        self._listeners: list[Listener] = []

    def subscribe(self, listener: Listener) -> None:
        if listener not in self._listeners:
            self._listeners.append(listener)

    def unsubscribe(self, listener: Listener) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    def emit(self, conn: sa.Connection, event: Event) -> None:
        for listener in list(self._listeners):
            listener(conn, event)


def workflow_event(old: str | None, new: str) -> str | None:
    """The event for a workflow moving from ``old`` to ``new`` (None: no event), as Mistral names it."""
    if old == new:
        return None
    if new == states.RUNNING:
        return {states.PAUSED: "WORKFLOW_RESUMED", states.ERROR: "WORKFLOW_RERUN"}.get(old, "WORKFLOW_LAUNCHED")
    return {states.SUCCESS: "WORKFLOW_SUCCEEDED", states.ERROR: "WORKFLOW_FAILED",
            states.CANCELLED: "WORKFLOW_CANCELLED", states.PAUSED: "WORKFLOW_PAUSED"}.get(new)


def task_event(old: str | None, new: str) -> str | None:
    """The event for a task moving from ``old`` to ``new`` (None: no event), as Mistral names it
    (a join task leaving WAITING is "resumed", a failed task running again is "rerun")."""
    if old == new:
        return None
    if new == states.RUNNING:
        if old == states.ERROR:
            return "TASK_RERUN"
        if old in (states.IDLE, states.PAUSED, states.WAITING):
            return "TASK_RESUMED"
        if old == states.RUNNING_DELAYED:
            return None
        return "TASK_LAUNCHED"
    return {states.SUCCESS: "TASK_SUCCEEDED", states.ERROR: "TASK_FAILED",
            states.CANCELLED: "TASK_CANCELLED", states.PAUSED: "TASK_PAUSED",
            states.SKIPPED: "TASK_SKIPPED"}.get(new)
