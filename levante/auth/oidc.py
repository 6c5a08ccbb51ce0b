"""Mode ``oidc``: bearer JWTs from an OpenID Connect issuer (Keycloak, Dex, ...).

A token is accepted when its signature checks against a key of the issuer's
JWKS (fetched once and cached by key id; an unknown key id refetches it),
it has not expired, and its ``iss`` and ``aud`` are the configured ones. The
project and the roles come from configurable claims (dotted paths, such as
Keycloak's ``realm_access.roles``); the admin role makes an admin. This is
Mistral's keycloak-oidc mode without a call to the issuer per request.
"""
from __future__ import annotations

import json
import logging
import threading
import time
import urllib.request

import jwt

from levante.errors import AuthSetupError
from levante.store.scope import Caller

log = logging.getLogger("levante.auth")

ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"]


def _claim(claims: dict, path: str):
    value = claims
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


class OidcVerifier:
    def __init__(self, jwks_url: str, issuer: str = "", audience: str = "",
                 project_claim: str = "project_id", roles_claim: str = "roles",
                 admin_role: str = "admin", cache_ttl: float = 60.0):
        self.jwks = jwt.PyJWKClient(jwks_url, cache_keys=True, lifespan=300)
        self.issuer = issuer or None
        self.audience = audience or None
        self.project_claim = project_claim
        self.roles_claim = roles_claim
        self.admin_role = admin_role
        self.cache_ttl = cache_ttl
        self._cache: dict[str, tuple[float, Caller]] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings) -> "OidcVerifier":
        jwks_url = settings.oidc_jwks_url or (discover(settings.oidc_issuer) if settings.oidc_issuer else "")
        if not jwks_url:
            raise AuthSetupError("mode oidc needs the issuer's keys: set oidc_jwks_url, or oidc_issuer "
                                 "(its /.well-known/openid-configuration names them)")
        return cls(jwks_url, settings.oidc_issuer, settings.oidc_audience, settings.oidc_project_claim,
                   settings.oidc_roles_claim, settings.oidc_admin_role, settings.auth_cache_ttl)

    def cached(self, token: str) -> Caller | None:
        hit = self._cache.get(token)
        return hit[1] if hit is not None and hit[0] > time.time() else None

    def __call__(self, token: str) -> Caller | None:
        now = time.time()
        with self._lock:
            hit = self._cache.get(token)
        if hit is not None and hit[0] > now:
            return hit[1]
        try:
            key = self.jwks.get_signing_key_from_jwt(token)
            claims = jwt.decode(token, key.key, algorithms=ALGORITHMS, audience=self.audience,
                                issuer=self.issuer,
                                options={"require": ["exp"], "verify_aud": self.audience is not None})
        except (jwt.PyJWTError, ValueError) as e:
            log.info("role=api oidc token refused: %s", e)
            return None
        project = _claim(claims, self.project_claim)
        if not isinstance(project, str) or not project:
            log.info("role=api oidc token refused: no project in claim %r", self.project_claim)
            return None
        roles = _claim(claims, self.roles_claim) or []
        roles = tuple(roles.split(",") if isinstance(roles, str) else (str(r) for r in roles))
        caller = Caller(project_id=project, user_id=str(claims.get("sub") or ""),
                        is_admin=self.admin_role in roles, roles=roles, authenticated=True,
                        auth_token=token)
        with self._lock:
            if len(self._cache) > 10000:
                self._cache.clear()
            self._cache[token] = (min(float(claims["exp"]), now + self.cache_ttl), caller)
        return caller


def discover(issuer: str) -> str:
    """The JWKS URL an issuer publishes in its OpenID configuration."""
    url = issuer.rstrip("/") + "/.well-known/openid-configuration"
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:
            return json.load(resp)["jwks_uri"]
    except Exception as e:   # noqa: BLE001 - any failure is a setup error
        raise AuthSetupError(f"cannot read the OpenID configuration at {url}: {e}") from None
