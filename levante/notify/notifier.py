"""The events listener: notification jobs in the transaction, live streams after it.

For every execution event it

- writes one ``notify`` job per matching target, in the transaction that
  made the change (so a notification exists if and only if the change
  does), and wakes the delivery loop once that transaction has committed;
- hands the event to the live streams of that execution after the commit.

Targets are the execution's ``notify`` parameter followed by the server
default. A sub-execution uses the ``notify`` of its root execution, as a
Mistral sub-workflow inherits its parent's.
"""
from __future__ import annotations

import json
import logging
import threading
from collections import OrderedDict
from functools import partial

import sqlalchemy as sa

from levante import egress
from levante.notify import aftercommit, targets
from levante.notify.delivery import Delivery, DeliveryConfig
from levante.notify.hub import Hub
from levante.notify.payload import build
from levante.runtime import events
from levante.errors import BadRequest
from levante.store import jobs
from levante.store import notifications as store
from levante.store.db import Database
from levante.store.schema import workflow_executions as WE

log = logging.getLogger("levante.notify")

ROOT_CACHE = 1024


class Notifier:
    """The listener of one runtime's events (``bus``): notify jobs and live streams
    (its own :attr:`hub`, which the composition root hands to the API).

    A service of the runtime (``Runtime.add_service``): ``start()`` runs the
    delivery loop when ``deliver`` (the executor role), ``stop()`` ends it.
    It stays on the bus: a change committed while the runtime stops still
    gets its notify jobs, delivered at the next start.
    """

    def __init__(self, db: Database, bus: events.EventBus, defaults: list[dict] | None = None,
                 config: DeliveryConfig | None = None, deliver: bool = True):
        """``defaults``: the server-wide targets (None: from ``$LEVANTE_NOTIFY``)."""
        self.db = db
        self.bus = bus
        self.deliver = deliver
        self.defaults = (targets.check(defaults, "server notify default") if defaults is not None
                         else targets.default_from_env())
        self.delivery = Delivery(db, config)
        self.hub = Hub()    # this runtime's live streams
        self._roots: "OrderedDict[str, list | None]" = OrderedDict()
        self._roots_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        aftercommit.install(db)
        bus.subscribe(self.on_event)

    def start(self) -> None:
        """Run the delivery loop in a thread of this process (if ``deliver``)."""
        if self._thread is None and self.deliver:
            if self.db.is_sqlite:
                # On SQLite this process is the only deliverer: leases left in
                # the table belong to a previous run that is gone.
                with self.db.tx() as conn:
                    if store.release_all(conn):
                        log.info("role=notify took over deliveries left by a previous run")
            self._thread = threading.Thread(target=self.delivery.run_forever, name="levante-notify",
                                            daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self.delivery.stop()
        if self._thread is not None:
            self._thread.join(timeout=5)

    @staticmethod
    def check_params(params: dict) -> None:
        """Refuse a malformed ``notify`` execution parameter (400)."""
        try:
            checked = targets.check(params.get("notify"), "params.notify")
        except targets.TargetError as e:
            raise BadRequest(str(e)) from e
        for i, t in enumerate(checked):
            if t.get("type") == "webhook":
                try:
                    egress.check_url(t["url"], role="webhook")
                except egress.EgressRefused as e:
                    raise BadRequest(f"'params.notify[{i}].url': {e}") from e

    # ------------------------------------------------------------ in the transaction

    def on_event(self, conn: sa.Connection, ev: events.Event) -> None:
        """The events listener (runs inside the state-change transaction)."""
        aftercommit.defer(conn, partial(_publish, self.hub, ev))
        self.enqueue(conn, ev)

    def enqueue(self, conn: sa.Connection, ev: events.Event) -> int:
        """Write the jobs for ``ev``; returns how many."""
        chosen = [t for t in self.targets_for(conn, ev) if _sendable(t) and targets.wants(t, ev.type)]
        if not chosen:
            return 0
        data = build(conn, ev)
        jobs.enqueue_many(conn, [
            (store.NOTIFY, store.stream_key(ev.execution_id, t),
             {"execution_id": ev.execution_id, "event": ev.type, "target": t, "data": data}, 0.0)
            for t in chosen], now=ev.time or None)
        aftercommit.defer(conn, self.delivery.wake.set)
        return len(chosen)

    def targets_for(self, conn: sa.Connection, ev: events.Event) -> list:
        own = ev.params.get("notify") if "notify" in ev.params else self._inherited(conn, ev)
        own = own if isinstance(own, list) else []
        return own + self.defaults

    def _inherited(self, conn: sa.Connection, ev: events.Event):
        root = ev.root_execution_id
        if not root or root == ev.execution_id:
            return None
        with self._roots_lock:
            if root in self._roots:
                self._roots.move_to_end(root)
                return self._roots[root]
        raw = conn.execute(sa.select(WE.c.params).where(WE.c.id == root)).scalar()
        try:
            value = json.loads(raw).get("notify") if raw else None
        except (ValueError, AttributeError):
            value = None
        # A root's notify list never changes once the execution exists.
        with self._roots_lock:
            self._roots[root] = value
            while len(self._roots) > ROOT_CACHE:
                self._roots.popitem(last=False)
        return value


def _sendable(t) -> bool:
    return isinstance(t, dict) and t.get("type") == "webhook" and isinstance(t.get("url"), str)


def _publish(hub: Hub, ev: events.Event) -> None:
    if hub.wants(ev.execution_id):
        hub.publish(ev.execution_id, ev.as_dict())
