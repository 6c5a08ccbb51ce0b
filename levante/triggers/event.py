"""Event triggers: start a workflow when an event arrives on (exchange, topic).

The events come from Levante itself:

* exchange ``levante`` (alias ``mistral``), topic ``executions``: the execution
  events (``WORKFLOW_LAUNCHED``, ``WORKFLOW_SUCCEEDED``, ``TASK_FAILED``, ... see
  :mod:`levante.runtime.events`) of every workflow; topic
  ``executions.<workflow name>``: only those of that workflow.
* exchange ``queues``, topic = a queue name: messages posted to that queue.
* any source that calls :func:`fire_event` (and registered its exchange with
  :meth:`levante.triggers.registry.EventTriggers.register_exchange`).

and, on any other exchange, from a message broker: OpenStack notifications
(event = the notification's ``event_type``), when the server has one
(:mod:`levante.triggers.broker`). Such a trigger can be created without a
broker; it waits for one (the API response and the log say so).

A trigger's ``event`` is the event name, or ``*`` for every event of the topic.
The triggered execution gets the trigger's ``workflow_input`` as its input and
``workflow_params`` plus ``event_params`` (the event as a dict, as Mistral
does) as its params: a workflow reads it as
``<% execution().params.event_params %>``. It is created in the transaction
that produced the event, so it exists if and only if the event happened.

Loops: an execution started by an event trigger has ``trigger_depth`` =
depth of the execution whose event fired it + 1 in its params; the events of
an execution at depth ``MAX_DEPTH`` (env ``LEVANTE_EVENT_TRIGGER_MAX_DEPTH``,
default 10) fire nothing, so "B succeeded -> start B" stops after 10 rounds.
"""
from __future__ import annotations

import json
import logging
import os
import time
import uuid
from typing import TYPE_CHECKING

import sqlalchemy as sa

from levante.runtime import definitions, events, specs
from levante import limits
from levante.errors import BadRequest, Conflict, NotFound
from levante.store import triggers as store
from levante.store.scope import Caller, acting_for, ensure_owner
from levante.store.schema import workflow_executions as WE
from levante.triggers import launch
from levante.triggers.exchanges import EXECUTION_EXCHANGES, EXECUTIONS_TOPIC, QUEUES_EXCHANGE, waiting_reason

if TYPE_CHECKING:
    from levante.triggers.registry import EventTriggers

log = logging.getLogger("levante.triggers")

ANY_EVENT = "*"
DEPTH_PARAM = "trigger_depth"
MAX_DEPTH = int(os.environ.get("LEVANTE_EVENT_TRIGGER_MAX_DEPTH") or 10)

def _aliases(exchange: str) -> tuple[str, ...]:
    return EXECUTION_EXCHANGES if exchange in EXECUTION_EXCHANGES else (exchange,)


# ---------------------------------------------------------------- create / update / delete

MANDATORY = ("exchange", "topic", "event", "workflow_id")


