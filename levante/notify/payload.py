"""The body a webhook receives: Mistral's notification data for the event.

Built inside the transaction that made the change, so it describes the
execution or task as it was at that moment, whenever it is delivered.
The fields are Mistral's (``mistral/engine/workflows.py`` and ``tasks.py``,
``_notify``), plus ``event`` (the event name, which Mistral passes to its
publishers but leaves out of the webhook body) and, for tasks,
``root_execution_id``.
"""
from __future__ import annotations

import time
from typing import Any

import sqlalchemy as sa

from levante.runtime.events import Event
from levante.store.schema import task_executions as TE
from levante.store.schema import workflow_executions as WE


def ts(value: float | None) -> str | None:
    """Mistral's timestamp text (UTC, seconds)."""
    if value is None:
        return None
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(value))


def build(conn: sa.Connection, ev: Event) -> dict[str, Any]:
    return task_data(conn, ev) if ev.task_id else workflow_data(conn, ev)


def workflow_data(conn: sa.Connection, ev: Event) -> dict[str, Any]:
    # The row's state is written after the events are emitted: take the
    # state from the event and only the fixed columns from the row.
    row = conn.execute(sa.select(WE.c.workflow_id, WE.c.workflow_namespace, WE.c.project_id,
                                 WE.c.task_execution_id, WE.c.created_at)
                       .where(WE.c.id == ev.execution_id)).first()
    return {
        "id": ev.execution_id,
        "name": ev.workflow_name,
        "workflow_name": ev.workflow_name,
        "workflow_namespace": row.workflow_namespace if row else ev.params.get("namespace", ""),
        "workflow_id": row.workflow_id if row else None,
        "state": ev.state,
        "state_info": ev.state_info,
        "project_id": row.project_id if row else None,
        "task_execution_id": row.task_execution_id if row else None,
        "root_execution_id": ev.root_execution_id,
        "created_at": ts(row.created_at) if row else None,
        "updated_at": ts(ev.time),
        "event": ev.type,
    }


def task_data(conn: sa.Connection, ev: Event) -> dict[str, Any]:
    row = conn.execute(sa.select(TE.c.workflow_id, TE.c.workflow_namespace, TE.c.project_id,
                                 TE.c.type, TE.c.created_at, TE.c.started_at, TE.c.finished_at)
                       .where(TE.c.id == ev.task_id)).first()
    return {
        "id": ev.task_id,
        "name": ev.task_name,
        "workflow_execution_id": ev.execution_id,
        "workflow_name": ev.workflow_name,
        "workflow_namespace": row.workflow_namespace if row else ev.params.get("namespace", ""),
        "workflow_id": row.workflow_id if row else None,
        "state": ev.state,
        "state_info": ev.state_info,
        "type": row.type if row else None,
        "project_id": row.project_id if row else None,
        "created_at": ts(row.created_at) if row else None,
        "updated_at": ts(ev.time),
        "started_at": ts(row.started_at) if row else None,
        "finished_at": ts(row.finished_at) if row else None,
        "root_execution_id": ev.root_execution_id,
        "event": ev.type,
    }
