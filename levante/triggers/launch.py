"""Start a trigger's workflow inside the transaction that fired the trigger.

The execution row and the engine job that starts it are written by the
runtime's writer of executions, with the trigger's own change (a cron trigger
moved on, an event recorded), so a firing is never lost nor doubled by a
crash between the two.
"""
from __future__ import annotations

import json
import logging
import time
import uuid

import sqlalchemy as sa

from levante.engine import states
from levante.runtime import definitions, executions, specs
from levante.errors import BadRequest
from levante import limits
from levante.limits import loads
from levante.store import scope
from levante.store.scope import Caller
from levante.store.schema import environments as ENV
from levante.store.schema import workflow_definitions as WD

log = logging.getLogger("levante.triggers")

# Params that belong to one execution and must not be copied into every
# execution a trigger starts.
_PER_EXECUTION = ("execution_id",)


def find_workflow(conn: sa.Connection, workflow_id: str | None, workflow_name: str | None,
                  namespace: str = "", caller: Caller | None = None) -> definitions.StoredWorkflow | None:
    """A stored workflow ``caller`` may run, by id (in whatever namespace), else by name in ``namespace``."""
    if workflow_id:
        row = conn.execute(sa.select(WD.c.id, WD.c.namespace).where(WD.c.id == workflow_id)).first()
        if row is not None:
            return definitions.resolve_workflow(conn, row.id, row.namespace, caller)
    if workflow_name:
        return definitions.resolve_workflow(conn, workflow_name, namespace, caller)
    return None


def workflow_namespace(conn: sa.Connection, workflow_id: str) -> str:
    return conn.execute(sa.select(WD.c.namespace).where(WD.c.id == workflow_id)).scalar() or ""


def description(kind: str, trigger_id: str, name: str) -> str:
    """Mistral's description of a triggered execution (JSON naming the trigger)."""
    label = "cron" if kind == "cron_trigger" else "event"
    return json.dumps({
        "description": f"Workflow execution created by {label} trigger '({trigger_id})'.",
        "triggered_by": {"type": kind, "id": trigger_id, "name": name},
    })


def check_length(field: str, value, most: int):
    """``value`` if it is a string of at most ``most`` characters, else a 400."""
    if not isinstance(value, str):
        raise BadRequest(f"Field '{field}' must be a string")
    if len(value) > most:
        raise BadRequest(f"Field '{field}' is too long: {len(value)} characters, at most {most}")
    return value


def json_object(body: dict, key: str) -> dict:
    """A JSON-object field of a request: Mistral's clients send JSON text, accept objects too."""
    value = body.get(key)
    if isinstance(value, str):
        if not value.strip():
            return {}
        try:
            value = loads(value, f"Field '{key}'")
        except ValueError as e:
            raise BadRequest(str(e) if str(e).startswith("Field ")
                             else f"Field '{key}' must be JSON, got: {value[:200]}")
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise BadRequest(f"Field '{key}' must be a JSON object")
    # What a trigger stores becomes the input and params of every execution it starts.
    limits.check_field_size("Trigger", key, value)
    return value


def start_execution(conn: sa.Connection, *, workflow_id: str | None, workflow_name: str | None,
                    workflow_input: dict, params: dict, description: str,
                    now: float | None = None, project_id: str | None = None) -> str:
    """Store a new execution and queue its start in ``conn``'s transaction; its id.

    The execution acts as ``project_id``, the trigger's owner. A trigger
    whose workflow is gone, whose input no longer fits the workflow
    or whose environment does not exist still leaves a trace: an execution in
    ERROR that says why, rather than a firing nobody can see.
    """
    now = time.time() if now is None else now
    params = {k: v for k, v in params.items() if k not in _PER_EXECUTION}
    namespace = params.get("namespace") or ""
    exec_id = str(uuid.uuid4())
    state_info = None
    full_input = workflow_input
    owner = scope.acting_for(project_id)
    wf = find_workflow(conn, workflow_id, workflow_name, namespace, owner)
    if wf is None:
        state_info = (f"Workflow not found [workflow_identifier={workflow_id or workflow_name}, "
                      f"namespace={namespace}]")
        source, wf_id, wf_name, tags = "", workflow_id, workflow_name or "", "[]"
    else:
        source, wf_id, wf_name, tags = wf.source, wf.id, wf.name, wf.tags
        namespace = namespace or workflow_namespace(conn, wf.id)
        try:
            full_input = definitions.check_input(specs.workflow(source, wf.name), workflow_input)
        except ValueError as e:
            state_info = str(e)
        env = params.get("env")
        if isinstance(env, str) and state_info is None:
            row = conn.execute(sa.select(ENV.c.variables).where(
                ENV.c.name == env, scope.visible(ENV, owner))).first()
            if row is None:
                state_info = f"Environment is not found: {env}"
            else:
                params["env"] = json.loads(row.variables)
    params["namespace"] = namespace
    params.setdefault("env", {})
    executions.queue_start(conn, dict(
        id=exec_id, workflow_id=wf_id, workflow_name=wf_name, workflow_namespace=namespace,
        description=description, state=states.ERROR if state_info else states.IDLE,
        state_info=state_info, input=json.dumps(full_input),
        output=json.dumps({"result": state_info} if state_info else {}), params=json.dumps(params),
        context="{}", published_global="{}", definition=source, tags=tags,
        project_id=owner.project_id, scope="private", created_at=now, updated_at=now,
        version=0))
    if state_info:
        log.warning("role=triggers execution=%s workflow=%s could not start: %s", exec_id, wf_name,
                    state_info)
    else:
        log.info("role=triggers execution=%s workflow=%s queued", exec_id, wf_name)
    return exec_id
