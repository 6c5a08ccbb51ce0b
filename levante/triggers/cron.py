"""Cron triggers: create them the way Mistral validates them, fire them when due.

Firing is one transaction per batch: the due triggers are selected (``FOR
UPDATE SKIP LOCKED`` on PostgreSQL; SQLite has a single writer), each is moved
on to its next time (or deleted after its last execution) only if it still
holds the due time that was read, and its execution is created in the same
transaction. So each due time fires exactly once, whatever number of
schedulers run, and a crash either fires and moves on, or does neither.

A trigger that was due while no scheduler ran (downtime) fires once when the
scheduler is back, not once per missed time: its next time is computed from
the later of its due time and now (Mistral does the same).
"""
from __future__ import annotations

import datetime
import json
import logging
import os
import time
import uuid

import sqlalchemy as sa
from croniter import croniter

from levante.runtime import definitions, specs
from levante import limits
from levante.errors import BadRequest, Conflict, NotFound
from levante.store import triggers as store
from levante.store.db import Database
from levante.triggers import launch

log = logging.getLogger("levante.triggers")

TIME_FORMAT = "%Y-%m-%d %H:%M"
MIN_LEAD = 60.0         # Mistral: a first time at least a minute ahead
MAX_COUNT = 2**31 - 1   # remaining_executions is an integer column
BATCH = 64
DEFAULT_TICK = 1.0

_UTC = datetime.timezone.utc


# ---------------------------------------------------------------- time helpers

def parse_time(value: str) -> float:
    """``YYYY-MM-DD HH:MM`` (Mistral's format, to the minute) in UTC -> epoch seconds."""
    try:
        return datetime.datetime.strptime(value.strip(), TIME_FORMAT).replace(tzinfo=_UTC).timestamp()
    except ValueError as e:
        raise BadRequest(f"{e} (first_execution_time is 'YYYY-MM-DD HH:MM' in UTC, "
                         "e.g. '2030-01-31 23:59')") from None


def next_time(pattern: str, after: float) -> float:
    """The first time strictly after ``after`` that ``pattern`` matches (UTC)."""
    start = datetime.datetime.fromtimestamp(after, _UTC)
    return croniter(pattern, start).get_next(datetime.datetime).timestamp()


def check_pattern(pattern: str, now: float) -> float:
    """Validate a cron pattern; returns its next time after ``now``."""
    if not isinstance(pattern, str) or not croniter.is_valid(pattern):
        raise BadRequest(f"The specified pattern is not valid: {pattern}. A pattern has five "
                         "fields 'minute hour day-of-month month day-of-week' (e.g. '*/5 * * * *'), "
                         "and an optional sixth for seconds.")
    try:
        return next_time(pattern, now)
    except Exception:
        raise BadRequest(f"The specified pattern is not valid: {pattern}. It never matches a date.")


# ---------------------------------------------------------------- create

def create(conn: sa.Connection, body: dict, now: float | None = None):
    """Validate a POST /v2/cron_triggers body and store the trigger; returns its row."""
    now = time.time() if now is None else now
    name = body.get("name")
    if not isinstance(name, str) or not name.strip():
        raise BadRequest("Cron trigger name must be provided [name]")
    limits.check_name("Cron trigger", name)
    pattern = body.get("pattern") or None
    first_raw = body.get("first_execution_time") or None
    count = body.get("remaining_executions")
    if count is not None:
        if isinstance(count, bool) or not isinstance(count, int):
            raise BadRequest(f"Invalid input for field/attribute remaining_executions. Value: "
                             f"'{count}'. Wrong type. Expected 'int', got '{type(count).__name__}'")
        if count < 1:
            raise BadRequest(f"Invalid input for field/attribute remaining_executions. Value: "
                             f"'{count}'. Value should be greater or equal to 1")
        if count > MAX_COUNT:
            raise BadRequest(f"Invalid input for field/attribute remaining_executions. Value: "
                             f"'{count}'. Value should be lower or equal to {MAX_COUNT}")
    if not (pattern or first_raw):
        raise BadRequest("Pattern or first_execution_time must be specified.")
    first = None
    if first_raw:
        if not isinstance(first_raw, str):
            raise BadRequest("first_execution_time must be a string 'YYYY-MM-DD HH:MM' (UTC)")
        first = parse_time(first_raw)
        if first < now + MIN_LEAD:
            raise BadRequest("first_execution_time must be at least 1 minute in the future.")
        if not pattern and count and count > 1:
            raise BadRequest("Pattern must be provided if count is superior to 1.")
    if pattern:
        launch.check_length("pattern", pattern, 100)
    upcoming = check_pattern(pattern, now) if pattern else None
    if first is not None:
        next_at = first
        if not pattern:
            count = 1
    else:
        next_at = upcoming

    wf_input = launch.json_object(body, "workflow_input")
    params = launch.json_object(body, "workflow_params")
    wf_id, wf_name = body.get("workflow_id"), body.get("workflow_name")
    if not (wf_id or wf_name):
        raise BadRequest("Workflow name or id must be provided [workflow_name, workflow_id]")
    namespace = limits.check_namespace(params.get("namespace"))
    wf = launch.find_workflow(conn, wf_id, None) if wf_id else launch.find_workflow(
        conn, None, wf_name, namespace)
    if wf is None:
        raise NotFound(f"Workflow not found [workflow_identifier={wf_id or wf_name}, "
                       f"namespace={namespace}]")
    try:
        definitions.check_input(specs.workflow(wf.source, wf.name), wf_input)
    except ValueError as e:
        raise BadRequest(str(e)) from e
    if conn.execute(sa.select(store.CT.c.id).where(store.CT.c.name == name)).first() is not None:
        raise Conflict(f"Duplicate entry for cron trigger ['name', 'project_id']: {name}, None")
    scope = body.get("scope") or "private"
    if scope not in ("private", "public"):
        raise BadRequest(f"Invalid input for field/attribute scope. Value: '{scope}'. "
                         "Value should be one of: private, public")
    values = dict(
        id=str(uuid.uuid4()), name=name, pattern=pattern, workflow_name=wf.name, workflow_id=wf.id,
        workflow_input=json.dumps(wf_input), workflow_params=json.dumps(params),
        first_execution_time=first, next_execution_time=next_at, remaining_executions=count,
        scope=scope, project_id=wf.project_id or store.DEFAULT_PROJECT, created_at=now,
        updated_at=None)
    _check_same_schedule(conn, values)
    try:
        conn.execute(store.CT.insert().values(**values))
    except sa.exc.IntegrityError:   # created concurrently under the same name
        raise Conflict(f"Duplicate entry for cron trigger ['name', 'project_id']: {name}, None")
    return conn.execute(sa.select(store.CT).where(store.CT.c.id == values["id"])).first()


