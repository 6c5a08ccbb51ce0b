"""What a live event stream of one execution knows and sends.

A stream starts from a snapshot of the execution read from the database,
then takes events from two sources: the in-process hub (exact events, right
after each commit) and, when the hub is quiet, a fresh snapshot whenever the
execution's row version moved (changes made by other processes). The
:class:`Tracker` keeps the last state it sent for the workflow and each task,
so an event seen from both sources goes out once, in order.
"""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from levante.engine import states
from levante.notify.payload import ts
from levante.runtime import events
from levante.store.db import Database
from levante.store.schema import task_executions as TE
from levante.store.schema import workflow_executions as WE

DONE = (states.SUCCESS, states.ERROR, states.CANCELLED)


def read_version(db: Database, exec_id: str) -> int | None:
    """The execution row's version (None: no such execution)."""
    with db.read() as conn:
        return conn.execute(sa.select(WE.c.version).where(WE.c.id == exec_id)).scalar()


def read_snapshot(db: Database, exec_id: str) -> dict | None:
    """The execution and its tasks as they are now (None: no such execution)."""
    with db.read() as conn:
        row = conn.execute(sa.select(
            WE.c.id, WE.c.workflow_name, WE.c.state, WE.c.state_info, WE.c.root_execution_id,
            WE.c.task_execution_id, WE.c.created_at, WE.c.updated_at, WE.c.version)
            .where(WE.c.id == exec_id)).first()
        if row is None:
            return None
        tasks = conn.execute(sa.select(TE.c.id, TE.c.name, TE.c.state, TE.c.state_info, TE.c.updated_at)
                             .where(TE.c.workflow_execution_id == exec_id).order_by(TE.c.seq)).fetchall()
    return {
        "id": row.id, "workflow_name": row.workflow_name, "state": row.state,
        "state_info": row.state_info, "root_execution_id": row.root_execution_id,
        "task_execution_id": row.task_execution_id, "created_at": ts(row.created_at),
        "updated_at": ts(row.updated_at), "version": row.version, "_updated": row.updated_at,
        "tasks": [{"id": t.id, "name": t.name, "state": t.state, "state_info": t.state_info,
                   "_updated": t.updated_at} for t in tasks],
    }


def _public(d: dict) -> dict:
    return {k: v for k, v in d.items() if not k.startswith("_")}


class Tracker:
    def __init__(self, snapshot: dict):
        self.execution_id = snapshot["id"]
        self.workflow_name = snapshot["workflow_name"]
        self.root_execution_id = snapshot["root_execution_id"]
        self.state = snapshot["state"]
        self.state_info = snapshot["state_info"]
        self.version = snapshot["version"]
        self.tasks: dict[str, str] = {t["id"]: t["state"] for t in snapshot["tasks"]}
        self.first = dict(_public(snapshot), tasks=[_public(t) for t in snapshot["tasks"]])
        self.first.pop("version", None)

    @property
    def done(self) -> bool:
        return self.state in DONE

    def accept(self, ev: dict) -> list[dict]:
        """An event from the hub: [ev] if it is news, [] if already sent."""
        if ev.get("execution_id") != self.execution_id:
            return []
        task_id = ev.get("task_id")
        if task_id:
            old = self.tasks.get(task_id)
            if old == ev.get("state"):
                return []
            if ev.get("event") == "TASK_LAUNCHED" and old not in (None, states.WAITING):
                return []   # a later state was already sent from a snapshot
            self.tasks[task_id] = ev.get("state")
            return [ev]
        if ev.get("state") == self.state or self.done:
            return []
        self.state, self.state_info = ev.get("state"), ev.get("state_info")
        return [ev]

    def reconcile(self, snapshot: dict) -> list[dict]:
        """Events for what changed since the last state sent, made from a snapshot."""
        self.version = snapshot["version"]
        out: list[dict] = []
        for t in snapshot["tasks"]:
            old = self.tasks.get(t["id"])
            if old == t["state"]:
                continue
            self.tasks[t["id"]] = t["state"]
            kind = events.task_event(old, t["state"])
            if kind:
                out.append(self._event(kind, t["state"], t["state_info"], t["_updated"],
                                       task_id=t["id"], task_name=t["name"]))
        if snapshot["state"] != self.state and not self.done:
            kind = events.workflow_event(self.state, snapshot["state"])
            self.state, self.state_info = snapshot["state"], snapshot["state_info"]
            if kind:
                ev = self._event(kind, snapshot["state"], snapshot["state_info"], snapshot["_updated"])
                if kind == "WORKFLOW_LAUNCHED":
                    out.insert(0, ev)
                else:
                    out.append(ev)
        return out

    def _event(self, kind: str, state: str, info: str | None, when: float | None, **task: Any) -> dict:
        d = {"event": kind, "execution_id": self.execution_id, "workflow_name": self.workflow_name,
             "root_execution_id": self.root_execution_id, "state": state, "state_info": info,
             "timestamp": when}
        d.update(task)
        return d