def create(conn: sa.Connection, body: dict, now: float | None = None, caller: Caller | None = None,
           *, triggers: EventTriggers):
    """Validate a POST /v2/event_triggers body and store the trigger, owned by the
    caller's project; returns its row. Once committed, the caller tells
    ``triggers`` (the runtime's: ``triggers.changed()``)."""
    now = time.time() if now is None else now
    missing = [k for k in MANDATORY if not body.get(k)]
    if missing:
        raise BadRequest(f"Params {list(MANDATORY)} must be provided for creating event trigger; "
                         f"missing: {missing}.")
    for key in ("exchange", "topic", "event", "workflow_id"):
        if not isinstance(body[key], str):
            raise BadRequest(f"Field '{key}' must be a string")
    exchange, topic, event = body["exchange"].strip(), body["topic"].strip(), body["event"].strip()
    if body.get("name"):
        limits.check_name("Event trigger", body["name"])
    for key, value, most in (("name", body.get("name") or "", 200), ("exchange", exchange, 80),
                             ("topic", topic, 255), ("event", event, 80)):
        launch.check_length(key, value, most)
    check_route(exchange, topic, event)
    wf = _workflow(conn, body["workflow_id"], caller)
    wf_input = launch.json_object(body, "workflow_input")
    params = launch.json_object(body, "workflow_params")
    _check_input(wf, wf_input)
    scope = _scope(body.get("scope"))
    project = caller.project_id if caller is not None else (wf.project_id or store.DEFAULT_PROJECT)
    dup = conn.execute(sa.select(store.ET.c.id).where(
        store.ET.c.exchange == exchange, store.ET.c.topic == topic, store.ET.c.event == event,
        store.ET.c.workflow_id == wf.id, store.ET.c.project_id == project)).first()
    if dup is not None:
        raise Conflict(f"Duplicate entry for EventTrigger ['exchange', 'topic', 'event', 'workflow_id', "
                       f"'project_id']: {exchange}, {topic}, {event}, {wf.id}, {project}")
    values = dict(id=str(uuid.uuid4()), name=body.get("name") or "", workflow_id=wf.id,
                  workflow_input=json.dumps(wf_input), workflow_params=json.dumps(params),
                  exchange=exchange, topic=topic, event=event, scope=scope, project_id=project,
                  created_at=now, updated_at=None)
    try:
        conn.execute(store.ET.insert().values(**values))
    except sa.exc.IntegrityError:   # the same trigger created concurrently
        raise Conflict(f"Duplicate entry for EventTrigger ['exchange', 'topic', 'event', 'workflow_id', "
                       f"'project_id']: {exchange}, {topic}, {event}, {wf.id}, {project}")
    why = broker_waiting(triggers, exchange)
    if why:
        log.warning("role=triggers event_trigger=%s on exchange %s topic %s event %s waits for a "
                    "broker: %s", values["id"], exchange, topic, event, why)
    return store.get_event(conn, values["id"])


UPDATABLE = ("name", "workflow_input", "workflow_params", "scope")
NOT_UPDATABLE = ("exchange", "topic", "event")


def update(conn: sa.Connection, trigger_id: str, body: dict, now: float | None = None,
           caller: Caller | None = None):
    """PUT /v2/event_triggers/{id}: change name, input, params or scope."""
    row = get(conn, trigger_id, caller)
    ensure_owner(row, caller, f"Can not update event trigger of another project [id={trigger_id}]")
    if any(body.get(k) for k in NOT_UPDATABLE):
        raise BadRequest(f"Can not update fields {list(NOT_UPDATABLE)} of event trigger.")
    values: dict = {}
    if body.get("name") is not None:
        values["name"] = limits.check_name("Event trigger", body["name"])
    if body.get("scope") is not None:
        values["scope"] = _scope(body["scope"])
    if "workflow_params" in body:
        values["workflow_params"] = json.dumps(launch.json_object(body, "workflow_params"))
    if "workflow_input" in body:
        wf_input = launch.json_object(body, "workflow_input")
        _check_input(_workflow(conn, row.workflow_id, acting_for(row.project_id)), wf_input)
        values["workflow_input"] = json.dumps(wf_input)
    if values:
        values["updated_at"] = time.time() if now is None else now
        conn.execute(store.ET.update().where(store.ET.c.id == row.id).values(**values))
    return store.get_event(conn, row.id)


def delete(conn: sa.Connection, trigger_id: str, caller: Caller | None = None) -> None:
    """DELETE /v2/event_triggers/{id}; once committed, the caller tells the
    runtime's triggers (``triggers.changed()``)."""
    row = get(conn, trigger_id, caller)
    ensure_owner(row, caller, f"Can not delete event trigger of another project [id={trigger_id}]")
    conn.execute(store.ET.delete().where(store.ET.c.id == row.id))


def broker_waiting(triggers: EventTriggers, exchange: str) -> str | None:
    """Why a trigger on ``exchange`` cannot fire yet (no broker), or None."""
    if triggers.internal(exchange):
        return None
    return waiting_reason()


