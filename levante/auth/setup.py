"""Building the :class:`~levante.auth.Auth` of a server from its settings
(called by ``levante server``, the composition root)."""
from __future__ import annotations

import logging

from levante.auth import credentials
from levante.auth.core import Auth
from levante.auth.hosts import BrowserGuard, is_loopback
from levante.errors import AuthSetupError
from levante.store.scope import DEFAULT_PROJECT

log = logging.getLogger("levante.auth")


def check_bind(mode: str, host: str) -> None:
    """Mode none only on loopback: anything else would open the API to the network."""
    if mode == "none" and not is_loopback(host):
        raise AuthSetupError(
            f"refusing to listen on {host} without authentication: anyone who can reach it "
            "could run workflows as this server. Bind 127.0.0.1, or choose an authentication "
            "mode with --auth token|oidc|keystone (env LEVANTE_AUTH, config file 'auth:').")


def build(mode: str, settings, db, host: str, api_url: str, serves_api: bool = True) -> Auth:
    """The Auth for ``mode``; in mode token, also the admin credential of the first start."""
    check_bind(mode, host)
    from levante.auth.tokens import TokenStore

    tokens = TokenStore(db, cache_ttl=settings.auth_cache_ttl)
    policy = None
    if mode != "none":
        from levante.auth.policy import Policy

        try:
            policy = Policy(settings.policy_file or None)
        except Exception as e:
            raise AuthSetupError(f"cannot load the policy file {settings.policy_file}: {e}") from None
    if mode == "none":
        return Auth("none", guard=BrowserGuard(host, settings.allowed_hosts), tokens=tokens)
    if not serves_api:
        # Engine, executor and scheduler processes check no credentials; they
        # only sign the execution credentials the API processes accept.
        return Auth(mode, tokens=tokens, policy=policy)
    if mode == "token":
        if serves_api:
            bootstrap_admin(tokens, api_url)
        return Auth("token", tokens=tokens, policy=policy)
    if mode == "oidc":
        from levante.auth.oidc import OidcVerifier

        return Auth("oidc", tokens=tokens, verifier=OidcVerifier.from_settings(settings), policy=policy)
    if mode == "keystone":
        from levante.auth.keystone import KeystoneVerifier

        return Auth("keystone", tokens=tokens, verifier=KeystoneVerifier.from_settings(settings),
                    policy=policy)
    raise AuthSetupError(f"unknown authentication mode {mode!r}")


def bootstrap_admin(tokens, api_url: str) -> None:
    """Make sure the OS user's credential file holds a working admin token for ``api_url``."""
    entry = credentials.load(api_url)
    if entry and tokens.is_valid(entry["token"]):
        return
    _, token = tokens.create("admin", DEFAULT_PROJECT, is_admin=True)
    path = credentials.save(api_url, {"token": token, "project_id": DEFAULT_PROJECT})
    log.info("role=api created an admin token for %s in %s", api_url, path)
