"""Workflows, workbooks, ad-hoc actions and environments: the definitions a user stores."""
from __future__ import annotations

import json
import re
import time
import uuid

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response

from levante import lang, limits
from levante.api import code_sources, render
from levante.api.body import definition_text, json_object
from levante.api.body import raw as raw_body
from levante.api.errors import YAML_CONTENT_TYPE, ApiError
from levante.api.listing import list_items, list_response
from levante.auth import Caller, current_caller
from levante.limits import loads
from levante.lang.spec import ActionSpec, WorkbookSpec, WorkflowSpec
from levante.runtime import definitions as wf_definitions
from levante.runtime import specs
from levante.store import scope as access
from levante.store.auth import resource_members as RM
from levante.store import code_sources as store_cs
from levante.store.code_sources import DA
from levante.store.schema import CREATION_TICK, DEFAULT_PROJECT
from levante.triggers.guard import check_workflow_deletable
from levante.store.schema import action_definitions as AD
from levante.store.schema import environments as ENV
from levante.store.schema import workbooks as WB
from levante.store.schema import workflow_definitions as WD

router = APIRouter()


def _rt(request: Request):
    return request.app.state.runtime


def _yaml_json(body: dict, status: int = 200) -> JSONResponse:
    return JSONResponse(body, status_code=status, media_type=YAML_CONTENT_TYPE)


def _input_display(params) -> str:
    parts = []
    for p in params:
        parts.append(p.name if p.required else f'{p.name}="{_py_str(p.default)}"')
    return ", ".join(parts)


def _py_str(value) -> str:
    # Mistral shows defaults with Python's str(): False, [2, 0, 1], {'a': 1}.
    return str(value)


def _interface(spec: WorkflowSpec) -> str:
    inputs = [p.name if p.required else {p.name: p.default} for p in spec.input]
    output = list(spec.output.keys()) if isinstance(spec.output, dict) else []
    return json.dumps({"input": inputs, "output": output})


def _parse(fn, text: str, request: Request):
    # As Mistral, a definition may name an action that does not exist yet (a
    # plug-in or dynamic action added later): storing it does not check
    # actions, running the task does. `.../validate` still reports them.
    try:
        parsed = fn(text)
    except lang.DSLError as e:
        errors = _explained(e.errors if isinstance(e, lang.DSLErrors) else [e], _rt(request).registry)
        raise ApiError(400, "Invalid DSL: " + "\n".join(str(x) for x in errors), yaml_endpoint=True)
    _check_names(parsed)
    return parsed


_ACTION_NOT_FOUND = re.compile(r"Action '(.+)' not found\.$")


def _explained(errors: list, registry) -> list:
    """Add the cause to "Action 'x' not found." when a plug-in providing x failed to load."""
    out = []
    for e in errors:
        m = _ACTION_NOT_FOUND.match(e.message)
        why = registry.load_error(m.group(1)) if m else None
        out.append(lang.DSLError(f"{e.message} {why[0].upper()}{why[1:]}.", e.line, e.column)
                   if why else e)
    return out


def _check_names(parsed) -> None:
    """Mistral's rules for definition names, plus no '/' or control characters."""
    if isinstance(parsed, WorkbookSpec):
        named = [("Workbook", parsed.name)] + [("Workflow", n) for n in parsed.workflows] + \
            [("Action", n) for n in parsed.actions]
    else:
        named = [("Action" if isinstance(p, ActionSpec) else "Workflow", p.name) for p in parsed]
    for kind, name in named:
        problem = limits.name_problem(name, limits.DEFINITION_NAME_MAX, spaces=False)
        if problem:
            raise ApiError(400, f"Invalid DSL: {kind} name {name[:80]!r} {problem}",
                           yaml_endpoint=True)


def _known_action(request: Request):
    return _rt(request).resolver.exists


def _wf_values(spec: WorkflowSpec, namespace: str, scope: str, wb: str | None) -> dict:
    return dict(name=spec.name, namespace=namespace, definition=spec.definition,
                input=_input_display(spec.input), interface=_interface(spec),
                checksum=specs.checksum(spec.definition), workbook_name=wb,
                tags=json.dumps(list(spec.tags)), scope=scope)


