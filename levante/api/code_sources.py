"""Code sources and dynamic actions: /v2/code_sources, /v2/dynamic_actions.

A code source is a Python module's text; a dynamic action names a class in
one. The module runs in the server (see docs/actions.md, "Code sources"), so
uploads are accepted only when the setting ``allow_code_sources`` allows.
"""
from __future__ import annotations

import ipaddress
import json
import time
import uuid
from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response

from levante.api.body import json_object
from levante.api.body import raw as raw_body
from levante.api.errors import ApiError
from levante.api.executions import _only_fields
from levante.api.listing import list_response
from levante.api.render import ts
from levante.auth import Caller, current_caller
from levante.runtime import dynamic_actions as dyn
from levante.store import code_sources as store
from levante.store import scope as access
from levante.store.code_sources import CS, DA

router = APIRouter()

SCOPES = ("private", "public")


def _rt(request: Request):
    return request.app.state.runtime


def render_code_source(r: Any) -> dict:
    return {"id": r.id, "name": r.name, "namespace": r.namespace, "content": r.content,
            "version": r.version, "tags": json.loads(r.tags) if r.tags else [],
            "scope": r.scope, "project_id": r.project_id,
            "created_at": ts(r.created_at), "updated_at": ts(r.updated_at)}


def render_dynamic_action(r: Any) -> dict:
    return {"id": r.id, "name": r.name, "namespace": r.namespace, "class_name": r.class_name,
            "code_source_id": r.code_source_id, "code_source_name": r.code_source_name,
            "scope": r.scope, "project_id": r.project_id,
            "created_at": ts(r.created_at), "updated_at": ts(r.updated_at)}


