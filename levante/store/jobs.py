"""The jobs table: durable work items written in the same transaction as the
state change that causes them.

kinds: ``engine`` (an event for one workflow execution, key = execution id),
``action`` (run one action execution, key = action execution id), ``timer``
(complete a waiting action at ``due_at``, key = action execution id), ``local``
(an action that does no I/O, run by the executor's claiming thread, key = action
execution id).
"""
from __future__ import annotations

import json
import os
import time
import uuid
from typing import Any, Iterable

import sqlalchemy as sa

from levante.store import prepared
from levante.store.schema import jobs

ENGINE = "engine"
ACTION = "action"
LOCAL = "local"     # an action that does no I/O (std.echo, std.noop, ...): run at once
TIMER = "timer"

# PostgreSQL: every transaction that queues jobs also sends NOTIFY on this
# channel (delivered when, and only if, it commits) with "kind origin", so the
# loops of other processes wake at once instead of at their next poll
# (runtime/wakeup.py). ORIGIN tells a process its own notifications, whose
# loops it already woke in-process.
CHANNEL = "levante_jobs"
ORIGIN = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"


# The loops ask these every step: built once, with parameters, they cost
# SQLAlchemy a cached compile instead of building the expression (and its
# cache key) again on each call, which took most of a step's time.
_NOW = sa.bindparam("now", type_=sa.Float)
_KIND = sa.bindparam("kind", type_=sa.String)
_LIMIT = sa.bindparam("limit", type_=sa.Integer)
_FREE = sa.or_(jobs.c.lease_until.is_(None), jobs.c.lease_until < _NOW)
_ROW = (jobs.c.id, jobs.c.key, jobs.c.payload, jobs.c.attempts, jobs.c.lease_until)
_IDS = sa.bindparam("ids", expanding=True)
_NOTIFY = prepared.Statement(sa.select(sa.func.pg_notify(CHANNEL, sa.bindparam("message", type_=sa.String),
                                                         type_=sa.String)))
_insert = prepared.Insert(jobs)


def _locked(q) -> tuple:
    """``q``, and ``q`` with FOR UPDATE SKIP LOCKED (PostgreSQL): indexed by ``skip_locked``."""
    return prepared.with_lock(q, skip_locked=True)


def _announce(conn: sa.Connection, kinds: Iterable[str]) -> None:
    if conn.dialect.name != "postgresql":
        return
    for kind in set(kinds):     # PostgreSQL folds repeats within one transaction
        _NOTIFY.all(conn, {"message": f"{kind} {ORIGIN}"})


def enqueue(conn: sa.Connection, kind: str, key: str, payload: dict | None = None,
            delay: float = 0.0, now: float | None = None) -> None:
    now = time.time() if now is None else now
    _insert(conn, dict(kind=kind, key=key, payload=json.dumps(payload or {}),
                       due_at=now + delay, created_at=now))
    _announce(conn, (kind,))


def enqueue_many(conn: sa.Connection, rows: Iterable[tuple[str, str, dict, float]],
                 now: float | None = None) -> None:
    now = time.time() if now is None else now
    values = [dict(kind=k, key=key, payload=json.dumps(p), due_at=now + d, created_at=now)
              for k, key, p, d in rows]
    if values:
        _insert(conn, values)
        _announce(conn, (v["kind"] for v in values))


_DUE = _locked(sa.select(*_ROW).where(jobs.c.kind == _KIND, jobs.c.due_at <= _NOW, _FREE)
               .order_by(jobs.c.id).limit(_LIMIT))


def due(conn: sa.Connection, kind: str, limit: int, now: float, skip_locked: bool) -> list[Any]:
    """Due jobs of ``kind`` that nobody holds a live lease on, oldest first."""
    return _DUE[skip_locked].all(conn, {"kind": kind, "now": now, "limit": limit})


_NEWEST = _locked(sa.select(*_ROW).where(jobs.c.kind == _KIND, jobs.c.due_at <= _NOW, _FREE,
                                         jobs.c.id > sa.bindparam("after", type_=sa.Integer))
                  .order_by(jobs.c.id.desc()).limit(_LIMIT))


