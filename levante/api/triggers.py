"""Cron triggers and event triggers: /v2/cron_triggers, /v2/event_triggers."""
from __future__ import annotations

from functools import partial
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response

from levante.api.errors import ApiError
from levante.api.body import json_object
from levante.api.body import raw as raw_body
from levante.api.executions import _only_fields
from levante.api.listing import list_response
from levante.api.render import ts
from levante.api.services import service
from levante.auth import Caller, current_caller
from levante.store import triggers as store
from levante.triggers import EventTriggers, broker, cron, event

router = APIRouter()


def _db(request: Request):
    return request.app.state.runtime.db


def _triggers(request: Request) -> EventTriggers:
    return service(request, "event_triggers", EventTriggers)


def render_cron(r: Any) -> dict:
    return {
        "id": r.id, "name": r.name, "pattern": r.pattern, "workflow_name": r.workflow_name,
        "workflow_id": r.workflow_id, "workflow_input": r.workflow_input,
        "workflow_params": r.workflow_params, "scope": r.scope, "project_id": r.project_id,
        "remaining_executions": r.remaining_executions,
        "first_execution_time": ts(r.first_execution_time),
        "next_execution_time": ts(r.next_execution_time),
        "created_at": ts(r.created_at), "updated_at": ts(r.updated_at),
    }


def render_event(r: Any, triggers: EventTriggers) -> dict:
    out = {
        "id": r.id, "name": r.name, "workflow_id": r.workflow_id, "workflow_input": r.workflow_input,
        "workflow_params": r.workflow_params, "exchange": r.exchange, "topic": r.topic,
        "event": r.event, "scope": r.scope, "project_id": r.project_id,
        "created_at": ts(r.created_at), "updated_at": ts(r.updated_at),
    }
    note = broker.broker_note(triggers, r.exchange)
    if note:    # a trigger on a broker's exchange: does the server listen for it?
        out["broker"] = note
    return out


# ---------------------------------------------------------------- cron triggers

@router.post("/v2/cron_triggers", status_code=201)
def create_cron_trigger(request: Request, data: bytes = Depends(raw_body),
                        caller: Caller = Depends(current_caller)):
    body = json_object(data)
    with _db(request).tx() as conn:
        row = cron.create(conn, body, caller=caller)
    # The scheduler finds the new trigger on its next look (every LEVANTE_CRON_TICK s).
    return JSONResponse(render_cron(row), status_code=201)


@router.get("/v2/cron_triggers")
def list_cron_triggers(request: Request, caller: Caller = Depends(current_caller)):
    with _db(request).read() as conn:
        return list_response(request, conn, store.CT, "cron_triggers", render_cron, caller=caller)


@router.get("/v2/cron_triggers/{identifier}")
def get_cron_trigger(identifier: str, request: Request, caller: Caller = Depends(current_caller)):
    with _db(request).read() as conn:
        row = store.get_cron(conn, identifier, caller)
    if row is None:
        raise ApiError(404, f"Cron trigger not found [identifier={identifier}]")
    return _only_fields(request, render_cron(row))


@router.delete("/v2/cron_triggers/{identifier}", status_code=204)
def delete_cron_trigger(identifier: str, request: Request, caller: Caller = Depends(current_caller)):
    with _db(request).tx() as conn:
        cron.delete(conn, identifier, caller)
    return Response(status_code=204)


# ---------------------------------------------------------------- event triggers

@router.post("/v2/event_triggers", status_code=201)
def create_event_trigger(request: Request, data: bytes = Depends(raw_body),
                         caller: Caller = Depends(current_caller)):
    body = json_object(data)
    if body.get("scope") == "public" and request.app.state.auth is not None:
        request.app.state.auth.require("event_triggers:create:public", caller)
    triggers = _triggers(request)
    with _db(request).tx() as conn:
        row = event.create(conn, body, caller=caller, triggers=triggers)
    triggers.changed()      # committed: the broker listener reads the triggers again
    return JSONResponse(render_event(row, triggers), status_code=201)


@router.get("/v2/event_triggers")
def list_event_triggers(request: Request, caller: Caller = Depends(current_caller)):
    with _db(request).read() as conn:
        return list_response(request, conn, store.ET, "event_triggers",
                             partial(render_event, triggers=_triggers(request)), caller=caller)


@router.get("/v2/event_triggers/{trigger_id}")
def get_event_trigger(trigger_id: str, request: Request, caller: Caller = Depends(current_caller)):
    with _db(request).read() as conn:
        row = event.get(conn, trigger_id, caller)
    return _only_fields(request, render_event(row, _triggers(request)))


@router.put("/v2/event_triggers/{trigger_id}")
def update_event_trigger(trigger_id: str, request: Request, data: bytes = Depends(raw_body),
                         caller: Caller = Depends(current_caller)):
    body = json_object(data)
    with _db(request).tx() as conn:
        row = event.update(conn, trigger_id, body, caller=caller)
    return render_event(row, _triggers(request))


@router.delete("/v2/event_triggers/{trigger_id}", status_code=204)
def delete_event_trigger(trigger_id: str, request: Request, caller: Caller = Depends(current_caller)):
    with _db(request).tx() as conn:
        event.delete(conn, trigger_id, caller)
    _triggers(request).changed()
    return Response(status_code=204)
