"""The live state of one runtime's event triggers.

One :class:`EventTriggers` per runtime, made by the composition root
(``levante/cli/server.py``) and reached by the API through
``runtime.services["event_triggers"]``; two runtimes in one process share
none of it.
"""
from __future__ import annotations

import threading
import time
from typing import Any, Callable

import sqlalchemy as sa

from levante.store import triggers as store
from levante.triggers.exchanges import EXECUTION_EXCHANGES, QUEUES_EXCHANGE


class Routes:
    """Which (topic, event) pairs some trigger on the execution exchanges
    listens to, so that the engine pays a set lookup per event, not a query.

    Refreshed every ``ttl`` seconds and at once when this runtime changes a
    trigger; a trigger created through another process's API is seen by this
    engine within ``ttl`` seconds.
    """

    def __init__(self, ttl: float = 1.0):
        self.ttl = ttl
        self._cached: tuple[set[tuple[str, str]], float] | None = None     # (routes, when read)
        self._lock = threading.Lock()

    def invalidate(self) -> None:
        with self._lock:
            self._cached = None

    def get(self, conn: sa.Connection) -> set[tuple[str, str]]:
        """The routes, read through ``conn`` (on the runtime's database) when stale."""
        with self._lock:
            hit = self._cached
        if hit is None or time.monotonic() - hit[1] > self.ttl:
            keys = store.event_routes(conn, EXECUTION_EXCHANGES)
            with self._lock:
                self._cached = (keys, time.monotonic())
            return keys
        return hit[0]


class EventTriggers:
    """The exchanges Levante fires itself (no broker needed), the hooks told
    when this runtime creates or deletes an event trigger (the broker listener
    reads the triggers again), the routes cache of the execution events, and
    the broker listener while it runs (``listener``, set by
    :class:`levante.triggers.broker.BrokerListener`)."""

    def __init__(self, ttl: float = 1.0):
        self._exchanges: set[str] = {*EXECUTION_EXCHANGES, QUEUES_EXCHANGE}
        self._hooks: list[Callable[[], None]] = []
        self._lock = threading.Lock()
        self.routes = Routes(ttl)
        self.listener: Any = None

    def register_exchange(self, name: str) -> None:
        """Let event triggers listen to ``name``: for a new source that calls
        :func:`levante.triggers.fire_event`."""
        with self._lock:
            self._exchanges.add(name)

    def known_exchanges(self) -> list[str]:
        with self._lock:
            return sorted(self._exchanges)

    def internal(self, exchange: str) -> bool:
        """True for the exchanges Levante fires itself (no broker needed)."""
        with self._lock:
            return exchange in self._exchanges

    def on_change(self, hook: Callable[[], None]) -> None:
        """Call ``hook()`` whenever this runtime has created or deleted an event trigger."""
        with self._lock:
            if hook not in self._hooks:
                self._hooks.append(hook)

    def changed(self) -> None:
        """An event trigger was created or deleted (and committed) here."""
        self.routes.invalidate()
        with self._lock:
            hooks = list(self._hooks)
        for hook in hooks:
            hook()