def due_fair(conn: sa.Connection, kind: str, limit: int, now: float, skip_locked: bool) -> list[Any]:
    """Like :func:`due`, but half of the jobs are the newest due ones.

    A backlog (a with-items over 100,000 items) is served oldest first by one
    half, while work that arrived after it (a small execution started
    meanwhile) is served at once by the other half instead of waiting for
    the whole backlog.
    """
    oldest = due(conn, kind, (limit + 1) // 2, now, skip_locked)
    if len(oldest) < (limit + 1) // 2 or limit < 2:
        return oldest
    return oldest + _NEWEST[skip_locked].all(conn, {"kind": kind, "now": now, "after": oldest[-1].id,
                                                    "limit": limit // 2})


def due_kinds(conn: sa.Connection, kinds: tuple[str, ...], now: float) -> set[str]:
    """Which of ``kinds`` have a due job nobody leased (a cheap read that spares
    a write transaction when there is nothing to claim)."""
    q = _KINDS.get(len(kinds))
    if q is None:
        probes = [sa.select(jobs.c.kind).where(jobs.c.kind == sa.bindparam(f"kind{i}", type_=sa.String),
                                               jobs.c.due_at <= _NOW, _FREE).limit(1).subquery()
                  for i in range(len(kinds))]
        q = _KINDS[len(kinds)] = prepared.Statement(sa.union_all(*[sa.select(p.c.kind) for p in probes]))
    return {r[0] for r in q.all(conn, {"now": now, **{f"kind{i}": k for i, k in enumerate(kinds)}})}


_KINDS: dict[int, Any] = {}     # due_kinds' statement, by how many kinds it probes


def _claim(exclude: bool):
    held = sa.select(jobs.c.key).where(jobs.c.kind == _KIND, jobs.c.lease_until >= _NOW)
    where = [jobs.c.kind == _KIND, jobs.c.due_at <= _NOW, _FREE, jobs.c.key.not_in(held)]
    if exclude:
        where.append(jobs.c.key.not_in(sa.bindparam("exclude", expanding=True)))
    return _locked(sa.select(*_ROW).where(*where).order_by(jobs.c.id)
                   .limit(_LIMIT))


_CLAIM = (_claim(False), _claim(True))


def claim_one_key(conn: sa.Connection, kind: str, limit: int, now: float,
                  skip_locked: bool, exclude: tuple[str, ...] = ()) -> tuple[str | None, list[Any], bool]:
    """The due jobs of ``kind`` for the key with the oldest due job, among the
    keys of which no job is leased right now and that are not in ``exclude``
    (one worker per key at a time), and whether other keys have due jobs too."""
    params = {"kind": kind, "now": now, "limit": limit}
    if exclude:
        params["exclude"] = list(exclude)
    rows = _CLAIM[bool(exclude)][skip_locked].all(conn, params)
    if not rows:
        return None, [], False
    # The oldest job's key; its other jobs among the oldest ``limit`` go along
    # (the rest of them next time).
    key = rows[0].key
    mine = [r for r in rows if r.key == key]
    return key, mine, len(mine) < len(rows)


_RELEASE = prepared.Statement(
    jobs.update().where(jobs.c.id.in_(_IDS), jobs.c.owner == sa.bindparam("b_owner"))
    .values(lease_until=None, owner=None, attempts=jobs.c.attempts - 1))
_LEASE = prepared.Statement(
    jobs.update().where(jobs.c.id.in_(_IDS))
    .values(lease_until=sa.bindparam("until"), owner=sa.bindparam("owner"), attempts=jobs.c.attempts + 1))
_DELETE = prepared.Statement(jobs.delete().where(jobs.c.id.in_(_IDS)))


def release(conn: sa.Connection, ids: list[int], owner: str) -> None:
    """Give back the jobs ``owner`` leased, without counting the lease as an attempt."""
    if ids:
        _RELEASE.rowcount(conn, {"ids": ids, "b_owner": owner})


def lease(conn: sa.Connection, ids: list[int], owner: str, until: float) -> None:
    if ids:
        _LEASE.rowcount(conn, {"ids": ids, "owner": owner, "until": until})


def delete(conn: sa.Connection, ids: list[int]) -> int:
    """Delete jobs; returns how many were still there."""
    if ids:
        return _DELETE.rowcount(conn, {"ids": ids})
    return 0


def delete_by_key(conn: sa.Connection, kind: str, key: str) -> None:
    conn.execute(jobs.delete().where(jobs.c.kind == kind, jobs.c.key == key))


def next_due(conn: sa.Connection, kind: str, exclude: tuple[str, ...] | None = None) -> float | None:
    """When a job of ``kind`` is next due (None: there is none). With ``exclude``
    (keys this process is working on), when one is next claimable: those keys'
    jobs do not count, and a leased job counts from the end of its lease, so a
    loop that found nothing to claim does not spin on them."""
    if exclude is None:
        return _NEXT_DUE.scalar(conn, {"kind": kind})
    if exclude:
        return _NEXT_FREE[1].scalar(conn, {"kind": kind, "exclude": list(exclude)})
    return _NEXT_FREE[0].scalar(conn, {"kind": kind})


_NEXT_DUE = prepared.Statement(sa.select(sa.func.min(jobs.c.due_at)).where(jobs.c.kind == _KIND))
_FREE_AT = sa.case((jobs.c.lease_until > jobs.c.due_at, jobs.c.lease_until), else_=jobs.c.due_at)
_NEXT_FREE = (prepared.Statement(sa.select(sa.func.min(_FREE_AT)).where(jobs.c.kind == _KIND)),
              prepared.Statement(sa.select(sa.func.min(_FREE_AT)).where(
                  jobs.c.kind == _KIND, jobs.c.key.not_in(sa.bindparam("exclude", expanding=True)))))
