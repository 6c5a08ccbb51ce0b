"""Maintenance mode: ``GET/PUT /maintenance`` (also under ``/v2``), and the
gate that refuses changes with 423 while the service is not RUNNING."""
from __future__ import annotations

import json
import time

from fastapi import APIRouter, Depends, FastAPI, Request
from starlette.concurrency import run_in_threadpool

from levante.api.body import json_object
from levante.api.body import raw as raw_body
from levante.api.errors import fault
from levante.runtime import maintenance
from levante.store.maintenance import PAUSED, PAUSING, RUNNING

router = APIRouter()

OPEN_PATHS = ("/", "/v2", "/v2/", "/maintenance", "/v2/maintenance", "/health")
# How long the gate trusts a RUNNING status it read (another process's change
# to maintenance mode reaches this one's gate at most this late; this
# process's own change at once). Spares every write a database read and a
# thread-pool hop.
RUNNING_SEEN_FOR = 1.0


@router.get("/maintenance")
@router.get("/v2/maintenance")
def get_maintenance(request: Request):
    return {"status": maintenance.status(request.app.state.runtime)}


@router.put("/maintenance")
@router.put("/v2/maintenance")
def put_maintenance(request: Request, data: bytes = Depends(raw_body)):
    body = json_object(data)
    request.app.state.maintenance_seen = None
    try:
        return {"status": maintenance.change(request.app.state.runtime, body.get("status"))}
    finally:
        request.app.state.maintenance_seen = None


def _allowed(method: str, path: str, body: bytes, state: str) -> bool:
    """What Mistral lets through while not RUNNING: completing an async action
    while PAUSING, and cancelling an execution."""
    if state == RUNNING:
        return True
    if method == "PUT" and path.startswith("/v2/action_executions") and state == PAUSING:
        return True
    if method == "PUT" and path.startswith("/v2/executions") and state in (PAUSING, PAUSED):
        try:
            return json.loads(body or b"{}").get("state") == "CANCELLED"
        except (ValueError, AttributeError):
            return False
    return False


class MaintenanceGate:
    """Pure ASGI middleware (reads pass straight through, streams included):
    refuses changes with 423 while the service is not RUNNING."""

    def __init__(self, app, runtime_of):
        self.app = app
        self.runtime_of = runtime_of

    async def __call__(self, scope, receive, send):
        if (scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS")
                or scope["path"] in OPEN_PATHS):
            return await self.app(scope, receive, send)
        app_state = scope["app"].state
        seen = getattr(app_state, "maintenance_seen", None)
        if seen is not None and time.monotonic() - seen < RUNNING_SEEN_FOR:
            state = RUNNING
        else:
            state = await run_in_threadpool(maintenance.status, self.runtime_of(scope))
            app_state.maintenance_seen = time.monotonic() if state == RUNNING else None
        if state == RUNNING:
            return await self.app(scope, receive, send)
        body, messages = b"", []
        if scope["method"] == "PUT":     # the body decides (a cancel is let through)
            while True:
                message = await receive()
                messages.append(message)
                body += message.get("body", b"")
                if not message.get("more_body"):
                    break
        if _allowed(scope["method"], scope["path"], body, state):
            async def replay():
                return messages.pop(0) if messages else await receive()

            return await self.app(scope, replay, send)
        msg = f"Current Mistral state is {state}. Method is not allowed"
        response = fault(423, msg)
        response.headers["Server-Error-Message"] = msg
        await response(scope, receive, send)


def install_gate(app: FastAPI) -> None:
    app.add_middleware(MaintenanceGate, runtime_of=lambda scope: scope["app"].state.runtime)


__all__ = ["router", "install_gate", "PAUSED", "PAUSING", "RUNNING"]
