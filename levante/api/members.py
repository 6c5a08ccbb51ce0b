"""Resource sharing as Mistral: ``/v2/workflows/{id}/members``.

The owner of a private workflow shares it with another project
(``POST``, status ``pending``); that project accepts or rejects it
(``PUT .../members/{its project}``) and, once it accepted, sees and runs the
workflow (:func:`levante.store.scope.shared_with`). The owner lists, reads
and deletes memberships; a member sees only its own. Without
authentication there are no projects to share with, and every call answers
as Mistral does then.
"""
from __future__ import annotations

import time
import uuid

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response

from levante.api.body import json_object
from levante.api.body import raw as raw_body
from levante.api.errors import ApiError
from levante.api.render import ts
from levante.auth import Caller, current_caller
from levante.store.auth import resource_members as RM
from levante.store.schema import workflow_definitions as WD

router = APIRouter()

NO_AUTH = "Resource sharing feature can only be supported with authentication enabled."
STATUSES = ("pending", "accepted", "rejected")
# URL collection -> resource type, as python-mistralclient builds the URLs ('/%ss/...').
TYPES = {"workflows": "workflow"}


def _render(r) -> dict:
    return {"id": r.id, "resource_id": r.resource_id, "resource_type": r.resource_type,
            "project_id": r.project_id, "member_id": r.member_id, "status": r.status,
            "created_at": ts(r.created_at), "updated_at": ts(r.updated_at)}


def _context(request: Request, collection: str, caller: Caller) -> str:
    """The resource type; refuses the call when sharing cannot apply."""
    if not caller.authenticated:
        raise ApiError(400, NO_AUTH)
    rtype = TYPES.get(collection)
    if rtype is None:
        raise ApiError(400, f"Resource type '{collection}' can not be shared; only workflows can.")
    return rtype


def _workflow(conn, resource_id: str, caller: Caller, owner_only: bool):
    """The shared workflow as the caller may see it: its owner, or a project it was shared with."""
    row = conn.execute(sa.select(WD.c.id, WD.c.project_id, WD.c.scope).where(WD.c.id == resource_id)).first()
    if row is not None and (row.project_id == caller.project_id or caller.is_admin):
        return row
    if row is not None and not owner_only and conn.execute(sa.select(RM.c.id).where(
            RM.c.resource_id == resource_id, RM.c.member_id == caller.project_id)).first():
        return row
    raise ApiError(404, f"Workflow not found [workflow_identifier={resource_id}]")


def _member(conn, resource_id: str, rtype: str, member_id: str, caller: Caller, owner: str):
    q = sa.select(RM).where(RM.c.resource_id == resource_id, RM.c.resource_type == rtype,
                            RM.c.member_id == member_id)
    if caller.project_id != owner and not caller.is_admin:
        q = q.where(RM.c.member_id == caller.project_id)
    row = conn.execute(q).first()
    if row is None:
        raise ApiError(404, f"Resource member not found [resource_id={resource_id}, member_id={member_id}]")
    return row


@router.post("/v2/{collection}/{resource_id}/members", status_code=201)
def create_member(collection: str, resource_id: str, request: Request, data: bytes = Depends(raw_body),
                  caller: Caller = Depends(current_caller)):
    rtype = _context(request, collection, caller)
    body = json_object(data)
    member_id = body.get("member_id")
    if not isinstance(member_id, str) or not member_id.strip():
        raise ApiError(400, "Member id must be provided [member_id]")
    now = time.time()
    with request.app.state.runtime.db.tx() as conn:
        wf = _workflow(conn, resource_id, caller, owner_only=True)
        if wf.scope == "public":
            raise ApiError(400, "Only private resource could be shared.")
        if member_id == wf.project_id:
            raise ApiError(400, "Resource can not be shared with its own project.")
        if conn.execute(sa.select(RM.c.id).where(RM.c.resource_id == resource_id, RM.c.resource_type == rtype,
                                                 RM.c.member_id == member_id)).first():
            raise ApiError(409, "Duplicate entry for ResourceMember ['resource_id', 'resource_type', "
                                f"'member_id']: {resource_id}, {rtype}, {member_id}")
        mid = str(uuid.uuid4())
        conn.execute(RM.insert().values(id=mid, resource_id=resource_id, resource_type=rtype,
                                        project_id=wf.project_id, member_id=member_id, status="pending",
                                        created_at=now, updated_at=None))
        row = conn.execute(sa.select(RM).where(RM.c.id == mid)).first()
    return JSONResponse(_render(row), status_code=201)


@router.get("/v2/{collection}/{resource_id}/members")
def list_members(collection: str, resource_id: str, request: Request, caller: Caller = Depends(current_caller)):
    rtype = _context(request, collection, caller)
    with request.app.state.runtime.db.read() as conn:
        wf = _workflow(conn, resource_id, caller, owner_only=False)
        q = sa.select(RM).where(RM.c.resource_id == resource_id, RM.c.resource_type == rtype)
        if wf.project_id != caller.project_id and not caller.is_admin:
            q = q.where(RM.c.member_id == caller.project_id)
        rows = conn.execute(q.order_by(RM.c.created_at)).fetchall()
    return {"members": [_render(r) for r in rows]}


@router.get("/v2/{collection}/{resource_id}/members/{member_id}")
def get_member(collection: str, resource_id: str, member_id: str, request: Request,
               caller: Caller = Depends(current_caller)):
    rtype = _context(request, collection, caller)
    with request.app.state.runtime.db.read() as conn:
        wf = _workflow(conn, resource_id, caller, owner_only=False)
        return _render(_member(conn, resource_id, rtype, member_id, caller, wf.project_id))


@router.put("/v2/{collection}/{resource_id}/members/{member_id}")
def update_member(collection: str, resource_id: str, member_id: str, request: Request,
                  data: bytes = Depends(raw_body), caller: Caller = Depends(current_caller)):
    rtype = _context(request, collection, caller)
    status = json_object(data).get("status")
    if status not in STATUSES:
        raise ApiError(400, f"Invalid status {status!r}: one of {', '.join(STATUSES)}")
    if member_id != caller.project_id:
        # Only the project a resource was shared with accepts or rejects it.
        raise ApiError(403, "Only the member project can change the status of its membership "
                            f"[resource_id={resource_id}, member_id={member_id}]")
    with request.app.state.runtime.db.tx() as conn:
        wf = _workflow(conn, resource_id, caller, owner_only=False)
        row = _member(conn, resource_id, rtype, member_id, caller, wf.project_id)
        conn.execute(RM.update().where(RM.c.id == row.id).values(status=status, updated_at=time.time()))
        row = conn.execute(sa.select(RM).where(RM.c.id == row.id)).first()
    return _render(row)


@router.delete("/v2/{collection}/{resource_id}/members/{member_id}", status_code=204)
def delete_member(collection: str, resource_id: str, member_id: str, request: Request,
                  caller: Caller = Depends(current_caller)):
    rtype = _context(request, collection, caller)
    with request.app.state.runtime.db.tx() as conn:
        wf = _workflow(conn, resource_id, caller, owner_only=True)
        row = _member(conn, resource_id, rtype, member_id, caller, wf.project_id)
        conn.execute(RM.delete().where(RM.c.id == row.id))
    return Response(status_code=204)
