"""Maintenance mode, as Mistral's: RUNNING (normal), PAUSING, PAUSED.

Asking for PAUSED stores PAUSING at once (the API then refuses changes with
423) and pauses every running execution; the status becomes PAUSED when no
task is RUNNING any more (checked whenever the status is read, so every
process agrees without a message between them). Asking for RUNNING resumes
the executions that maintenance paused (an execution a user paused stays
paused: a deliberate difference from Mistral, which resumes every paused one).
"""
from __future__ import annotations

import logging
import time

import sqlalchemy as sa

from levante.engine import states
from levante.errors import BadRequest, LevanteError
from levante.store import maintenance as store
from levante.store.maintenance import PAUSED, PAUSING, RUNNING
from levante.store.schema import task_executions as TE
from levante.store.schema import workflow_executions as WE

log = logging.getLogger("levante.maintenance")

ALL_STATES = (PAUSING, PAUSED, RUNNING)


def status(runtime) -> str:
    """The current status; PAUSING moves to PAUSED once no task is RUNNING."""
    with runtime.db.read() as conn:
        current = store.status(conn)
    if current != PAUSING:
        return current
    with runtime.db.tx() as conn:
        current = store.status(conn)
        if current == PAUSING and conn.execute(
                sa.select(TE.c.id).where(TE.c.state == states.RUNNING).limit(1)).first() is None:
            store.save(conn, PAUSED, time.time())
            log.info("maintenance: every running task has finished; status PAUSED")
            current = PAUSED
    return current


def change(runtime, new_state) -> str:
    """PUT /maintenance: returns the status the change led to (PAUSING or RUNNING)."""
    if new_state not in ALL_STATES:
        raise BadRequest(f"Not found {new_state} maintenance state. List of states: {list(ALL_STATES)}")
    if new_state == PAUSING:
        raise BadRequest("PAUSING is intermediate state. Consider PAUSED, RUNNING as new state")
    current = status(runtime)
    if current == new_state:
        return current
    if new_state == PAUSED:
        with runtime.db.tx() as conn:
            store.save(conn, PAUSING, time.time())
            running = [r.id for r in conn.execute(sa.select(WE.c.id).where(
                WE.c.state == states.RUNNING, WE.c.task_execution_id.is_(None)))]
        paused = [ex_id for ex_id in running if _move(runtime, ex_id, states.PAUSED)]
        with runtime.db.tx() as conn:
            store.save(conn, store.status(conn), time.time(), paused=paused)
        log.info("maintenance: PAUSING; paused %d execution(s)", len(paused))
        return status(runtime)
    with runtime.db.tx() as conn:
        ids = store.paused_ids(conn)
        store.save(conn, RUNNING, time.time(), paused=[])
    resumed = [ex_id for ex_id in ids if _move(runtime, ex_id, states.RUNNING)]
    log.info("maintenance: RUNNING; resumed %d execution(s)", len(resumed))
    return RUNNING


def _move(runtime, exec_id: str, state: str) -> bool:
    try:
        runtime.executions.change_state(exec_id, state)
        return True
    except LevanteError as e:      # it finished or was deleted meanwhile
        log.info("maintenance: execution %s not moved to %s: %s", exec_id, state, e)
        return False