def _loopback(host: str | None) -> bool:
    if host in (None, "", "localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _check_allowed(request: Request) -> None:
    dyn.check_allowed(_loopback(getattr(request.app.state, "listen_host", None)))


def _scope(value: str | None) -> str:
    scope = value or "private"
    if scope not in SCOPES:
        raise ApiError(400, f"Invalid scope: {scope!r}; use 'private' or 'public'")
    return scope


def _text(data: bytes, name: str) -> str:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ApiError(400, "Code source content must be UTF-8 text.")
    if not text.strip():
        raise ApiError(400, "Code source content is empty.")
    dyn.check_source(name, text)
    return text


def _project(caller: Caller | None) -> str | None:
    """The project whose rows the caller sees (None: every row, for an admin or mode none)."""
    if caller is None or not caller.authenticated or caller.is_admin:
        return None
    return caller.project_id


def _code_source(conn, identifier: str, namespace: str, caller: Caller | None = None):
    row = store.find_code_source(conn, identifier, namespace, _project(caller))
    if row is None:
        raise ApiError(404, f"Code Source not found [name={identifier},namespace={namespace}]")
    return row


def _dynamic_action(conn, identifier: str, namespace: str, caller: Caller | None = None):
    row = store.find_dynamic_action(conn, identifier, namespace, _project(caller))
    if row is None:
        raise ApiError(404, f"Dynamic Action not found [name={identifier},namespace={namespace}]")
    return row


def _list(request: Request, table, collection: str, render):
    namespace = request.query_params.get("namespace")
    where = [table.c.namespace == namespace] if namespace else []
    with _rt(request).db.read() as conn:
        return list_response(request, conn, table, collection, render, base_where=where)


# ---------------------------------------------------------------- code sources

@router.post("/v2/code_sources", status_code=201)
def create_code_source(request: Request, data: bytes = Depends(raw_body),
                       caller: Caller = Depends(current_caller)):
    q = request.query_params
    name = q.get("name")
    if not name:
        raise ApiError(400, "Code source name is required (query parameter 'name').")
    _check_allowed(request)
    namespace, scope = q.get("namespace", ""), _scope(q.get("scope"))
    text = _text(data, name)
    now = time.time()
    with _rt(request).db.tx() as conn:
        if conn.execute(sa.select(CS.c.id).where(CS.c.name == name, CS.c.namespace == namespace,
                                                 CS.c.project_id == caller.project_id)).first():
            raise ApiError(409, "Duplicate entry for CodeSource ['name', 'namespace', 'project_id']: "
                                f"{name}, {namespace}, {caller.project_id}")
        cid = str(uuid.uuid4())
        conn.execute(CS.insert().values(id=cid, name=name, namespace=namespace, content=text,
                                        version=1, scope=scope, project_id=caller.project_id,
                                        created_at=now, updated_at=None))
        row = conn.execute(sa.select(CS).where(CS.c.id == cid)).first()
    return JSONResponse(render_code_source(row), status_code=201)


@router.put("/v2/code_sources")
def update_code_source(request: Request, data: bytes = Depends(raw_body),
                       caller: Caller = Depends(current_caller)):
    q = request.query_params
    identifier = q.get("identifier")
    if not identifier:
        raise ApiError(400, "Code source identifier is required (query parameter 'identifier').")
    _check_allowed(request)
    namespace, scope = q.get("namespace", ""), _scope(q.get("scope"))
    with _rt(request).db.tx() as conn:
        row = _code_source(conn, identifier, namespace, caller)
        access.ensure_owner(row, caller, f"Can not update code source of another project [identifier={identifier}]")
        text = _text(data, row.name)
        conn.execute(CS.update().where(CS.c.id == row.id).values(
            content=text, scope=scope, version=CS.c.version + 1, updated_at=time.time()))
        row = conn.execute(sa.select(CS).where(CS.c.id == row.id)).first()
    return render_code_source(row)


@router.get("/v2/code_sources")
def list_code_sources(request: Request):
    return _list(request, CS, "code_sources", render_code_source)


@router.get("/v2/code_sources/{identifier}")
def get_code_source(identifier: str, request: Request, caller: Caller = Depends(current_caller)):
    with _rt(request).db.read() as conn:
        row = _code_source(conn, identifier, request.query_params.get("namespace", ""), caller)
    return _only_fields(request, render_code_source(row))


@router.delete("/v2/code_sources/{identifier}", status_code=204)
def delete_code_source(identifier: str, request: Request, caller: Caller = Depends(current_caller)):
    with _rt(request).db.tx() as conn:
        row = _code_source(conn, identifier, request.query_params.get("namespace", ""), caller)
        access.ensure_owner(row, caller, f"Can not delete code source of another project [identifier={identifier}]")
        conn.execute(DA.delete().where(DA.c.code_source_id == row.id))
        conn.execute(CS.delete().where(CS.c.id == row.id))
    return Response(status_code=204)


# ---------------------------------------------------------------- dynamic actions

def _source_of(conn, body: dict, namespace: str, caller: Caller):
    ident = body.get("code_source_id") or body.get("code_source_name")
    if not ident:
        raise ApiError(400, "Either 'code_source_id' or 'code_source_name' must be provided.")
    return _code_source(conn, ident, namespace, caller)


def _check_class(source: Any, class_name: str) -> None:
    """Load the module and find the class now, so a mistake is a 400 at create."""
    try:
        dyn.action_class(dyn.load_module(source.name, source.content, source.version), class_name)
    except dyn.DynamicActionError as e:
        raise ApiError(400, str(e))
    except Exception as e:      # user code may raise anything while loading
        raise ApiError(400, f"Cannot load code source '{source.name}': {type(e).__name__}: {e}")


@router.post("/v2/dynamic_actions", status_code=201)
def create_dynamic_action(request: Request, data: bytes = Depends(raw_body),
                          caller: Caller = Depends(current_caller)):
    body = json_object(data)
    name, class_name = body.get("name"), body.get("class_name")
    if not name or not class_name:
        raise ApiError(400, "Both 'name' and 'class_name' must be provided.")
    _check_allowed(request)
    namespace, scope = body.get("namespace") or "", _scope(body.get("scope"))
    rt = _rt(request)
    if rt.registry.get(name, rescan=False) is not None:
        raise ApiError(409, f"Duplicate entry for dynamic action definition [name={name}, "
                            f"namespace={namespace}]: a system action has this name")
    now = time.time()
    with rt.db.tx() as conn:
        source = _source_of(conn, body, namespace, caller)
        if conn.execute(sa.select(DA.c.id).where(DA.c.name == name, DA.c.namespace == namespace,
                                                 DA.c.project_id == caller.project_id)).first():
            raise ApiError(409, f"Duplicate entry for dynamic action definition [name={name}, "
                                f"namespace={namespace}, project_id={caller.project_id}]")
        _check_class(source, class_name)
        aid = str(uuid.uuid4())
        conn.execute(DA.insert().values(id=aid, name=name, namespace=namespace, class_name=class_name,
                                        code_source_id=source.id, code_source_name=source.name,
                                        scope=scope, project_id=caller.project_id,
                                        created_at=now, updated_at=None))
        row = conn.execute(sa.select(DA).where(DA.c.id == aid)).first()
    return JSONResponse(render_dynamic_action(row), status_code=201)


@router.put("/v2/dynamic_actions")
def update_dynamic_action(request: Request, data: bytes = Depends(raw_body),
                          caller: Caller = Depends(current_caller)):
    body = json_object(data)
    identifier = body.get("id") or body.get("name")
    if not identifier:
        raise ApiError(400, "Either 'name' or 'id' must be provided.")
    _check_allowed(request)
    namespace = body.get("namespace") or ""
    with _rt(request).db.tx() as conn:
        row = _dynamic_action(conn, identifier, namespace, caller)
        access.ensure_owner(row, caller, f"Can not update dynamic action of another project [identifier={identifier}]")
        values: dict = {"updated_at": time.time()}
        if body.get("scope"):
            values["scope"] = _scope(body["scope"])
        if body.get("class_name"):
            values["class_name"] = body["class_name"]
        if body.get("code_source_id") or body.get("code_source_name"):
            source = _source_of(conn, body, namespace, caller)
            values.update(code_source_id=source.id, code_source_name=source.name)
        else:
            source = conn.execute(sa.select(CS).where(CS.c.id == row.code_source_id)).first()
        _check_class(source, values.get("class_name", row.class_name))
        conn.execute(DA.update().where(DA.c.id == row.id).values(**values))
        row = conn.execute(sa.select(DA).where(DA.c.id == row.id)).first()
    return render_dynamic_action(row)


@router.get("/v2/dynamic_actions")
def list_dynamic_actions(request: Request):
    return _list(request, DA, "dynamic_actions", render_dynamic_action)


@router.get("/v2/dynamic_actions/{identifier}")
def get_dynamic_action(identifier: str, request: Request, caller: Caller = Depends(current_caller)):
    with _rt(request).db.read() as conn:
        row = _dynamic_action(conn, identifier, request.query_params.get("namespace", ""), caller)
    return _only_fields(request, render_dynamic_action(row))


@router.delete("/v2/dynamic_actions/{identifier}", status_code=204)
def delete_dynamic_action(identifier: str, request: Request, caller: Caller = Depends(current_caller)):
    with _rt(request).db.tx() as conn:
        row = _dynamic_action(conn, identifier, request.query_params.get("namespace", ""), caller)
        access.ensure_owner(row, caller, f"Can not delete dynamic action of another project [identifier={identifier}]")
        conn.execute(DA.delete().where(DA.c.id == row.id))
    return Response(status_code=204)


# ---------------------------------------------------------------- in /v2/actions

def as_actions(rt, where=sa.true()) -> list[dict]:
    """The dynamic actions (those ``where`` keeps: the caller's) as ``GET /v2/actions``
    lists them (input from the class)."""
    with rt.db.read() as conn:
        rows = conn.execute(sa.select(DA).where(where).order_by(DA.c.created_at)).fetchall()
    return [as_action(rt, r) for r in rows]


def as_action(rt, r: Any) -> dict:
    try:
        d = rt.resolver.dynamic.get(r.name, r.namespace)
        params = d.input_display() if d else ""
        description = d.description if d else ""
    except dyn.DynamicActionError as e:
        params, description = "", f"(cannot load: {e})"
    return {"id": r.id, "name": r.name, "is_system": False, "input": params,
            "description": description, "tags": [], "definition": "", "scope": r.scope,
            "project_id": r.project_id, "created_at": ts(r.created_at),
            "updated_at": ts(r.updated_at), "namespace": r.namespace}
