"""The service-wide maintenance status (one row): RUNNING, PAUSING or PAUSED,
and the executions that maintenance paused (resumed when it ends)."""
from __future__ import annotations

import json

import sqlalchemy as sa

from levante.store.schema import metadata

RUNNING = "RUNNING"
PAUSING = "PAUSING"
PAUSED = "PAUSED"

maintenance = sa.Table(
    "maintenance", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("status", sa.String(20), nullable=False, server_default=RUNNING),
    # JSON list of the execution ids this maintenance paused
    sa.Column("paused", sa.Text, nullable=False, server_default="[]"),
    sa.Column("updated_at", sa.Float),
)

M = maintenance


def status(conn: sa.Connection) -> str:
    value = conn.execute(sa.select(M.c.status).where(M.c.id == 1)).scalar()
    return value or RUNNING


def paused_ids(conn: sa.Connection) -> list[str]:
    value = conn.execute(sa.select(M.c.paused).where(M.c.id == 1)).scalar()
    return json.loads(value) if value else []


def save(conn: sa.Connection, new_status: str, now: float, paused: list[str] | None = None) -> None:
    values = {"status": new_status, "updated_at": now}
    if paused is not None:
        values["paused"] = json.dumps(paused)
    if conn.execute(M.update().where(M.c.id == 1).values(**values)).rowcount == 0:
        conn.execute(M.insert().values(id=1, **{"paused": "[]", **values}))