def _action_values(spec: ActionSpec, namespace: str, scope: str, wb: str | None) -> dict:
    return dict(name=spec.name, namespace=namespace, definition=spec.definition or "",
                input=_input_display(spec.input), description=spec.description,
                workbook_name=wb, tags=json.dumps(list(spec.tags)), scope=scope)


def _duplicate(kind: str, cols: str, name: str, namespace: str,
               project: str = DEFAULT_PROJECT) -> ApiError:
    return ApiError(409, f"Duplicate entry for {kind} [{cols}]: {name}, {namespace}, {project}",
                    yaml_endpoint=True)


def _insert_all(conn, table, kind: str, items: list[tuple[str, dict]], namespace: str, now: float,
                caller: Caller, taken=lambda name: False) -> list:
    """Insert definitions (name, column values) in the caller's project; all or none:
    a taken name is a 409."""
    for name, _ in items:
        if taken(name) or conn.execute(sa.select(table.c.id).where(
                table.c.name == name, table.c.namespace == namespace,
                table.c.project_id == caller.project_id)).first():
            raise _duplicate(kind, "'name', 'namespace', 'project_id'", name, namespace, caller.project_id)
    ids = []
    for i, (_, values) in enumerate(items):
        ids.append(str(uuid.uuid4()))
        conn.execute(table.insert().values(id=ids[-1], created_at=now + i * CREATION_TICK,
                                           updated_at=None, project_id=caller.project_id, **values))
    return [conn.execute(sa.select(table).where(table.c.id == i)).first() for i in ids]


def _update_all(conn, table, items: list[tuple[str, dict]], namespace: str, now: float,
                not_found, caller: Caller) -> list:
    """Update the caller's definitions by name; an unknown one is a 404 (``not_found(name)``)."""
    rows = []
    for name, values in items:
        row = conn.execute(sa.select(table.c.id).where(
            table.c.name == name, table.c.namespace == namespace,
            table.c.project_id == caller.project_id)).first()
        if row is None:
            raise ApiError(404, not_found(name), yaml_endpoint=True)
        conn.execute(table.update().where(table.c.id == row.id).values(updated_at=now, **values))
        rows.append(conn.execute(sa.select(table).where(table.c.id == row.id)).first())
    return rows


def _options(request: Request) -> tuple[str, str]:
    q = request.query_params
    try:
        return limits.check_namespace(q.get("namespace", "")), limits.check_scope(q.get("scope"))
    except limits.BadRequest as e:
        raise ApiError(400, str(e), yaml_endpoint=True) from None


# ---------------------------------------------------------------- workflows

@router.post("/v2/workflows/validate")
@router.post("/v2/workbooks/validate")
@router.post("/v2/actions/validate")
def validate_definition(request: Request, data: bytes = Depends(raw_body)):
    text = data.decode("utf-8", errors="replace")
    path = request.url.path
    kind = "actions" if "/actions/" in path else "workbook" if "/workbooks/" in path else "workflows"
    errors = _explained(lang.validate(text, known_action=_known_action(request), kind=kind),
                        _rt(request).registry)
    if not errors:
        return JSONResponse({"valid": True})
    return JSONResponse({"valid": False, "error": "\n".join(str(e) for e in errors)})


@router.post("/v2/workflows", status_code=201)
def create_workflows(request: Request, data: bytes = Depends(raw_body), caller: Caller = Depends(current_caller)):
    text = definition_text(data)
    namespace, scope = _options(request)
    parsed = _parse(lang.parse_workflows, text, request)
    items = [(w.name, _wf_values(w, namespace, scope, None)) for w in parsed]
    with _rt(request).db.tx() as conn:
        rows = _insert_all(conn, WD, "WorkflowDefinition", items, namespace, time.time(), caller)
    return _yaml_json({"workflows": [render.workflow_created(r) for r in rows]}, 201)


@router.put("/v2/workflows")
def update_workflows(request: Request, data: bytes = Depends(raw_body), caller: Caller = Depends(current_caller)):
    text = definition_text(data)
    namespace, scope = _options(request)
    parsed = _parse(lang.parse_workflows, text, request)
    items = [(w.name, _wf_values(w, namespace, scope, None)) for w in parsed]
    with _rt(request).db.tx() as conn:
        rows = _update_all(conn, WD, items, namespace, time.time(), lambda n: (
            f"Workflow not found [workflow_identifier={n}, namespace={namespace}]"), caller)
    return _yaml_json({"workflows": [render.workflow_created(r) for r in rows]})


