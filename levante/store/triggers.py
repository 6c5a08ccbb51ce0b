"""Cron and event trigger tables, and the queries the trigger code runs on them.

Times are epoch seconds (float), like every other table; the API formats them.
JSON values (workflow input and params) are stored as JSON text.
"""
from __future__ import annotations

from typing import Iterable

import sqlalchemy as sa

from levante.store import scope
from levante.store.schema import metadata

DEFAULT_PROJECT = "<default-project>"

cron_triggers = sa.Table(
    "cron_triggers", metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("pattern", sa.String(100)),
    sa.Column("workflow_name", sa.String(255), nullable=False),
    sa.Column("workflow_id", sa.String(36), nullable=False),
    sa.Column("workflow_input", sa.Text, nullable=False, server_default="{}"),
    sa.Column("workflow_params", sa.Text, nullable=False, server_default="{}"),
    sa.Column("first_execution_time", sa.Float),
    sa.Column("next_execution_time", sa.Float, nullable=False),
    sa.Column("remaining_executions", sa.Integer),
    sa.Column("scope", sa.String(20), nullable=False, server_default="private"),
    sa.Column("project_id", sa.String(80), nullable=False, server_default=DEFAULT_PROJECT),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("updated_at", sa.Float),
    sa.UniqueConstraint("name", "project_id", name="uq_cron_trigger_name"),
    sa.Index("ix_cron_triggers_next", "next_execution_time"),
)

event_triggers = sa.Table(
    "event_triggers", metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False, server_default=""),
    sa.Column("workflow_id", sa.String(36), nullable=False),
    sa.Column("workflow_input", sa.Text, nullable=False, server_default="{}"),
    sa.Column("workflow_params", sa.Text, nullable=False, server_default="{}"),
    sa.Column("exchange", sa.String(80), nullable=False),
    sa.Column("topic", sa.String(255), nullable=False),
    sa.Column("event", sa.String(80), nullable=False),
    sa.Column("scope", sa.String(20), nullable=False, server_default="private"),
    sa.Column("project_id", sa.String(80), nullable=False, server_default=DEFAULT_PROJECT),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("updated_at", sa.Float),
    sa.UniqueConstraint("exchange", "topic", "event", "workflow_id", "project_id",
                        name="uq_event_trigger"),
    sa.Index("ix_event_triggers_route", "exchange", "topic", "event"),
)

CT = cron_triggers
ET = event_triggers


# ---------------------------------------------------------------- cron triggers

def get_cron(conn: sa.Connection, identifier: str, caller=None):
    """A cron trigger ``caller`` may see, by id or by name (None if there is none)."""
    return conn.execute(sa.select(CT).where(sa.or_(CT.c.id == identifier, CT.c.name == identifier),
                                            scope.visible(CT, caller))
                        .limit(1)).first()


def due_cron(conn: sa.Connection, now: float, limit: int, skip_locked: bool) -> list:
    """Cron triggers due at ``now``, earliest first; on PostgreSQL locked for
    this transaction, skipping the ones another scheduler holds."""
    q = (sa.select(CT).where(CT.c.next_execution_time <= now)
         .order_by(CT.c.next_execution_time, CT.c.id).limit(limit))
    if skip_locked:
        q = q.with_for_update(skip_locked=True)
    return conn.execute(q).fetchall()


def advance_cron(conn: sa.Connection, row, next_time: float | None, remaining: int | None,
                 now: float) -> bool:
    """Move a fired trigger on (or delete it when ``next_time`` is None).

    The update only applies while the row still holds the due time that was
    read, so whoever advanced it first owns this firing: a second scheduler
    that read the same row changes nothing and gets False.
    """
    same = [CT.c.id == row.id, CT.c.next_execution_time == row.next_execution_time]
    if next_time is None:
        res = conn.execute(CT.delete().where(*same))
    else:
        res = conn.execute(CT.update().where(*same).values(
            next_execution_time=next_time, remaining_executions=remaining, updated_at=now))
    return res.rowcount == 1


def next_cron_due(conn: sa.Connection) -> float | None:
    return conn.execute(sa.select(sa.func.min(CT.c.next_execution_time))).scalar()


# ---------------------------------------------------------------- event triggers

def get_event(conn: sa.Connection, trigger_id: str, caller=None):
    return conn.execute(sa.select(ET).where(ET.c.id == trigger_id, scope.visible(ET, caller))).first()


def event_routes(conn: sa.Connection, exchanges: Iterable[str]) -> set[tuple[str, str]]:
    """The (topic, event) pairs that some trigger on ``exchanges`` listens to."""
    rows = conn.execute(sa.select(ET.c.topic, ET.c.event).distinct()
                        .where(ET.c.exchange.in_(list(exchanges))))
    return {(r.topic, r.event) for r in rows}


def matching_events(conn: sa.Connection, exchanges: Iterable[str], topics: Iterable[str],
                    events: Iterable[str], project_id: str | None = None, *,
                    public: bool = False) -> list:
    """The event triggers listening to any of ``topics`` x ``events`` on ``exchanges``.

    Without ``public``: with ``project_id``, only that project's (an
    execution's events are its project's), without it every project's.
    With ``public`` (a notification from outside): ``project_id``'s triggers
    plus every project's public ones; the public ones only when ``project_id``
    is None (a notification that names no project).
    """
    where = [ET.c.exchange.in_(list(exchanges)), ET.c.topic.in_(list(topics)), ET.c.event.in_(list(events))]
    if public:
        where.append(ET.c.scope == "public" if project_id is None else
                     sa.or_(ET.c.project_id == project_id, ET.c.scope == "public"))
    elif project_id is not None:
        where.append(ET.c.project_id == project_id)
    return conn.execute(sa.select(ET).where(*where).order_by(ET.c.created_at, ET.c.id)).fetchall()


def workflow_trigger_ids(conn: sa.Connection, workflow_id: str) -> tuple[list[str], list[str]]:
    """Ids of the cron triggers and of the event triggers that start ``workflow_id``."""
    cron = [r.id for r in conn.execute(sa.select(CT.c.id).where(CT.c.workflow_id == workflow_id))]
    event = [r.id for r in conn.execute(sa.select(ET.c.id).where(ET.c.workflow_id == workflow_id))]
    return cron, event
