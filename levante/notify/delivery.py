"""The delivery loop: POST the queued notifications, retry with backoff.

It only reads and writes ``notify`` jobs, in short transactions; the HTTP
calls run in its own threads, outside any transaction, so a slow or dead
receiver never holds up the engine. Deliveries of one (execution, target)
pair go out in order: after a failure the later ones wait for the retry.
A delivery is tried ``attempts`` times (waiting 1, 2, 4, 8 s between tries
by default) and then dropped with an error in the log. A process that dies
mid-delivery leaves a lease that runs out, and the delivery is tried again:
receivers get each event at least once.

Every POST passes the egress policy (``levante.egress``, as std.http): a URL
whose address is denied (loopback, link-local, the metadata service... by
default) is never connected to, and its delivery is dropped at once.
"""
from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
import urllib.parse
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import httpx

import levante
from levante import egress
from levante.store import notifications as store
from levante.store.db import Database

log = logging.getLogger("levante.notify")


@dataclass
class DeliveryConfig:
    attempts: int = 5           # tries per delivery, the first one included
    backoff: float = 1.0        # seconds before the first retry; doubles each time
    timeout: float = 10.0       # per HTTP request
    workers: int = 8            # (execution, target) pairs delivered at once
    max_chain: int = 10         # deliveries of one pair per claim
    poll: float = 1.0           # idle wait when nothing wakes the loop


class Delivery:
    def __init__(self, db: Database, config: DeliveryConfig | None = None,
                 transport: httpx.BaseTransport | None = None):
        self.db = db
        self.config = config or DeliveryConfig()
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"[:64]
        self.wake = threading.Event()
        self._stop = threading.Event()
        self._inflight = 0
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=self.config.workers,
                                        thread_name_prefix="levante-notify")
        self._http = httpx.Client(transport=transport or egress.http_transport(),
                                  mounts=None if transport else egress.environment_mounts(),
                                  timeout=self.config.timeout,
                                  follow_redirects=False,
                                  headers={"User-Agent": f"levante/{levante.__version__}"})

    # ------------------------------------------------------------ loop

    def run_forever(self) -> None:
        while not self._stop.is_set():
            try:
                n = self.run_once()
            except Exception:
                log.exception("role=notify claim failed; retrying")
                n = 0
                time.sleep(0.5)
            if n == 0:
                self.wake.wait(self._idle_wait())
                self.wake.clear()

    def stop(self) -> None:
        self._stop.set()
        self.wake.set()
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._http.close()

    def _idle_wait(self) -> float:
        try:
            with self.db.read() as conn:
                due = store.next_due(conn, time.time())
        except Exception:
            return self.config.poll
        if due is None:
            return self.config.poll
        return max(0.05, min(self.config.poll, due - time.time()))

    def run_once(self) -> int:
        """Claim what can go out now and hand it to the workers; returns chains started."""
        with self._lock:
            free = self.config.workers - self._inflight
        if free <= 0:
            return 0
        now = time.time()
        with self.db.tx() as conn:
            chains = store.claim(conn, now, limit=free * self.config.max_chain,
                                 max_chain=self.config.max_chain, skip_locked=not self.db.is_sqlite)
            chains = list(chains.values())[:free]
            for chain in chains:
                # Long enough for every request of the chain to time out.
                until = now + len(chain) * (self.config.timeout + 5.0)
                store.lease(conn, [r.id for r in chain], self.owner, until)
        with self._lock:
            self._inflight += len(chains)
        for chain in chains:
            self._pool.submit(self._run_chain, chain)
        return len(chains)

    # ------------------------------------------------------------ one chain

    def _run_chain(self, chain: list) -> None:
        try:
            for i, row in enumerate(chain):
                if self._stop.is_set():
                    return
                if not self._deliver(row):
                    with self.db.tx() as conn:
                        store.release(conn, [r.id for r in chain[i + 1:]])
                    return
        except Exception:
            if not self._stop.is_set():     # at shutdown the HTTP client is closed under it
                log.exception("role=notify delivery failed; its lease will run out")
        finally:
            with self._lock:
                self._inflight -= 1
            self.wake.set()

    def _deliver(self, row) -> bool:
        """Try one delivery; returns False when the rest of its chain must wait."""
        job = json.loads(row.payload)
        target, data, event = job.get("target") or {}, job.get("data"), job.get("event")
        attempt = row.attempts + 1      # the lease counted this try
        try:
            error = self.post(target, data)
            refused = False
        except egress.EgressRefused as e:       # retrying cannot help
            error, refused = str(e), True
        with self.db.tx() as conn:
            if refused:
                store.done(conn, row.id)
                log.error("role=notify event=%s execution=%s url=%s dropped: %s", event,
                          job.get("execution_id"), _safe(target.get("url")), error)
                return True
            if error is None:
                store.done(conn, row.id)
                log.debug("role=notify event=%s execution=%s url=%s delivered (try %d)", event,
                          job.get("execution_id"), _safe(target.get("url")), attempt)
                return True
            if attempt >= self.config.attempts:
                store.done(conn, row.id)
                log.error("role=notify event=%s execution=%s url=%s dropped after %d tries: %s", event,
                          job.get("execution_id"), _safe(target.get("url")), attempt, error)
                return True
            delay = self.config.backoff * (2 ** (attempt - 1))
            store.retry_at(conn, row.id, time.time() + delay)
        log.warning("role=notify event=%s execution=%s url=%s try %d failed (%s); retry in %.0fs",
                    event, job.get("execution_id"), _safe(target.get("url")), attempt, error, delay)
        return False

    def post(self, target: dict, data) -> str | None:
        """POST ``data`` to a webhook target; returns None on success, else why not.
        Raises egress.EgressRefused when the policy refuses the URL."""
        if target.get("type") != "webhook":
            return None
        egress.check_url(target.get("url"), role="webhook")
        headers = {"Content-Type": "application/json"}
        headers.update(target.get("headers") or {})
        try:
            resp = self._http.post(target["url"], content=json.dumps(data), headers=headers)
        except httpx.HTTPError as e:
            return f"{type(e).__name__}: {e}"
        if resp.is_success:
            return None
        return f"HTTP {resp.status_code}"


def _safe(url: str | None) -> str:
    """A URL for the log: no credentials, no query string (either may hold secrets)."""
    if not url:
        return "-"
    p = urllib.parse.urlsplit(url)
    host = p.hostname or ""
    if p.port:
        host = f"{host}:{p.port}"
    return f"{p.scheme}://{host}{p.path}"