def _find_workflow(conn, identifier: str, namespace: str, caller: Caller):
    # As Mistral: by id in any namespace, by name in the namespace given (no
    # workbook short names here, unlike starting an execution).
    row = wf_definitions.find_row(conn, identifier, namespace, caller)
    if row is None:
        raise ApiError(404, f"Workflow not found [workflow_identifier={identifier}, namespace={namespace}]")
    return row


def _in_namespace(request: Request, table) -> list:
    """``?namespace=ns1`` lists only what is in ns1 (none given: every namespace)."""
    namespace = request.query_params.get("namespace")
    return [table.c.namespace == namespace] if namespace else []


@router.get("/v2/workflows")
def list_workflows(request: Request, caller: Caller = Depends(current_caller)):
    with _rt(request).db.read() as conn:
        return list_response(request, conn, WD, "workflows", render.workflow,
                             base_where=_in_namespace(request, WD), caller=caller)


@router.get("/v2/workflows/{identifier}")
def get_workflow(identifier: str, request: Request, caller: Caller = Depends(current_caller)):
    with _rt(request).db.read() as conn:
        return render.workflow(_find_workflow(conn, identifier, request.query_params.get("namespace", ""),
                                              caller))


@router.delete("/v2/workflows/{identifier}", status_code=204)
def delete_workflow(identifier: str, request: Request, caller: Caller = Depends(current_caller)):
    namespace = limits.check_namespace(request.query_params.get("namespace", ""))
    with _rt(request).db.tx() as conn:
        row = _find_workflow(conn, identifier, namespace, caller)
        access.ensure_owner(row, caller, f"Can not delete workflow of another project [workflow_identifier={identifier}]")
        check_workflow_deletable(conn, row.id, identifier, namespace)
        conn.execute(WD.delete().where(WD.c.id == row.id))
        conn.execute(RM.delete().where(RM.c.resource_id == row.id))
    return Response(status_code=204)


# ---------------------------------------------------------------- workbooks

def _store_workbook(conn, wb, namespace: str, scope: str, now: float, project: str) -> None:
    for i, spec in enumerate(wb.workflows.values()):
        conn.execute(WD.insert().values(id=str(uuid.uuid4()), created_at=now + i * CREATION_TICK,
                                        updated_at=None, project_id=project,
                                        **_wf_values(spec, namespace, scope, wb.name)))
    for i, spec in enumerate(wb.actions.values()):
        conn.execute(AD.insert().values(id=str(uuid.uuid4()), created_at=now + i * CREATION_TICK,
                                        updated_at=None, project_id=project,
                                        **dict(_action_values(spec, namespace, scope, wb.name),
                                               definition=wb.definition)))


def _check_free_names(conn, wb, namespace: str, project: str) -> None:
    for name in wb.workflows:
        if conn.execute(sa.select(WD.c.id).where(WD.c.name == name, WD.c.namespace == namespace,
                                                 WD.c.project_id == project)).first():
            raise _duplicate("WorkflowDefinition", "'name', 'namespace', 'project_id'", name, namespace,
                             project)
    for name in wb.actions:
        if conn.execute(sa.select(AD.c.id).where(AD.c.name == name, AD.c.namespace == namespace,
                                                 AD.c.project_id == project)).first():
            raise _duplicate("Action", "'name', 'namespace', 'project_id'", name, namespace, project)


@router.post("/v2/workbooks", status_code=201)
def create_workbook(request: Request, data: bytes = Depends(raw_body), caller: Caller = Depends(current_caller)):
    text = definition_text(data)
    namespace, scope = _options(request)
    wb = _parse(lang.parse_workbook, text, request)
    now = time.time()
    with _rt(request).db.tx() as conn:
        project = caller.project_id
        if conn.execute(sa.select(WB.c.id).where(WB.c.name == wb.name, WB.c.namespace == namespace,
                                                 WB.c.project_id == project)).first():
            raise _duplicate("WorkbookDefinition", "'name', 'namespace', 'project_id'", wb.name, namespace,
                             project)
        _check_free_names(conn, wb, namespace, project)
        wid = str(uuid.uuid4())
        conn.execute(WB.insert().values(id=wid, name=wb.name, namespace=namespace, definition=text,
                                        checksum=specs.checksum(text), tags=json.dumps(list(wb.tags)),
                                        scope=scope, project_id=project, created_at=now, updated_at=None))
        _store_workbook(conn, wb, namespace, scope, now, project)
        row = conn.execute(sa.select(WB).where(WB.c.id == wid)).first()
    return _yaml_json(render.workbook(row), 201)


