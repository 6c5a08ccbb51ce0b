"""The ASGI middleware in front of every route: who is calling, may it do this.

It works out the :class:`~levante.store.scope.Caller` once per request (the
browser guard in mode ``none``, a credential otherwise), checks the policy
rule of the operation, and leaves the caller in ``request.state.caller``
for the routes (``Depends(current_caller)``).
"""
from __future__ import annotations

import json

from levante.errors import LevanteError


class AuthMiddleware:
    def __init__(self, app, auth):
        self.app = app
        self.auth = auth

    async def __call__(self, scope, receive, send):
        if scope["type"] == "websocket" and self.auth.mode != "none":
            # No route speaks WebSocket; never let one bypass the checks below.
            return await send({"type": "websocket.close", "code": 1008})
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        try:
            caller = await self.auth.identify(scope["method"], scope["path"], headers)
            if caller is not None:
                self.auth.authorize(caller, scope["method"], scope["path"],
                                    scope.get("query_string", b"").decode("latin-1"))
        except LevanteError as e:
            return await _fault(send, e.status, str(e), self.auth.challenge if e.status == 401 else None)
        scope.setdefault("state", {})["caller"] = caller
        await self.app(scope, receive, send)


async def _fault(send, status: int, message: str, challenge: str | None) -> None:
    body = json.dumps({"faultcode": "Client", "faultstring": message, "debuginfo": None}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if challenge:
        headers.append((b"www-authenticate", challenge.encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