def get(conn: sa.Connection, trigger_id: str, caller: Caller | None = None):
    row = store.get_event(conn, trigger_id, caller)
    if row is None:
        raise NotFound(f"Event trigger not found [id={trigger_id}].")
    return row


def check_route(exchange: str, topic: str, event: str) -> None:
    """Refuse a trigger on Levante's own exchanges that could never fire; any
    other exchange is a broker's, where any topic and event may come."""
    if exchange in EXECUTION_EXCHANGES:
        if topic != EXECUTIONS_TOPIC and not (topic.startswith(EXECUTIONS_TOPIC + ".")
                                              and len(topic) > len(EXECUTIONS_TOPIC) + 1):
            raise BadRequest(f"Topic '{topic}' is not valid on exchange '{exchange}': use "
                             f"'{EXECUTIONS_TOPIC}' (every workflow) or '{EXECUTIONS_TOPIC}.<workflow "
                             "name>' (one workflow).")
        known = (*events.WORKFLOW_EVENTS, *events.TASK_EVENTS, ANY_EVENT)
        if event not in known:
            raise BadRequest(f"Event '{event}' is not an execution event; use one of {list(known)}.")


def _workflow(conn: sa.Connection, identifier: str, caller: Caller | None = None) -> definitions.StoredWorkflow:
    # Mistral takes a workflow id only; a name (default namespace) is accepted too.
    wf = launch.find_workflow(conn, identifier, identifier, caller=caller)
    if wf is None:
        raise NotFound(f"Workflow not found [workflow_id={identifier}]")
    return wf


def _check_input(wf: definitions.StoredWorkflow, wf_input: dict) -> None:
    try:
        definitions.check_input(specs.workflow(wf.source, wf.name), wf_input)
    except ValueError as e:
        raise BadRequest(str(e)) from e


def _scope(value) -> str:
    scope = value or "private"
    if scope not in ("private", "public"):
        raise BadRequest(f"Invalid input for field/attribute scope. Value: '{scope}'. "
                         "Value should be one of: private, public")
    return scope


# ---------------------------------------------------------------- fire

def fire_event(conn: sa.Connection, exchange: str, topic: str, event: str, payload: dict | None = None,
               *, depth: int = 0, now: float | None = None, project_id: str | None = None,
               public: bool = False) -> list[str]:
    """Start the workflow of every event trigger listening to (exchange, topic, event)
    (with ``project_id``, only that project's triggers: the source belongs to it;
    with ``public`` too, that project's and every public trigger, as for an
    OpenStack notification: see :func:`levante.store.triggers.matching_events`).

    Runs in the caller's transaction: the executions are committed or rolled
    back with whatever produced the event. Triggers on ``event`` and on ``*``
    match. ``payload`` reaches each started execution as
    ``params.event_params``; ``depth`` is how many trigger hops led to the
    event (0 for an outside event). Returns the ids of the started executions
    (the caller wakes an engine once it has committed them).
    """
    if depth >= MAX_DEPTH:
        log.warning("role=triggers event %s/%s/%s not fired: trigger chain reached depth %d "
                    "(LEVANTE_EVENT_TRIGGER_MAX_DEPTH)", exchange, topic, event, depth)
        return []
    rows = store.matching_events(conn, _aliases(exchange), (topic,), (event, ANY_EVENT), project_id,
                                 public=public)
    return _start_all(conn, rows, dict(payload or {}), depth, now)


def _start_all(conn: sa.Connection, rows: list, payload: dict, depth: int,
               now: float | None) -> list[str]:
    started = []
    for t in rows:
        params = json.loads(t.workflow_params or "{}")
        params["event_params"] = payload
        params[DEPTH_PARAM] = depth + 1
        sp = conn.begin_nested()
        try:
            exec_id = launch.start_execution(
                conn, workflow_id=t.workflow_id, workflow_name=None,
                workflow_input=json.loads(t.workflow_input or "{}"), params=params,
                description=launch.description("event_trigger", t.id, t.name), now=now,
                project_id=t.project_id)
            sp.commit()
        except Exception:
            sp.rollback()
            log.exception("role=triggers event_trigger=%s failed to start its workflow", t.id)
            continue
        log.info("role=triggers event_trigger=%s (%s/%s/%s) started execution=%s", t.id, t.exchange,
                 t.topic, t.event, exec_id)
        started.append(exec_id)
    return started