@router.put("/v2/workbooks")
def update_workbook(request: Request, data: bytes = Depends(raw_body), caller: Caller = Depends(current_caller)):
    text = definition_text(data)
    namespace, scope = _options(request)
    wb = _parse(lang.parse_workbook, text, request)
    now = time.time()
    with _rt(request).db.tx() as conn:
        project = caller.project_id
        row = conn.execute(sa.select(WB).where(WB.c.name == wb.name, WB.c.namespace == namespace,
                                               WB.c.project_id == project)).first()
        if row is None:
            raise ApiError(404, f"Workbook not found [name={wb.name}, namespace={namespace}]", yaml_endpoint=True)
        conn.execute(WD.delete().where(WD.c.workbook_name == wb.name, WD.c.namespace == namespace,
                                       WD.c.project_id == project))
        conn.execute(AD.delete().where(AD.c.workbook_name == wb.name, AD.c.namespace == namespace,
                                       AD.c.project_id == project))
        _check_free_names(conn, wb, namespace, project)
        conn.execute(WB.update().where(WB.c.id == row.id).values(
            definition=text, checksum=specs.checksum(text), tags=json.dumps(list(wb.tags)),
            scope=scope, updated_at=now))
        _store_workbook(conn, wb, namespace, scope, now, project)
        row = conn.execute(sa.select(WB).where(WB.c.id == row.id)).first()
    return _yaml_json(render.workbook(row))


@router.get("/v2/workbooks")
def list_workbooks(request: Request, caller: Caller = Depends(current_caller)):
    with _rt(request).db.read() as conn:
        return list_response(request, conn, WB, "workbooks", render.workbook,
                             base_where=_in_namespace(request, WB), caller=caller)


def _find_workbook(conn, name: str, namespace: str, caller: Caller):
    row = conn.execute(sa.select(WB).where(WB.c.name == name, WB.c.namespace == namespace,
                                           access.visible(WB, caller))
                       .order_by(sa.case((WB.c.project_id == caller.project_id, 0), else_=1))).first()
    if row is None:
        raise ApiError(404, f"Workbook not found [name={name}, namespace={namespace}]")
    return row


@router.get("/v2/workbooks/{name}")
def get_workbook(name: str, request: Request, caller: Caller = Depends(current_caller)):
    with _rt(request).db.read() as conn:
        return render.workbook(_find_workbook(conn, name, request.query_params.get("namespace", ""), caller))


@router.delete("/v2/workbooks/{name}", status_code=204)
def delete_workbook(name: str, request: Request, caller: Caller = Depends(current_caller)):
    namespace = limits.check_namespace(request.query_params.get("namespace", ""))
    with _rt(request).db.tx() as conn:
        row = _find_workbook(conn, name, namespace, caller)
        access.ensure_owner(row, caller, f"Can not delete workbook of another project [name={name}]")
        project = row.project_id
        for wf in conn.execute(sa.select(WD.c.id, WD.c.name).where(WD.c.workbook_name == name,
                                                                   WD.c.namespace == namespace,
                                                                   WD.c.project_id == project)):
            check_workflow_deletable(conn, wf.id, wf.name, namespace)
        conn.execute(WD.delete().where(WD.c.workbook_name == name, WD.c.namespace == namespace,
                                       WD.c.project_id == project))
        conn.execute(AD.delete().where(AD.c.workbook_name == name, AD.c.namespace == namespace,
                                       AD.c.project_id == project))
        conn.execute(WB.delete().where(WB.c.id == row.id))
    return Response(status_code=204)


# ---------------------------------------------------------------- actions

