"""Notification deliveries as rows of the jobs table (kind ``notify``).

One job is one event for one target. Its key is a UUID derived from the
execution id and the target, so the jobs of one (execution, target) pair
share a key and are delivered in id order: a delivery waiting for a retry
holds back the later ones of the same pair and nobody else.
"""
from __future__ import annotations

import json
import uuid
from typing import Any

import sqlalchemy as sa

from levante.store.schema import jobs

NOTIFY = "notify"

_KEY_NS = uuid.UUID("6f1d3c2e-5b7a-4e0f-9a41-2c8d7e6b5a90")


def stream_key(execution_id: str, target: dict) -> str:
    """The jobs key of the deliveries of ``execution_id``'s events to ``target``."""
    canon = json.dumps(target, sort_keys=True, separators=(",", ":"), default=str)
    return str(uuid.uuid5(_KEY_NS, f"{execution_id}|{canon}"))


def claim(conn: sa.Connection, now: float, limit: int, max_chain: int,
          skip_locked: bool) -> dict[str, list[Any]]:
    """Due notify jobs that may be delivered now, as ordered chains per key.

    A job is taken only if every older job of its key is taken with it: an
    older job waiting for its retry, leased by another worker or locked by
    another transaction holds the rest of its key back. The caller leases
    what it gets.
    """
    q = (sa.select(jobs.c.id, jobs.c.key, jobs.c.payload, jobs.c.attempts)
         .where(jobs.c.kind == NOTIFY, jobs.c.due_at <= now,
                sa.or_(jobs.c.lease_until.is_(None), jobs.c.lease_until < now))
         .order_by(jobs.c.id).limit(limit))
    if skip_locked:
        q = q.with_for_update(skip_locked=True)
    rows = conn.execute(q).fetchall()
    if not rows:
        return {}
    ids = [r.id for r in rows]
    keys = sorted({r.key for r in rows})
    blockers = dict(conn.execute(
        sa.select(jobs.c.key, sa.func.min(jobs.c.id))
        .where(jobs.c.kind == NOTIFY, jobs.c.key.in_(keys), jobs.c.id.not_in(ids))
        .group_by(jobs.c.key)).all())
    chains: dict[str, list[Any]] = {}
    for r in rows:
        block = blockers.get(r.key)
        if block is not None and r.id > block:
            continue
        chain = chains.setdefault(r.key, [])
        if len(chain) < max_chain:
            chain.append(r)
    return chains


def lease(conn: sa.Connection, ids: list[int], owner: str, until: float) -> None:
    if ids:
        conn.execute(jobs.update().where(jobs.c.id.in_(ids))
                     .values(lease_until=until, owner=owner, attempts=jobs.c.attempts + 1))


def release(conn: sa.Connection, ids: list[int]) -> None:
    """Give back leased jobs that were not tried (their attempt does not count)."""
    if ids:
        conn.execute(jobs.update().where(jobs.c.id.in_(ids))
                     .values(lease_until=None, owner=None, attempts=jobs.c.attempts - 1))


def release_all(conn: sa.Connection) -> int:
    """Free every lease (for a single-process database at start: their holder is gone)."""
    return conn.execute(jobs.update().where(jobs.c.kind == NOTIFY, jobs.c.lease_until.is_not(None))
                        .values(lease_until=None, owner=None)).rowcount


def retry_at(conn: sa.Connection, job_id: int, due_at: float) -> None:
    conn.execute(jobs.update().where(jobs.c.id == job_id)
                 .values(due_at=due_at, lease_until=None, owner=None))


def done(conn: sa.Connection, job_id: int) -> None:
    conn.execute(jobs.delete().where(jobs.c.id == job_id))


def pending(conn: sa.Connection) -> int:
    return conn.execute(sa.select(sa.func.count()).select_from(jobs)
                        .where(jobs.c.kind == NOTIFY)).scalar() or 0


def next_due(conn: sa.Connection, now: float) -> float | None:
    """When the next job that heads its key and is held by nobody falls due."""
    older = jobs.alias("older")
    head = ~sa.exists().where(older.c.kind == NOTIFY, older.c.key == jobs.c.key, older.c.id < jobs.c.id)
    return conn.execute(sa.select(sa.func.min(jobs.c.due_at)).where(
        jobs.c.kind == NOTIFY, head,
        sa.or_(jobs.c.lease_until.is_(None), jobs.c.lease_until < now))).scalar()
