"""Event triggers on OpenStack notifications: listen to a message broker.

When the server has a broker (the setting ``transport_url``, e.g.
``rabbit://user:password@host:5672/``) and oslo.messaging is installed
(``pip install 'levante[broker]'``), the scheduler role listens, with
oslo.messaging's notification listener, to every (exchange, topic) that some
event trigger names outside Levante's own exchanges (``levante``,
``mistral``, ``queues``). A notification whose ``event_type`` is a trigger's
``event`` (or any, for ``*``) fires the trigger through
:func:`levante.triggers.event.fire_event`, in one transaction; the message is
acknowledged once that transaction committed (requeued if it failed).

The listened set follows the triggers table: it is read again at once when
this runtime creates or deletes a trigger (the listener is a change hook of
the runtime's :class:`~levante.triggers.registry.EventTriggers`), and every
``REFRESH_SECONDS`` for the triggers other processes change. Each
(exchange, topic) has its own listener pool ``levante-<exchange>-<topic>``:
several scheduler processes share the work (each notification fires its
triggers once) and take nothing from other consumers of the same topic.

Which triggers a notification fires, as Mistral's event engine: those of the
project the notification belongs to plus every project's public ones. The
project is the ``project_id`` of the notification's context (what
oslo.context's ``RequestContext`` sends), else its ``tenant_id``,
``project`` or ``tenant``; a notification whose context names none of them
fires the public triggers only. With authentication off (``auth: none``)
there is one project and every matching trigger fires.

``event_params`` of the started execution: Mistral's default properties
(``service`` = the publisher id, ``project_id`` and ``user_id`` of the
notification's context, ``timestamp``) plus ``event_type`` and ``payload``.
"""
from __future__ import annotations

import logging
import re
import threading
from typing import TYPE_CHECKING, Any, Callable

import sqlalchemy as sa

from levante.config import get_settings
from levante.store import triggers as store
from levante.triggers import event
from levante.triggers.exchanges import waiting_reason

if TYPE_CHECKING:
    from levante.triggers.registry import EventTriggers

log = logging.getLogger("levante.triggers")

REFRESH_SECONDS = 1.0
RETRY_SECONDS = 5.0
PRIORITIES = ("audit", "critical", "debug", "error", "info", "warn", "sample")


def safe_url(url: str) -> str:
    """``url`` with its password hidden."""
    return re.sub(r"(://[^:/@]*:)[^@/]*@", r"\1***@", url)


def broker_note(triggers: EventTriggers, exchange: str) -> str | None:
    """What the API says about a trigger on ``exchange`` (``triggers``: its
    runtime's): None for Levante's own exchanges, else whether the server
    listens to the broker for it."""
    if triggers.internal(exchange):
        return None
    why = waiting_reason()
    if why:
        return f"waiting for a broker: {why}"
    listener = triggers.listener
    if listener is not None:
        return listener.note(exchange)
    return (f"the scheduler role listens for it on the broker "
            f"{safe_url(get_settings().transport_url)}")


class _Endpoint:
    """oslo.messaging notification endpoint for one (exchange, topic)."""

    def __init__(self, listener: "BrokerListener", exchange: str, topic: str):
        self._listener = listener
        self.exchange = exchange
        self.topic = topic
        for priority in PRIORITIES:
            setattr(self, priority, self._handle)

    def _handle(self, ctxt, publisher_id, event_type, payload, metadata):
        import oslo_messaging

        ok = self._listener.on_notification(self.exchange, self.topic, ctxt or {}, publisher_id,
                                            event_type, payload, metadata or {})
        return oslo_messaging.NotificationResult.HANDLED if ok else \
            oslo_messaging.NotificationResult.REQUEUE


PROJECT_KEYS = ("project_id", "tenant_id", "project", "tenant")


def notification_project(ctxt: dict) -> str | None:
    """The project a notification belongs to, from its context; None if it names none."""
    for key in PROJECT_KEYS:
        value = ctxt.get(key)
        if isinstance(value, str) and value:
            return value
    return None


