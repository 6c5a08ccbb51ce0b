"""In-process fan-out of committed execution events to live streams.

One :class:`Hub` per runtime, owned by its :class:`~levante.notify.Notifier`
(which publishes) and reached by the API's streams through
``runtime.services["hub"]`` (which subscribe): two runtimes in one process
never see each other's events.

Publishers are engine and API threads (after their commit); subscribers are
asyncio streams, each with its own queue, so a slow client never slows the
engine. A subscriber whose queue overflows is marked ``lagged`` and
resynchronises from the database instead of receiving more events.
"""
from __future__ import annotations

import asyncio
import threading
from typing import Any

QUEUE_LIMIT = 10_000


class Subscription:
    def __init__(self, execution_id: str, loop: asyncio.AbstractEventLoop):
        self.execution_id = execution_id
        self.loop = loop
        self.queue: asyncio.Queue = asyncio.Queue(QUEUE_LIMIT)
        self.lagged = False

    def _put(self, item: Any) -> None:
        try:
            self.queue.put_nowait(item)
        except asyncio.QueueFull:
            self.lagged = True

    def push(self, item: Any) -> None:
        """Thread-safe: hand ``item`` to the subscriber's event loop."""
        try:
            self.loop.call_soon_threadsafe(self._put, item)
        except RuntimeError:    # the loop is closed: the stream is gone
            pass


class Hub:
    def __init__(self) -> None:
        self._subs: dict[str, set[Subscription]] = {}
        self._lock = threading.Lock()

    def subscribe(self, execution_id: str, loop: asyncio.AbstractEventLoop | None = None) -> Subscription:
        sub = Subscription(execution_id, loop or asyncio.get_running_loop())
        with self._lock:
            self._subs.setdefault(execution_id, set()).add(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        with self._lock:
            subs = self._subs.get(sub.execution_id)
            if subs is not None:
                subs.discard(sub)
                if not subs:
                    del self._subs[sub.execution_id]

    def wants(self, execution_id: str) -> bool:
        return execution_id in self._subs

    def publish(self, execution_id: str, item: Any) -> None:
        with self._lock:
            subs = list(self._subs.get(execution_id, ()))
        for sub in subs:
            sub.push(item)
