"""``/v2/auth/tokens``: Levante's own API tokens (mode ``token``), for admins;
``/v2/auth/keystone``: a Keystone token for a user's password (mode
``keystone``), the console's sign-in form."""
from __future__ import annotations

from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
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


# ---------------------------------------------------------------- keystone sign-in

SIGN_IN_FIELDS = ("username", "password", "project_name")


def _same_origin_json(request: Request) -> None:
    """The sign-in is refused to other sites' pages: a JSON body (which a
    cross-site page can only send after a CORS preflight that is never
    granted) from this server's own origin when the browser names one."""
    if request.headers.get("content-type", "").split(";")[0].strip().lower() != "application/json":
        raise ApiError(400, "A sign-in must be a JSON body (Content-Type: application/json)")
    origin = request.headers.get("origin")
    host = request.headers.get("host", "").lower()
    if origin is not None and (urlsplit(origin).netloc.lower() != host or not host):
        raise ApiError(403, f"Cross-site sign-in refused: Origin {origin!r} is not this service's own")
    if origin is None and request.headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none"):
        raise ApiError(403, "Cross-site sign-in refused")


@router.post("/v2/auth/keystone", status_code=201)
async def keystone_sign_in(request: Request, data: bytes = Depends(raw_body)):
    from levante.auth.keystone import KeystoneUnavailable, password_token

    auth = getattr(request.app.state, "auth", None)
    mode = auth.mode if auth is not None else "none"
    if mode != "keystone":
        raise ApiError(400, f"Signing in with a Keystone password is only possible in authentication "
                            f"mode 'keystone'; this server runs in mode '{mode}'")
    _same_origin_json(request)
    body = json_object(data)
    for key in (*SIGN_IN_FIELDS, "user_domain_name", "project_domain_name"):
        value = body.get(key)
        if key in SIGN_IN_FIELDS and (not isinstance(value, str) or not value):
            raise ApiError(400, f"Field '{key}' must be provided")
        if value is not None and (not isinstance(value, str) or len(value) > 255):
            raise ApiError(400, f"Field '{key}' must be a string of at most 255 characters")
    try:
        got = await run_in_threadpool(
            password_token, auth.verifier.auth_url, body["username"], body["password"], body["project_name"],
            body.get("user_domain_name") or "Default", body.get("project_domain_name") or "Default")
    except KeystoneUnavailable as e:
        raise ApiError(503, str(e)) from None
    return JSONResponse(got, status_code=201, headers={"Cache-Control": "no-store"})