def event_params(ctxt: dict, publisher_id: str, event_type: str, payload: Any,
                 metadata: dict) -> dict:
    """The ``event_params`` of an execution started by a notification."""
    return {
        "service": publisher_id,
        "project_id": notification_project(ctxt),
        "user_id": ctxt.get("user_id") or ctxt.get("user"),
        "timestamp": metadata.get("timestamp") or ctxt.get("timestamp"),
        "event_type": event_type,
        "payload": payload,
    }


class BrokerListener:
    """Keeps one notification listener per (exchange, topic) that event
    triggers name outside Levante's own exchanges (``triggers``: its runtime's,
    which wake it when a trigger is created or deleted and show it to the API
    while it runs)."""

    def __init__(self, db, transport_url: str, triggers: EventTriggers, auth_mode: str = "none",
                 on_started: Callable[[], None] = lambda: None):
        self.db = db
        self.triggers = triggers
        self.url = transport_url
        self.auth_mode = auth_mode
        self.on_started = on_started    # wakes the runtime's engine
        self.wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._listeners: dict[tuple[str, str], Any] = {}
        self._failed: dict[tuple[str, str], str] = {}
        self._transport = None
        self._lock = threading.Lock()

    # ------------------------------------------------------------ lifecycle

    def start(self) -> None:
        self.triggers.listener = self
        self._thread = threading.Thread(target=self._run, name="levante-broker", daemon=True)
        self._thread.start()
        log.info("role=triggers event triggers listen to OpenStack notifications on the broker %s",
                 safe_url(self.url))

    def stop(self) -> None:
        self._stop.set()
        self.wake.set()
        if self._thread is not None:
            self._thread.join(timeout=15)
        for key in list(self._listeners):
            self._close(key)
        if self._transport is not None:
            try:
                self._transport.cleanup()
            except Exception:
                pass
            self._transport = None
        if self.triggers.listener is self:
            self.triggers.listener = None

    def note(self, exchange: str) -> str:
        with self._lock:
            listening = [t for (e, t) in self._listeners if e == exchange]
            failed = [why for (e, _), why in self._failed.items() if e == exchange]
        if failed:
            return f"waiting for the broker {safe_url(self.url)}: {failed[0]}"
        if listening:
            return f"listening on the broker {safe_url(self.url)}"
        return f"connecting to the broker {safe_url(self.url)}"

    # ------------------------------------------------------------ the loop

    def _run(self) -> None:
        while not self._stop.is_set():
            retry = False
            try:
                retry = self._refresh()
            except Exception:
                log.exception("role=triggers reading the event triggers to listen to failed")
                retry = True
            self.wake.wait(RETRY_SECONDS if retry else REFRESH_SECONDS)
            self.wake.clear()

    def _wanted(self) -> set[tuple[str, str]]:
        with self.db.read() as conn:
            rows = conn.execute(sa.select(store.ET.c.exchange, store.ET.c.topic).distinct())
            return {(r.exchange, r.topic) for r in rows if not self.triggers.internal(r.exchange)}

    def _refresh(self) -> bool:
        """Start and stop listeners to match the triggers; True if one failed to start."""
        wanted = self._wanted()
        for key in set(self._listeners) - wanted:
            self._close(key)
            log.info("role=triggers stopped listening to exchange %s topic %s (no trigger left)", *key)
        with self._lock:
            for key in set(self._failed) - wanted:
                self._failed.pop(key, None)
        failed = False
        missing = sorted(wanted - set(self._listeners))
        unreachable = self._probe() if missing else None
        for key in missing:
            try:
                if unreachable:
                    raise ConnectionError(unreachable)
                self._open(key)
            except Exception as e:
                failed = True
                why = str(e) if isinstance(e, ConnectionError) else f"{type(e).__name__}: {e}"
                with self._lock:
                    first = key not in self._failed
                    self._failed[key] = why
                if first:
                    log.error("role=triggers cannot listen to exchange %s topic %s on the broker "
                              "%s: %s (retrying every %ss)", key[0], key[1], safe_url(self.url), why,
                              RETRY_SECONDS)
                continue
            with self._lock:
                self._failed.pop(key, None)
            log.info("role=triggers listening to exchange %s topic %s on the broker %s",
                     key[0], key[1], safe_url(self.url))
        return failed

    def _probe(self) -> str | None:
        """Why the broker cannot be reached now, or None. oslo.messaging would
        retry a first connection forever without saying so; this says why."""
        if not self.url.startswith("rabbit://"):
            return None
        try:
            import kombu
        except ImportError:
            return None
        try:
            with kombu.Connection("amqp://" + self.url[len("rabbit://"):], connect_timeout=5) as conn:
                conn.ensure_connection(max_retries=1, timeout=5)
        except Exception as e:
            return f"{type(e).__name__}: {e}"
        return None

    def _transport_now(self):
        if self._transport is None:
            import oslo_messaging
            from oslo_config import cfg

            conf = cfg.ConfigOpts()     # our own: nothing read from /etc or the command line
            conf([], project="levante", default_config_files=[], default_config_dirs=[])
            self._transport = oslo_messaging.get_notification_transport(conf, url=self.url)
        return self._transport

    def _open(self, key: tuple[str, str]) -> None:
        import oslo_messaging

        exchange, topic = key
        listener = oslo_messaging.get_notification_listener(
            self._transport_now(), [oslo_messaging.Target(exchange=exchange, topic=topic)],
            [_Endpoint(self, exchange, topic)], executor="threading", allow_requeue=True,
            pool=f"levante-{exchange}-{topic}")
        listener.start()
        with self._lock:
            self._listeners[key] = listener

    def _close(self, key: tuple[str, str]) -> None:
        with self._lock:
            listener = self._listeners.pop(key, None)
        if listener is None:
            return
        try:
            listener.stop()
            listener.wait()
        except Exception:
            log.exception("role=triggers stopping the listener of exchange %s topic %s failed", *key)

    # ------------------------------------------------------------ a notification

    def on_notification(self, exchange: str, topic: str, ctxt: dict, publisher_id: str,
                        event_type: str, payload: Any, metadata: dict) -> bool:
        """Fire the triggers on this notification; False if it must come again."""
        params = event_params(ctxt, publisher_id, event_type, payload, metadata)
        # With authentication, the notification's project's triggers and the public ones.
        scoped = self.auth_mode != "none"
        try:
            with self.db.tx() as conn:
                started = event.fire_event(conn, exchange, topic, event_type, params,
                                           project_id=params["project_id"] if scoped else None,
                                           public=scoped)
        except Exception:
            log.exception("role=triggers notification %s on exchange %s topic %s: firing the "
                          "event triggers failed; it is requeued", event_type, exchange, topic)
            return False
        if started:
            log.info("role=triggers notification %s from %s on exchange %s topic %s started %s",
                     event_type, publisher_id, exchange, topic, ", ".join(started))
            self.on_started()
        return True


def install(runtime, triggers: EventTriggers) -> None:
    """Listen to the broker in a runtime with the scheduler role, or say why not
    (``triggers``: the runtime's event triggers)."""
    if "scheduler" not in runtime.roles:
        return
    why = waiting_reason()
    if why:
        # A broker set but not usable is a mistake worth a warning; no broker is the default.
        level = logging.WARNING if get_settings().transport_url else logging.INFO
        log.log(level, "role=triggers event triggers on other exchanges than %s wait for a "
                "broker: %s", ", ".join(triggers.known_exchanges()), why)
        return
    settings = get_settings()
    listener = BrokerListener(runtime.db, settings.transport_url, triggers, settings.auth,
                              on_started=runtime.wake_engine)
    triggers.on_change(listener.wake.set)
    runtime.add_service(listener)
