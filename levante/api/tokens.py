"""``/v2/auth/tokens``: Levante's own API tokens (mode ``token``), for admins."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response

from levante.api.body import json_object
from levante.api.body import raw as raw_body
from levante.api.errors import ApiError
from levante.api.render import ts
from levante.auth import Caller, current_caller

router = APIRouter()


def _tokens(request: Request):
    auth = getattr(request.app.state, "auth", None)
    if auth is None or auth.mode != "token":
        mode = auth.mode if auth is not None else "none"
        raise ApiError(400, f"API tokens are only used in authentication mode 'token'; this "
                            f"server runs in mode '{mode}'")
    return auth.tokens


#: The longest lifetime a token may be given: ten years.
MAX_EXPIRES_IN = 10 * 366 * 86400


def _render(t: dict) -> dict:
    return {"id": t["id"], "name": t["name"], "project_id": t["project_id"],
            "is_admin": bool(t["is_admin"]), "created_at": ts(t["created_at"]),
            "expires_at": ts(t.get("expires_at"))}


def _expires_in(value) -> float | None:
    """``expires_in``: seconds the token stays valid (absent or null: until revoked)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= MAX_EXPIRES_IN:
        raise ApiError(400, f"Field 'expires_in' must be a number of seconds between 1 and "
                            f"{MAX_EXPIRES_IN}, got {value!r}")
    return float(value)


@router.post("/v2/auth/tokens", status_code=201)
def create_token(request: Request, data: bytes = Depends(raw_body), caller: Caller = Depends(current_caller)):
    body = json_object(data)
    name = body.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ApiError(400, "Token name must be provided [name]")
    project = body.get("project_id") or caller.project_id
    if not isinstance(project, str) or len(project) > 80:
        raise ApiError(400, "Field 'project_id' must be a string of at most 80 characters")
    expires_in = _expires_in(body.get("expires_in"))
    row, token = _tokens(request).create(name.strip(), project, bool(body.get("is_admin")), expires_in)
    return JSONResponse(dict(_render(row), token=token), status_code=201)


@router.get("/v2/auth/tokens")
def list_tokens(request: Request):
    return {"tokens": [_render(t) for t in _tokens(request).list()]}


@router.delete("/v2/auth/tokens/{identifier}", status_code=204)
def revoke_token(identifier: str, request: Request):
    if _tokens(request).revoke(identifier) == 0:
        raise ApiError(404, f"Token not found [identifier={identifier}]")
    return Response(status_code=204)
