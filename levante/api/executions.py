"""Executions, tasks and action executions: the running side of the API."""
from __future__ import annotations

import asyncio
import contextvars
import json
from concurrent.futures import ThreadPoolExecutor

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response

from levante.api import render
from levante.api.body import json_object
from levante.api.body import raw as raw_body
from levante.api.errors import ApiError
from levante.api.listing import list_response
from levante import limits
from levante.config import get_settings
from levante.limits import loads
from levante.auth import Caller, caller_of, current_caller
from levante.store import scope as access
from levante.engine import states
from levante.store.schema import action_executions as AE
from levante.store.schema import task_executions as TE
from levante.store.schema import workflow_executions as WE

router = APIRouter()

# The states PUT /v2/action_executions/{id} knows (Mistral's list); only the
# completed ones can be reported for now, the others get a clear 400.
ACTION_UPDATE_STATES = (states.SUCCESS, states.ERROR, states.CANCELLED, states.PAUSED, states.RUNNING)

# Columns listed without the big JSON blobs (definition, context, output, result).
EXEC_LIST_COLUMNS = [c for c in WE.c if c.name not in ("definition", "context")]
TASK_LIST_COLUMNS = [c for c in TE.c if c.name not in ("result",)]


def _rt(request: Request):
    return request.app.state.runtime


def _json_field(body: dict, key: str, default):
    """Mistral's clients send JSON fields as JSON text; accept objects too."""
    value = body.get(key)
    if value is None or value == "":
        return default
    if isinstance(value, str):
        try:
            value = loads(value, f"Field '{key}'")
        except ValueError as e:
            raise ApiError(400, str(e) if str(e).startswith("Field ")
                           else f"Field '{key}' must be JSON, got: {value[:200]}")
    if not isinstance(value, dict):
        raise ApiError(400, f"Field '{key}' must be a JSON object")
    return value


def _str_field(body: dict, key: str) -> str | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ApiError(400, f"Field '{key}' must be a string, got {type(value).__name__}")
    return value


def _only_fields(request: Request, item: dict) -> dict:
    fields = [f for f in (request.query_params.get("fields") or "").split(",") if f]
    if not fields:
        return item
    bad = [f for f in fields if f not in item]
    if bad:
        raise ApiError(400, f"Some fields do not exist  {bad}, please choose from {sorted(item)}")
    return {f: item[f] for f in ["id"] + [f for f in fields if f != "id"]}


# ---------------------------------------------------------------- executions

def _get_execution(conn, exec_id: str, caller: Caller):
    row = conn.execute(sa.select(WE).where(WE.c.id == exec_id, access.visible(WE, caller))).first()
    if row is None:
        raise ApiError(404, f"WorkflowExecution not found [id={exec_id}]")
    return row


@router.post("/v2/executions", status_code=201)
async def create_execution(request: Request):
    # The busiest write: no dependencies to solve, one hop to a thread (where
    # the database and the workflow's start may take their time). The hop is
    # the event loop's own, to a pool of creates: anyio's, which the other
    # routes use, costs some 30 microseconds more (limiter, cancel scope).
    data = await request.body()
    ctx = contextvars.copy_context()
    return await asyncio.get_running_loop().run_in_executor(
        request.app.state.creates, ctx.run, _create_execution, request, data, caller_of(request))


def create_pool() -> ThreadPoolExecutor:
    """The app's threads for creates: a start may evaluate untrusted expressions
    for up to the API's fast start (then it goes on in the engine), so several
    run at once and slow ones do not hold up the others; the SQLite write lock
    takes their commits one at a time anyway."""
    return ThreadPoolExecutor(max_workers=16, thread_name_prefix="levante-api-create")


def _create_execution(request: Request, data: bytes, caller: Caller):
    body = json_object(data)
    rt = _rt(request)
    for key in ("workflow_id", "workflow_name", "workflow_namespace", "description", "id",
                "source_execution_id"):
        _str_field(body, key)
    if body.get("id"):
        limits.check_name("Execution", body["id"], limits.EXECUTION_ID_MAX, spaces=False, what="id")
    identifier = body.get("workflow_id") or body.get("workflow_name")
    given_input = _json_field(body, "input", {})
    params = _json_field(body, "params", {})
    if "env" in params and not isinstance(params["env"], (dict, str, type(None))):
        raise ApiError(400, "Parameter 'env' must be an environment name or a JSON object")
    for key in ("namespace", "task_name", "description"):
        if params.get(key) is not None and not isinstance(params[key], str):
            raise ApiError(400, f"Parameter '{key}' must be a string")
    if body.get("source_execution_id"):
        # Run again what an earlier execution ran; fields given here win.
        with rt.db.read() as conn:
            src = _get_execution(conn, body["source_execution_id"], caller)
        identifier = identifier or src.workflow_id
        given_input = given_input or json.loads(src.input)
        params = dict(json.loads(src.params), **params)
        body["description"] = (f"{body.get('description') or src.description} "
                               f"Based on the execution '{src.id}'").strip()
    if not identifier:
        raise ApiError(400, "Workflow name or id must be provided [workflow_name, workflow_id]")
    namespace = body.get("workflow_namespace") or params.get("namespace") or ""
    if body.get("id"):
        with rt.db.read() as conn:
            existing = conn.execute(sa.select(WE).where(WE.c.id == body["id"], access.visible(WE, caller))).first()
        if existing is not None:    # idempotent: the same answer as the first time
            item = render.execution(existing)
            item.pop("published_global")
            return JSONResponse(item, status_code=201)
        params["execution_id"] = body["id"]
    row = rt.executions.create(identifier, given_input, params, body.get("description") or "", namespace, caller)
    item = render.execution(row)
    item.pop("published_global")
    return JSONResponse(item, status_code=201)