@router.get("/v2/actions")
def list_actions(request: Request, caller: Caller = Depends(current_caller)):
    """Built-in and ad-hoc actions as one collection (Mistral sorts it by name).
    Like Mistral, without ``namespace`` only the actions of the default
    namespace are listed (built-ins belong to it)."""
    rt = _rt(request)
    items = [render.builtin_action(d) for d in rt.registry.all()]
    q = request.query_params
    where = access.listed(AD, caller, q.get("all_projects", "").lower() == "true", q.get("project_id"))
    with rt.db.read() as conn:
        items += [render.action_definition(r) for r in conn.execute(
            sa.select(AD).where(where).order_by(AD.c.created_at))]
    items += code_sources.as_actions(rt, access.listed(
        DA, caller, q.get("all_projects", "").lower() == "true", q.get("project_id")))
    namespace = request.query_params.get("namespace")
    if namespace is None:
        items = [it for it in items if it["namespace"] == ""]
    return list_items(request, items, "actions", default_sort="name")


@router.get("/v2/actions/{identifier}")
@router.get("/v2/actions/{identifier}/")
@router.get("/v2/actions/{identifier}/{namespace}")
def get_action(identifier: str, request: Request, namespace: str = "", caller: Caller = Depends(current_caller)):
    rt = _rt(request)
    d = rt.registry.get(identifier)
    if d is not None:
        return render.builtin_action(d)
    with rt.db.read() as conn:
        row = conn.execute(sa.select(AD).where(sa.or_(AD.c.id == identifier, AD.c.name == identifier),
                                               access.visible(AD, caller))
                           .order_by(sa.case((AD.c.project_id == caller.project_id, 0), else_=1))).first()
        dyn_row = None if row is not None else store_cs.find_dynamic_action(
            conn, identifier, namespace, None if caller.is_admin or not caller.authenticated else caller.project_id)
    if dyn_row is not None:
        return code_sources.as_action(rt, dyn_row)
    if row is None:
        why = rt.registry.load_error(identifier)
        raise ApiError(404, f"Action not found [action_name={identifier}, namespace={namespace}]"
                       + (f": {why}" if why else ""))
    return render.action_definition(row)


@router.post("/v2/actions", status_code=201)
def create_actions(request: Request, data: bytes = Depends(raw_body), caller: Caller = Depends(current_caller)):
    text = definition_text(data)
    namespace, scope = _options(request)
    parsed = _parse(lang.parse_actions, text, request)
    rt = _rt(request)
    items = [(a.name, dict(_action_values(a, namespace, scope, None), definition=text)) for a in parsed]
    with rt.db.tx() as conn:
        rows = _insert_all(conn, AD, "Action", items, namespace, time.time(), caller,
                           taken=lambda n: rt.registry.get(n) is not None)
    return _yaml_json({"actions": [render.action_definition(r) for r in rows]}, 201)


@router.put("/v2/actions")
def update_actions(request: Request, data: bytes = Depends(raw_body), caller: Caller = Depends(current_caller)):
    text = definition_text(data)
    namespace, scope = _options(request)
    parsed = _parse(lang.parse_actions, text, request)
    items = [(a.name, dict(_action_values(a, namespace, scope, None), definition=text)) for a in parsed]
    with _rt(request).db.tx() as conn:
        rows = _update_all(conn, AD, items, namespace, time.time(), lambda n: (
            f"Action not found [action_name={n}, namespace={namespace}]"), caller)
    return _yaml_json({"actions": [render.action_definition(r) for r in rows]})


@router.delete("/v2/actions/{identifier}", status_code=204)
@router.delete("/v2/actions/{identifier}/", status_code=204)
@router.delete("/v2/actions/{identifier}/{namespace}", status_code=204)
def delete_action(identifier: str, request: Request, namespace: str = "", caller: Caller = Depends(current_caller)):
    rt = _rt(request)
    if rt.registry.get(identifier):
        raise ApiError(400, f"Attempt to delete a system action: {identifier}")
    with rt.db.tx() as conn:
        public = conn.execute(sa.select(AD.c.project_id).where(
            sa.or_(AD.c.id == identifier, AD.c.name == identifier), access.visible(AD, caller),
            sa.not_(access.owned(AD, caller)))).first()
        if public is not None:
            access.ensure_owner(public, caller, f"Can not delete action of another project [action_name={identifier}]")
        res = conn.execute(AD.delete().where(sa.or_(AD.c.id == identifier, AD.c.name == identifier),
                                             access.owned(AD, caller)))
    if res.rowcount == 0:
        raise ApiError(404, f"Action not found [action_name={identifier}, namespace={namespace}]")
    return Response(status_code=204)


# ---------------------------------------------------------------- environments

