"""Who is calling, the project it acts for, and what it may do.

``levante server`` (the composition root) builds one :class:`Auth`
(:mod:`levante.auth.setup`) for the configured mode and gives it to the API
app, which puts :class:`~levante.auth.middleware.AuthMiddleware` in front of
every route. Routes take the caller with
``caller: Caller = Depends(current_caller)`` and pass it down to the queries
(:mod:`levante.store.scope`, the one place that turns it into SQL).

The names below load lazily, so the CLI can read :mod:`levante.auth.credentials`
without importing the server's libraries.
"""
from __future__ import annotations

__all__ = ["Auth", "Caller", "LOCAL", "caller_of", "current_caller", "is_loopback"]


def __getattr__(name: str):
    if name in ("Auth", "caller_of", "current_caller", "PUBLIC_PATHS"):
        from levante.auth import core

        return getattr(core, name)
    if name in ("Caller", "LOCAL"):
        from levante.store import scope

        return getattr(scope, name)
    if name == "is_loopback":
        from levante.auth.hosts import is_loopback

        return is_loopback
    raise AttributeError(name)