@router.get("/v2/executions")
def list_executions(request: Request, caller: Caller = Depends(current_caller)):
    include_output = request.query_params.get("include_output", "").lower() == "true"
    drop = ("published_global",) if include_output else ("output", "published_global")
    with _rt(request).db.read() as conn:
        return list_response(request, conn, WE, "executions", render.execution, drop=drop,
                             columns=EXEC_LIST_COLUMNS, caller=caller)


@router.get("/v2/executions/{exec_id}")
def get_execution(exec_id: str, request: Request, caller: Caller = Depends(current_caller)):
    with _rt(request).db.read() as conn:
        return _only_fields(request, render.execution(_get_execution(conn, exec_id, caller)))


@router.put("/v2/executions/{exec_id}")
def update_execution(exec_id: str, request: Request, data: bytes = Depends(raw_body),
                     caller: Caller = Depends(current_caller)):
    """Change the state, the description or the env of an execution, with Mistral's rules:
    one of them must be given, the description alone, the env alone or on resume."""
    body = json_object(data)
    rt = _rt(request)
    for key in ("state", "description", "state_info"):
        _str_field(body, key)
    state, description = body.get("state"), body.get("description")
    env = _json_field(body, "params", {}).get("env")
    if not (state or description or env):
        raise ApiError(400, "The property state, description, or env is not provided for update.")
    if description and state:
        raise ApiError(400, "The property description must be updated separately from state.")
    if env and state and state != states.RUNNING:
        raise ApiError(400, "The property env can only be updated when workflow execution "
                            "is not running or on resume from pause.")
    if env is not None and not isinstance(env, dict):
        raise ApiError(400, "Parameter 'env' must be a JSON object")
    with rt.db.read() as conn:
        _get_execution(conn, exec_id, caller)
    if env:
        rt.executions.update_env(exec_id, env)
    if description:
        rt.executions.update_description(exec_id, description)
    if state:
        rt.executions.change_state(exec_id, state, body.get("state_info"))
    with rt.db.read() as conn:
        item = render.execution(_get_execution(conn, exec_id, caller))
    item.pop("published_global", None)
    if not state:
        # As the Mistral 23 peer answers: without a state change, no input or
        # output, and the params only when the env changed.
        dropped = ("input", "output") if env else ("params", "input", "output")
        for k in dropped:
            item.pop(k, None)
    return item


@router.delete("/v2/executions/{exec_id}", status_code=204)
def delete_execution(exec_id: str, request: Request, caller: Caller = Depends(current_caller)):
    force = request.query_params.get("force", "").lower() == "true"
    with _rt(request).db.read() as conn:
        _get_execution(conn, exec_id, caller)
    _rt(request).executions.delete(exec_id, force)
    return Response(status_code=204)


@router.get("/v2/executions/{exec_id}/tasks")
def list_execution_tasks(exec_id: str, request: Request, caller: Caller = Depends(current_caller)):
    with _rt(request).db.read() as conn:
        _get_execution(conn, exec_id, caller)
        return list_response(request, conn, TE, "tasks", render.task, drop=("result",),
                             base_where=[TE.c.workflow_execution_id == exec_id], columns=TASK_LIST_COLUMNS, caller=caller)


# ---------------------------------------------------------------- tasks

def _get_task(conn, task_id: str, caller: Caller):
    row = conn.execute(sa.select(TE).where(TE.c.id == task_id, access.visible(TE, caller))).first()
    if row is None:
        raise ApiError(404, f"Task execution not found [id={task_id}]")
    return row


@router.get("/v2/tasks")
def list_tasks(request: Request, caller: Caller = Depends(current_caller)):
    with _rt(request).db.read() as conn:
        return list_response(request, conn, TE, "tasks", render.task, drop=("result",),
                             columns=TASK_LIST_COLUMNS, caller=caller)