def _variables(value) -> str:
    if value is None:
        return "{}"
    if isinstance(value, str):
        try:
            value = loads(value, "Field 'variables'")
        except ValueError as e:
            raise ApiError(400, str(e) if str(e).startswith("Field ")
                           else "Environment variables must be a JSON object")
    if not isinstance(value, dict):
        raise ApiError(400, "Environment variables must be a JSON object")
    text = json.dumps(value)
    limits.check_field_size("Environment", "variables", text)
    return text


def _env_name(body: dict) -> str:
    name = body.get("name")
    if name is None or name == "":
        raise ApiError(400, "Environment name is required")
    return limits.check_name("Environment", name)


def _env_text(body: dict, key: str) -> str | None:
    value = body.get(key)
    if value is not None and not isinstance(value, str):
        raise ApiError(400, f"Environment {key} must be a string, not {type(value).__name__}")
    if key == "scope" and value and value not in ("private", "public"):
        raise ApiError(400, f"Environment scope must be 'private' or 'public', not {value[:80]!r}")
    if key == "description" and value and len(value) > 255:
        raise ApiError(400, f"Environment description is too long: {len(value)} characters, at most 255")
    return value


@router.post("/v2/environments", status_code=201)
def create_environment(request: Request, data: bytes = Depends(raw_body), caller: Caller = Depends(current_caller)):
    body = json_object(data)
    name = _env_name(body)
    _env_text(body, "description")
    _env_text(body, "scope")
    now = time.time()
    with _rt(request).db.tx() as conn:
        if conn.execute(sa.select(ENV.c.id).where(ENV.c.name == name,
                                                  ENV.c.project_id == caller.project_id)).first():
            raise ApiError(409, f"Duplicate entry for Environment ['name', 'project_id']: {name}, "
                                f"{caller.project_id}")
        eid = str(uuid.uuid4())
        conn.execute(ENV.insert().values(id=eid, name=name, description=body.get("description"),
                                         variables=_variables(body.get("variables")),
                                         scope=body.get("scope") or "private", project_id=caller.project_id,
                                         created_at=now, updated_at=None))
        row = conn.execute(sa.select(ENV).where(ENV.c.id == eid)).first()
    return JSONResponse(render.environment(row), status_code=201)


@router.put("/v2/environments")
def update_environment(request: Request, data: bytes = Depends(raw_body), caller: Caller = Depends(current_caller)):
    body = json_object(data)
    name = _env_name(body)
    _env_text(body, "description")
    _env_text(body, "scope")
    values = {"updated_at": time.time()}
    if "variables" in body:
        values["variables"] = _variables(body["variables"])
    if "description" in body:
        values["description"] = body["description"]
    if body.get("scope"):
        values["scope"] = body["scope"]
    with _rt(request).db.tx() as conn:
        mine = sa.and_(ENV.c.name == name, ENV.c.project_id == caller.project_id)
        res = conn.execute(ENV.update().where(mine).values(**values))
        if res.rowcount == 0:
            raise ApiError(404, f"Environment not found [name={name}]")
        row = conn.execute(sa.select(ENV).where(mine)).first()
    return render.environment(row)


@router.get("/v2/environments")
def list_environments(request: Request, caller: Caller = Depends(current_caller)):
    with _rt(request).db.read() as conn:
        return list_response(request, conn, ENV, "environments", render.environment, caller=caller)


@router.get("/v2/environments/{name}")
def get_environment(name: str, request: Request, caller: Caller = Depends(current_caller)):
    with _rt(request).db.read() as conn:
        row = conn.execute(sa.select(ENV).where(sa.or_(ENV.c.name == name, ENV.c.id == name),
                                                access.visible(ENV, caller))
                           .order_by(sa.case((ENV.c.project_id == caller.project_id, 0), else_=1))).first()
    if row is None:
        raise ApiError(404, f"Environment not found [name={name}]")
    return render.environment(row)


@router.delete("/v2/environments/{name}", status_code=204)
def delete_environment(name: str, request: Request, caller: Caller = Depends(current_caller)):
    with _rt(request).db.tx() as conn:
        res = conn.execute(ENV.delete().where(ENV.c.name == name, ENV.c.project_id == caller.project_id))
    if res.rowcount == 0:
        raise ApiError(404, f"Environment not found [name={name}]")
    return Response(status_code=204)
