"""SQLite's WAL checkpoints, run beside the writers instead of inside them.

In WAL mode a commit appends the pages it changed to the ``-wal`` file; a
checkpoint copies them back into the database file (and syncs it), so that
the WAL can start over. By default SQLite runs it inside whichever commit
takes the WAL past 1,000 pages: that commit, often an API request, then
takes 2 to 8 ms instead of 0.1.

Here the writers' own checkpoints are pushed far out
(:data:`BACKSTOP_PAGES`, only for when this thread cannot keep up) and a
thread of the :class:`~levante.store.db.Database` runs a PASSIVE checkpoint
every :data:`EVERY_COMMITS` commits, on a connection of its own. PASSIVE
waits for no reader or writer; the sqlite3 module releases the interpreter
lock while SQLite copies pages, so the copy runs on another core. The
thread ends after a few idle seconds and starts again with the next kick:
a Database never used to write costs no thread.
"""
from __future__ import annotations

import logging
import sqlite3
import threading

log = logging.getLogger("levante.store")

#: A checkpoint after this many write commits (a new execution writes some 25 pages).
EVERY_COMMITS = 32
#: A writer still checkpoints itself past this many WAL pages (about 40 MB).
BACKSTOP_PAGES = 10_000
#: Seconds without a kick after which the thread ends.
IDLE_EXIT = 5.0


class Checkpointer:
    def __init__(self, path: str, every: int = EVERY_COMMITS):
        self.path = path
        self.every = every
        self.runs = 0           # checkpoints run (for tests and logs)
        self._commits = 0
        self._lock = threading.Lock()
        self._kicked = threading.Event()
        self._thread: threading.Thread | None = None
        self._closed = False

    def committed(self) -> None:
        """A write transaction committed (called with the database's write lock held)."""
        self._commits += 1
        if self._commits >= self.every:
            self._commits = 0
            self.kick()

    def kick(self) -> None:
        """Checkpoint soon, on the checkpointer's thread."""
        with self._lock:
            if self._closed:
                return
            self._kicked.set()
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="levante-checkpoint", daemon=True)
                self._thread.start()

    def close(self) -> None:
        """No more checkpoints from this thread (what is left, SQLite checkpoints
        when the last connection to the file closes)."""
        with self._lock:
            self._closed = True
            thread = self._thread
            self._kicked.set()
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=10)

    def _run(self) -> None:
        while True:
            self._kicked.wait(IDLE_EXIT)
            with self._lock:
                # Read under the lock: a kick that came after the wait timed out
                # saw this thread alive and started none.
                if self._closed or not self._kicked.is_set():
                    self._thread = None
                    return
                self._kicked.clear()
            try:
                self.checkpoint()
            except sqlite3.Error as exc:
                # The writers' backstop still bounds the WAL; say so once per failure.
                log.warning("role=store WAL checkpoint of %s failed: %s", self.path, exc)

    def checkpoint(self) -> tuple[int, int, int]:
        """One PASSIVE checkpoint now: (busy, WAL pages, pages checkpointed)."""
        conn = sqlite3.connect(self.path, timeout=0, check_same_thread=False)
        try:
            busy, pages, done = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        finally:
            conn.close()
        self.runs += 1
        return busy, pages, done