@router.get("/v2/tasks/{task_id}")
def get_task(task_id: str, request: Request, caller: Caller = Depends(current_caller)):
    with _rt(request).db.read() as conn:
        return _only_fields(request, render.task(_get_task(conn, task_id, caller)))


@router.put("/v2/tasks/{task_id}")
def update_task(task_id: str, request: Request, data: bytes = Depends(raw_body),
                     caller: Caller = Depends(current_caller)):
    """Rerun a failed task (``state: RUNNING``, ``reset``, ``env``) or skip it (``SKIPPED``)."""
    body = json_object(data)
    rt = _rt(request)
    with rt.db.read() as conn:
        _get_task(conn, task_id, caller)
    if not body.get("state"):
        raise ApiError(400, "Task state must be provided [state]")
    reset = body.get("reset", True)
    if isinstance(reset, str):
        reset = reset.lower() != "false"
    rt.executions.rerun(task_id, body["state"], bool(reset), _json_field(body, "env", {}))
    with rt.db.read() as conn:
        return render.task(_get_task(conn, task_id, caller))


@router.get("/v2/tasks/{task_id}/workflow_executions")
def list_task_workflow_executions(task_id: str, request: Request, caller: Caller = Depends(current_caller)):
    with _rt(request).db.read() as conn:
        _get_task(conn, task_id, caller)
        return list_response(request, conn, WE, "executions", render.execution,
                             drop=("output", "published_global"), columns=EXEC_LIST_COLUMNS,
                             base_where=[WE.c.task_execution_id == task_id], caller=caller)


def _children_of_tasks(conn, task_where, errors_only: bool) -> list:
    tasks = sa.select(TE.c.id).where(task_where)
    if errors_only:
        tasks = tasks.where(TE.c.state == states.ERROR)
    return conn.execute(sa.select(*EXEC_LIST_COLUMNS).where(WE.c.task_execution_id.in_(tasks))
                        .order_by(WE.c.created_at)).fetchall()


def _tree(conn, rows: list, errors_only: bool, max_depth: int, depth: int) -> list:
    """``rows`` and, depth first, the executions started by their tasks
    (with ``errors_only``, only through tasks that failed), as Mistral lists them."""
    out = []
    for r in rows:
        out.append(r)
        if max_depth < 0 or depth < max_depth:
            kids = _children_of_tasks(conn, TE.c.workflow_execution_id == r.id, errors_only)
            out.extend(_tree(conn, kids, errors_only, max_depth, depth + 1))
    return out


def _tree_params(request: Request) -> tuple[bool, int]:
    q = request.query_params
    try:
        max_depth = int(q.get("max_depth", -1))
    except ValueError:
        raise ApiError(400, f"max_depth must be an integer, got {q.get('max_depth')!r}")
    return q.get("errors_only", "").lower() == "true", max_depth


def _listed(request: Request, conn, rows: list) -> dict:
    include_output = request.query_params.get("include_output", "").lower() == "true"
    if include_output and rows:     # the tree was read without the output column
        ids = [r.id for r in rows]
        outputs = dict(conn.execute(sa.select(WE.c.id, WE.c.output).where(WE.c.id.in_(ids))).all())
    items = [render.execution(r) for r in rows]
    for it in items:
        it.pop("published_global", None)
        if include_output:
            it["output"] = outputs[it["id"]]
        else:
            it.pop("output", None)
    return {"executions": items}


@router.get("/v2/executions/{exec_id}/executions")
def list_sub_executions(exec_id: str, request: Request, caller: Caller = Depends(current_caller)):
    """The execution itself, then every execution below it."""
    errors_only, max_depth = _tree_params(request)
    with _rt(request).db.read() as conn:
        _get_execution(conn, exec_id, caller)
        root = conn.execute(sa.select(*EXEC_LIST_COLUMNS).where(WE.c.id == exec_id)).fetchall()
        return _listed(request, conn, _tree(conn, root, errors_only, max_depth, 0))


@router.get("/v2/tasks/{task_id}/executions")
def list_task_sub_executions(task_id: str, request: Request, caller: Caller = Depends(current_caller)):
    """The executions a task started, and every execution below them (with
    ``errors_only``, only if the task failed, and only through failed tasks)."""
    errors_only, max_depth = _tree_params(request)
    with _rt(request).db.read() as conn:
        task = _get_task(conn, task_id, caller)
        if errors_only and task.state != states.ERROR:
            return {"executions": []}
        kids = _children_of_tasks(conn, TE.c.id == task_id, False)
        if max_depth >= 0:
            # As Mistral counts: the task's own executions are at depth 0.
            max_depth += 1
        return _listed(request, conn, _tree(conn, kids, errors_only, max_depth, 1))


def _action_list_drop(request: Request) -> tuple[str, ...]:
    """Lists leave the output out unless ``include_output=true``."""
    return () if request.query_params.get("include_output", "").lower() == "true" else ("output",)


