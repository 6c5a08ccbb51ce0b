"""Wake this process's loops when another process commits jobs (PostgreSQL).

Every transaction that queues jobs sends ``NOTIFY levante_jobs, 'kind origin'``
(store/jobs.py), which PostgreSQL delivers when it commits. :class:`Wakeup`
LISTENs on its own connection and wakes the loop that serves each kind, so a
chain step between an engine and an executor in different processes costs a
round trip, not a poll interval. Polling stays as the fallback: a lost
connection is reopened, and nothing is missed meanwhile except the speed.

SQLite needs none of this: its processes share one file on one machine and
the in-process wake-ups already cover the usual one-process setup.
"""
from __future__ import annotations

import logging
import threading
from typing import Callable

import sqlalchemy as sa

from levante.store import jobs

log = logging.getLogger("levante.wakeup")


class Wakeup:
    def __init__(self, url: str, wakers: dict[str, Callable[[], None]], retry: float = 2.0):
        self.url = url
        self.wakers = wakers        # job kind -> wake the loop that serves it
        self.retry = retry
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._conn = None

    @staticmethod
    def applies(url: str) -> bool:
        """PostgreSQL, with psycopg 3 to listen (the driver of postgresql+psycopg
        URLs); without it the loops only poll, and the log says so."""
        if sa.engine.make_url(url).get_backend_name() != "postgresql":
            return False
        try:
            import psycopg  # noqa: F401
        except ImportError:
            log.warning("role=wakeup psycopg 3 is not installed: processes on this PostgreSQL "
                        "database find each other's work by polling only (job_poll_interval)")
            return False
        return True

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="levante-wakeup", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        conn = self._conn
        if conn is not None:
            try:
                conn.cancel_safe()      # interrupts notifies()
            except Exception:
                pass
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _run(self) -> None:
        import psycopg

        dsn = sa.engine.make_url(self.url).set(drivername="postgresql")
        dsn = dsn.render_as_string(hide_password=False)
        while not self._stop.is_set():
            try:
                with psycopg.connect(dsn, autocommit=True) as conn:
                    self._conn = conn
                    conn.execute(f"LISTEN {jobs.CHANNEL}")
                    # Wake everything once: what was committed while not listening.
                    self._wake(set(self.wakers))
                    while not self._stop.is_set():
                        for n in conn.notifies(timeout=1.0):
                            kind, _, origin = n.payload.partition(" ")
                            if origin != jobs.ORIGIN:
                                self._wake({kind})
            except Exception as e:
                if self._stop.is_set():
                    break
                log.warning("role=wakeup lost the PostgreSQL LISTEN connection (%s); "
                            "polling until it is back", type(e).__name__)
                self._stop.wait(self.retry)
            finally:
                self._conn = None

    def _wake(self, kinds: set[str]) -> None:
        for kind in kinds:
            wake = self.wakers.get(kind)
            if wake is not None:
                wake()
