"""The :class:`Auth` of a server (one mode, the policy) and the route dependency."""
from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from levante.auth.hosts import BrowserGuard
from levante.errors import BadRequest, Forbidden, Unauthorized
from levante.store.scope import LOCAL, Caller

#: Paths anyone may read: version discovery and the API description.
#: Readable without credentials (the console under /ui/ too: it holds no data).
PUBLIC_PATHS = frozenset({"/", "/v2", "/v2/", "/docs", "/openapi.json"})

UNAUTHENTICATED = "The request you have made requires authentication."

#: Mode keystone's password sign-in (the console's form): it is how a caller
#: without a token gets one, so it takes none.
SIGN_IN_PATH = "/v2/auth/keystone"


def caller_of(request: Request) -> Caller:
    """The caller the middleware found (mode none: the local user)."""
    return getattr(request.state, "caller", None) or LOCAL


async def current_caller(request: Request) -> Caller:
    """FastAPI dependency: :func:`caller_of`. A coroutine, though it waits for
    nothing: FastAPI runs a plain function dependency on its thread pool, a
    hop of its own on every request."""
    return caller_of(request)


class Auth:
    """One authentication mode plus the policy rules."""

    def __init__(self, mode: str = "none", guard: BrowserGuard | None = None, tokens=None,
                 verifier=None, policy=None):
        self.mode = mode
        self.guard = guard
        self.tokens = tokens            # TokenStore (mode token; also execution credentials)
        self.verifier = verifier        # callable(token) -> Caller | None (oidc, keystone)
        self.policy = policy
        self.challenge = 'Bearer realm="levante"' if mode == "oidc" else (
            'Keystone uri="levante"' if mode == "keystone" else None)

    async def identify(self, method: str, path: str, headers: dict[str, str]) -> Caller | None:
        if self.mode == "none":
            refusal = self.guard.refusal(method, headers) if self.guard else None
            if refusal:
                raise (BadRequest if refusal[0] == 400 else Forbidden)(refusal[1])
            return LOCAL
        if method in ("GET", "HEAD") and (path in PUBLIC_PATHS or path == "/ui" or path.startswith("/ui/")):
            return None     # the console's pages and assets: its data comes through the API
        if method == "POST" and path.rstrip("/") == SIGN_IN_PATH and self.mode == "keystone":
            return None     # checks its own request (api/tokens.py): same origin, JSON only
        token = headers.get("x-auth-token")
        if not token:
            auth = headers.get("authorization", "")
            if auth.lower().startswith("bearer "):
                token = auth[7:].strip()
        if not token:
            raise Unauthorized(UNAUTHENTICATED)
        caller = self._cached(token)
        if caller is None:      # not validated lately: may take a database read or a remote call
            caller = await run_in_threadpool(self._check, token)
        if caller is None:
            raise Unauthorized(UNAUTHENTICATED)
        return caller

    def _cached(self, token: str) -> Caller | None:
        if self.tokens is not None and (self.mode == "token" or token.startswith("lvx_")):
            return self.tokens.cached(token)
        cached = getattr(self.verifier, "cached", None)
        return cached(token) if cached else None

    def _check(self, token: str) -> Caller | None:
        if self.tokens is not None and (self.mode == "token" or token.startswith("lvx_")):
            caller = self.tokens.authenticate(token)
            if caller is not None or self.mode == "token":
                return caller
        return self.verifier(token) if self.verifier else None

    def authorize(self, caller: Caller, method: str, path: str, query: str) -> None:
        if self.policy is not None and caller.authenticated:
            self.policy.check(caller, method, path, query)

    def require(self, rule: str, caller: Caller) -> None:
        """Check one more rule that depends on the request body (e.g. ``event_triggers:create:public``)."""
        if self.policy is not None and caller.authenticated and not self.policy.allowed(rule, caller):
            raise Forbidden(f"Policy doesn't allow {rule} to be performed.")

    def execution_credential(self, project_id: str) -> str | None:
        """A token the executor gives ``mistral.*`` actions of ``project_id``'s executions."""
        if self.mode == "none" or self.tokens is None:
            return None
        return self.tokens.execution_credential(project_id)
