"""Mode ``keystone``: OpenStack Keystone tokens, checked as Mistral checks them,
by keystonemiddleware's ``auth_token`` (with its token cache).

The middleware is a WSGI filter; Levante calls it per request on a tiny WSGI
app that only records the identity headers it sets (``X-Project-Id``,
``X-Roles``, ``X-User-Id``). The admin role makes an admin.

:func:`password_token` is the console's sign-in: it asks the configured
Keystone for a project-scoped token with a user's password, through
Keystone's public ``POST /v3/auth/tokens``, as Horizon does on its server.
"""
from __future__ import annotations

import logging
import time

from levante.errors import AuthSetupError
from levante.store.scope import Caller

log = logging.getLogger("levante.auth")

IDENTITY = ("X-Identity-Status", "X-Project-Id", "X-User-Id", "X-Roles")


class KeystoneUnavailable(Exception):
    """Keystone could not be reached or answered something unexpected."""


def password_token(auth_url: str, username: str, password: str, project_name: str,
                   user_domain: str = "Default", project_domain: str = "Default",
                   timeout: float = 15.0) -> dict:
    """A token scoped to ``project_name`` for a user's password, from Keystone's
    public identity API; raises Unauthorized (Keystone's message) when refused."""
    import httpx

    from levante.errors import BadRequest, Unauthorized

    body = {"auth": {
        "identity": {"methods": ["password"], "password": {"user": {
            "name": username, "password": password, "domain": {"name": user_domain}}}},
        "scope": {"project": {"name": project_name, "domain": {"name": project_domain}}}}}
    url = auth_url.rstrip("/") + "/auth/tokens"
    try:
        resp = httpx.post(url, json=body, params={"nocatalog": "1"}, timeout=timeout,
                          follow_redirects=False)
    except httpx.HTTPError as e:
        raise KeystoneUnavailable(f"Keystone at {auth_url} cannot be reached: {type(e).__name__}: {e}") from None
    try:
        data = resp.json()
    except ValueError:
        data = {}
    if resp.status_code in (400, 401, 403, 404):
        message = (data.get("error") or {}).get("message") if isinstance(data, dict) else None
        message = message or "The request you have made requires authentication."
        raise (BadRequest if resp.status_code == 400 else Unauthorized)(f"Keystone refused the sign-in: {message}")
    token = resp.headers.get("X-Subject-Token")
    info = data.get("token") if isinstance(data, dict) else None
    if resp.status_code != 201 or not token or not isinstance(info, dict):
        raise KeystoneUnavailable(f"Keystone at {auth_url} answered {resp.status_code} to a sign-in")
    project = info.get("project") or {}
    return {"token": token, "expires_at": info.get("expires_at"), "project_id": project.get("id"),
            "project_name": project.get("name"), "user_id": (info.get("user") or {}).get("id"),
            "roles": [r.get("name") for r in info.get("roles") or [] if isinstance(r, dict)]}


class KeystoneVerifier:
    def __init__(self, conf: dict, admin_role: str = "admin", cache_ttl: float = 60.0):
        try:
            import webob
            from keystonemiddleware import auth_token
        except ImportError as e:
            raise AuthSetupError(f"mode keystone needs keystonemiddleware: pip install keystonemiddleware ({e})")
        self._webob = webob
        self.admin_role = admin_role
        self.auth_url = conf.get("auth_url", "")
        # Like the middleware's own cache, but without building a WSGI request per call.
        self.cache_ttl = cache_ttl
        self._cache: dict[str, tuple[float, Caller]] = {}
        self.middleware = auth_token.AuthProtocol(self._identity_app, conf)

    @classmethod
    def from_settings(cls, settings) -> "KeystoneVerifier":
        if not (settings.keystone_auth_url and settings.keystone_username and settings.keystone_password):
            raise AuthSetupError("mode keystone needs keystone_auth_url, keystone_username and "
                                 "keystone_password (Levante's service user, as [keystone_authtoken])")
        conf = {
            "auth_type": "password", "auth_url": settings.keystone_auth_url,
            "www_authenticate_uri": settings.keystone_auth_url,
            "username": settings.keystone_username, "password": settings.keystone_password,
            "project_name": settings.keystone_project_name, "user_domain_name": "Default",
            "project_domain_name": "Default", "token_cache_time": str(int(settings.auth_cache_ttl)),
            "delay_auth_decision": "false", "log_name": "levante.keystonemiddleware",
        }
        return cls(conf, cache_ttl=settings.auth_cache_ttl)

    @staticmethod
    def _identity_app(environ, start_response):
        # Hands the identity the middleware found back in the response (no shared state).
        start_response("200 OK", [(h, environ.get("HTTP_" + h.upper().replace("-", "_"), ""))
                                  for h in IDENTITY])
        return [b""]

    def cached(self, token: str) -> Caller | None:
        hit = self._cache.get(token)
        return hit[1] if hit is not None and hit[0] > time.monotonic() else None

    def __call__(self, token: str) -> Caller | None:
        caller = self._validate(token)
        if caller is not None:
            if len(self._cache) > 10000:
                self._cache.clear()
            self._cache[token] = (time.monotonic() + self.cache_ttl, caller)
        return caller

    def _validate(self, token: str) -> Caller | None:
        req = self._webob.Request.blank("/", headers={"X-Auth-Token": token})
        resp = req.get_response(self.middleware)
        seen = resp.headers
        if resp.status_int != 200 or seen.get("X-Identity-Status") != "Confirmed":
            return None
        project = seen.get("X-Project-Id")
        if not project:
            return None     # an unscoped token acts for no project
        roles = tuple(r.strip() for r in (seen.get("X-Roles") or "").split(",") if r.strip())
        return Caller(project_id=project, user_id=seen.get("X-User-Id") or None,
                      is_admin=self.admin_role in roles, roles=roles, authenticated=True,
                      auth_token=token)