def _check_same_schedule(conn: sa.Connection, v: dict) -> None:
    # Mistral refuses a second trigger that would start the same workflow with
    # the same input and params on the same schedule (under another name).
    c = store.CT.c
    conds = [c.workflow_id == v["workflow_id"], c.workflow_input == v["workflow_input"],
             c.workflow_params == v["workflow_params"], c.project_id == v["project_id"]]
    for col in ("pattern", "remaining_executions", "first_execution_time"):
        conds.append(c[col].is_(None) if v[col] is None else c[col] == v[col])
    other = conn.execute(sa.select(c.name).where(*conds)).first()
    if other is not None:
        raise Conflict(f"Duplicate entry for cron trigger: cron trigger '{other.name}' already "
                       f"starts workflow {v['workflow_name']} with the same input, params and schedule")


def delete(conn: sa.Connection, identifier: str) -> None:
    row = store.get_cron(conn, identifier)
    if row is None:
        raise NotFound(f"Cron trigger not found [identifier={identifier}]")
    conn.execute(store.CT.delete().where(store.CT.c.id == row.id))


# ---------------------------------------------------------------- fire

def fire_due(db: Database, now: float | None = None, limit: int = BATCH) -> tuple[list[str], float | None]:
    """Fire the cron triggers due at ``now`` in one transaction.

    Returns the ids of the executions started and the next due time (None if
    there is no trigger left).
    """
    now = time.time() if now is None else now
    started: list[str] = []
    with db.tx() as conn:
        for row in store.due_cron(conn, now, limit, skip_locked=not db.is_sqlite):
            exec_id = _fire_one(conn, row, now)
            if exec_id:
                started.append(exec_id)
        next_due = store.next_cron_due(conn)
    return started, next_due


def _fire_one(conn: sa.Connection, row, now: float) -> str | None:
    remaining = row.remaining_executions
    if remaining is not None:
        remaining -= 1
    upcoming = None
    if row.pattern and (remaining is None or remaining > 0):
        try:
            upcoming = next_time(row.pattern, max(now, row.next_execution_time))
        except Exception:
            log.error("role=scheduler cron_trigger=%s pattern %r never matches again; deleting it",
                      row.name, row.pattern)
    if not store.advance_cron(conn, row, upcoming, remaining, now):
        return None     # another scheduler fired this due time
    sp = conn.begin_nested()
    try:
        exec_id = launch.start_execution(
            conn, workflow_id=row.workflow_id, workflow_name=row.workflow_name,
            workflow_input=json.loads(row.workflow_input or "{}"),
            params=json.loads(row.workflow_params or "{}"),
            description=launch.description("cron_trigger", row.id, row.name), now=now)
        sp.commit()
    except Exception:
        # The trigger still moves on: a bug must not make it fire in a loop.
        sp.rollback()
        log.exception("role=scheduler cron_trigger=%s failed to start workflow %s", row.name,
                      row.workflow_name)
        return None
    log.info("role=scheduler cron_trigger=%s fired execution=%s%s", row.name, exec_id,
             "" if upcoming is not None else " (last execution; trigger deleted)")
    return exec_id


class CronFirer:
    """The scheduler's cron step: look for due triggers every ``tick`` seconds
    (env ``LEVANTE_CRON_TICK``, default 1), fire them, and tell the scheduler
    when to come back (the next due time or the next look, whichever is first)."""

    def __init__(self, db: Database, tick: float | None = None):
        self.db = db
        self.tick = tick if tick is not None else float(os.environ.get("LEVANTE_CRON_TICK") or DEFAULT_TICK)
        self._next_due: float | None = None
        self._looked_at = float("-inf")

    def run(self, now: float | None = None) -> tuple[int, float | None]:
        """Fire what is due; returns (how many fired, when to call again)."""
        now = time.time() if now is None else now
        fired = 0
        try:
            if now - self._looked_at >= self.tick:
                with self.db.read() as conn:
                    self._next_due = store.next_cron_due(conn)
                self._looked_at = now
            if self._next_due is not None and self._next_due <= now:
                started, self._next_due = fire_due(self.db, now)
                self._looked_at = now
                fired = len(started)
        except Exception:
            log.exception("role=scheduler cron step failed; retrying")
            self._looked_at = now
        again = self._looked_at + self.tick
        if self._next_due is not None:
            again = min(again, self._next_due)
        return fired, again