@router.get("/v2/tasks/{task_id}/action_executions")
def list_task_actions(task_id: str, request: Request, caller: Caller = Depends(current_caller)):
    with _rt(request).db.read() as conn:
        _get_task(conn, task_id, caller)
        return list_response(request, conn, AE, "action_executions", render.action_execution,
                             drop=_action_list_drop(request), base_where=[AE.c.task_execution_id == task_id], caller=caller)


@router.get("/v2/tasks/{task_id}/action_executions/{action_id}")
def get_task_action(task_id: str, action_id: str, request: Request,
                    caller: Caller = Depends(current_caller)):
    with _rt(request).db.read() as conn:
        row = _get_action(conn, action_id, caller)
    if row.task_execution_id != task_id:
        raise ApiError(404, f"ActionExecution not found [id={action_id}, task_execution_id={task_id}]")
    return _only_fields(request, render.action_execution(row))


# ---------------------------------------------------------------- action executions

def _get_action(conn, action_id: str, caller: Caller):
    row = conn.execute(sa.select(AE).where(AE.c.id == action_id, access.visible(AE, caller))).first()
    if row is None:
        raise ApiError(404, f"ActionExecution not found [id={action_id}]")
    return row


@router.post("/v2/action_executions", status_code=201)
def run_action(request: Request, data: bytes = Depends(raw_body),
                     caller: Caller = Depends(current_caller)):
    body = json_object(data)
    name = _str_field(body, "name")
    if not name:
        raise ApiError(400, "Action name must be provided [name]")
    given = _json_field(body, "input", {})
    params = _json_field(body, "params", {})
    limits.check_field_size("ActionExecution", "input", given)
    rt = _rt(request)
    res = rt.run_action(name, given, params, caller)
    if not res["saved"]:
        return JSONResponse({
            "id": None, "workflow_name": None, "workflow_namespace": "", "task_execution_id": None,
            "state": res["state"], "state_info": None, "tags": None, "name": name, "description": None,
            "project_id": None, "accepted": None, "input": json.dumps(given),
            "output": json.dumps(res["output"]) if res["output"] is not None else None,
            "created_at": None, "updated_at": None}, status_code=201)
    with rt.db.read() as conn:
        item = render.action_execution(_get_action(conn, res["id"], caller))
    return JSONResponse(item, status_code=201)


@router.get("/v2/action_executions")
def list_action_executions(request: Request, caller: Caller = Depends(current_caller)):
    with _rt(request).db.read() as conn:
        return list_response(request, conn, AE, "action_executions", render.action_execution,
                             drop=_action_list_drop(request), caller=caller)


@router.get("/v2/action_executions/{action_id}")
def get_action_execution(action_id: str, request: Request, caller: Caller = Depends(current_caller)):
    with _rt(request).db.read() as conn:
        return _only_fields(request, render.action_execution(_get_action(conn, action_id, caller)))


def _action_output(body: dict):
    """The ``output`` of an action execution update, as Mistral takes it: a JSON
    object, or JSON text of one; nothing (or an empty value) is ``{}``."""
    output = body.get("output")
    if isinstance(output, str) and output:
        try:
            output = loads(output, "Field 'output'")
        except ValueError as e:
            raise ApiError(400, f"Invalid input for field/attribute action_ex. Value: '{body}'. {e}")
    if not output:
        return {} if "output" in body else None
    if not isinstance(output, dict):
        raise ApiError(400, f"JsonType field value must be a dictionary [actual={output}]")
    return output


@router.put("/v2/action_executions/{action_id}")
def update_action_execution(action_id: str, request: Request, data: bytes = Depends(raw_body),
                     caller: Caller = Depends(current_caller)):
    body = json_object(data)
    rt = _rt(request)
    output = _action_output(body)
    state = body.get("state")
    if not state:
        raise ApiError(400, "Action execution state must be provided [state]")
    if state not in ACTION_UPDATE_STATES:
        raise ApiError(400, f"Error. Expected one of {list(ACTION_UPDATE_STATES)}, actual: {state}")
    limits.check_field_size("ActionExecution", "output", {"result": output})
    with rt.db.read() as conn:
        _get_action(conn, action_id, caller)
    rt.complete_action(action_id, state, output)
    with rt.db.read() as conn:
        return render.action_execution(_get_action(conn, action_id, caller))


@router.delete("/v2/action_executions/{action_id}", status_code=204)
def delete_action_execution(action_id: str, request: Request, caller: Caller = Depends(current_caller)):
    if not get_settings().allow_action_execution_deletion:
        raise ApiError(403, "Action execution deletion is not allowed.")
    with _rt(request).db.read() as conn:
        _get_action(conn, action_id, caller)
    _rt(request).delete_action(action_id)
    return Response(status_code=204)