def on_execution_event(conn: sa.Connection, ev: events.Event, triggers: EventTriggers) -> list[str]:
    """Fire the triggers on this execution event (a listener of the runtime's
    EventBus calls it, with the runtime's ``triggers``); returns the ids of the
    executions it started."""
    try:
        keys = triggers.routes.get(conn)
        if not keys:
            return []
        topics = (EXECUTIONS_TOPIC, f"{EXECUTIONS_TOPIC}.{ev.workflow_name}")
        if not any((t, e) in keys for t in topics for e in (ev.type, ANY_EVENT)):
            return []
    except Exception:
        log.exception("role=triggers execution=%s event %s: looking up event triggers failed",
                      ev.execution_id, ev.type)
        return []
    # Everything from here runs in a savepoint: on PostgreSQL a failed
    # statement would otherwise poison the transaction of the state change.
    sp = conn.begin_nested()
    try:
        depth = _depth(conn, ev)
        started: list[str] = []
        if depth >= MAX_DEPTH:
            log.warning("role=triggers execution=%s event %s fires no trigger: it was started by a "
                        "chain of %d event triggers (LEVANTE_EVENT_TRIGGER_MAX_DEPTH=%d)",
                        ev.execution_id, ev.type, depth, MAX_DEPTH)
        else:
            # An execution's events fire its own project's triggers only.
            project = conn.execute(sa.select(WE.c.project_id).where(WE.c.id == ev.execution_id)).scalar()
            rows = store.matching_events(conn, EXECUTION_EXCHANGES, topics, (ev.type, ANY_EVENT), project)
            started = _start_all(conn, rows, ev.as_dict(), depth, ev.time or None)
        sp.commit()
    except Exception:
        # A listener must never break the state change that emitted the event.
        sp.rollback()
        log.exception("role=triggers execution=%s event %s: firing event triggers failed",
                      ev.execution_id, ev.type)
        return []
    return started


def _depth(conn: sa.Connection, ev: events.Event) -> int:
    depth = ev.params.get(DEPTH_PARAM) if isinstance(ev.params, dict) else None
    if depth is None and ev.root_execution_id and ev.root_execution_id != ev.execution_id:
        # A sub-workflow inherits the depth of the execution at its root.
        raw = conn.execute(sa.select(WE.c.params).where(WE.c.id == ev.root_execution_id)).scalar()
        depth = json.loads(raw).get(DEPTH_PARAM) if raw else None
    try:
        return int(depth or 0)
    except (TypeError, ValueError):
        return 0


def execution_depth(conn: sa.Connection, execution_id: str | None) -> int:
    """How many event-trigger hops led to ``execution_id`` (0 if none, or unknown).

    For a source that fires events on behalf of an execution (a workflow
    posting to a queue): pass it as ``fire_event(..., depth=...)`` so that a
    workflow feeding its own trigger stops after ``MAX_DEPTH`` rounds.
    """
    if not execution_id:
        return 0
    row = conn.execute(sa.select(WE.c.params, WE.c.root_execution_id)
                       .where(WE.c.id == execution_id)).first()
    if row is None:
        return 0
    depth = json.loads(row.params or "{}").get(DEPTH_PARAM)
    if depth is None and row.root_execution_id:
        raw = conn.execute(sa.select(WE.c.params).where(WE.c.id == row.root_execution_id)).scalar()
        depth = json.loads(raw).get(DEPTH_PARAM) if raw else None
    try:
        return int(depth or 0)
    except (TypeError, ValueError):
        return 0
