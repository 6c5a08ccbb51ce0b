"""The time budget of expression evaluations, enforced from a watchdog thread.

A Python thread cannot be stopped from outside by ordinary means, and a
template such as three nested ``range(100000)`` loops never returns. The
evaluating thread arms the watchdog (:meth:`Watchdog.start`); when its
deadline passes, the watchdog raises :class:`~levante.expr.budget.OutOfTime`
inside that thread with ``PyThreadState_SetAsyncExc``, which interrupts any
pure-Python loop (yaql and Jinja are pure Python) at its next bytecode. The
long calls in C that would not be interrupted are bounded on their own:
regular expressions by their engine's timeout (levante.expr.yaql_regex),
sizes by the YAQL quotas, the Jinja sandbox and the result-size budget.

Arming and disarming take a lock and a clock read (about a microsecond); the
watchdog thread wakes a few times a second and only while something is armed.
"""
from __future__ import annotations

import contextlib
import ctypes
import logging
import threading
import time
from typing import Any, Callable

from levante import memory
from levante.expr.budget import Abandoned, Budget, Limits, OutOfTime

log = logging.getLogger("levante.watchdog")

_set_async_exc = ctypes.pythonapi.PyThreadState_SetAsyncExc


def _raise_in(thread_id: int, exc: Any) -> None:
    """Make ``exc`` (a class, or None to cancel a pending one) raise in the thread."""
    _set_async_exc(ctypes.c_ulong(thread_id), ctypes.py_object(exc) if exc is not None else None)


# An evaluation still armed this long after its interruption was raised did not
# get it: PyThreadState_SetAsyncExc raises at the next bytecode the thread runs,
# and if that is inside a garbage-collection callback or a __del__, Python
# prints the exception and drops it. It is raised again, as often as needed.
REFIRE_AFTER = 0.5


class _Slot:
    __slots__ = ("thread_id", "deadline", "fired", "fired_at", "by_step", "abandon")

    def __init__(self, thread_id: int, deadline: float, by_step: bool, abandon: bool = False):
        self.thread_id = thread_id
        self.deadline = deadline
        self.fired = False
        self.fired_at = 0.0
        self.by_step = by_step      # the step's deadline came first
        self.abandon = abandon      # the step's allowance came first: raise Abandoned


class Watchdog(Budget):
    """A :class:`Budget` whose time limit is enforced (one watchdog per Runtime)."""

    def __init__(self, limits: Limits, tick: float = 0.05):
        super().__init__(limits)
        self.tick = tick
        self._lock = threading.Lock()
        self._armed: dict[int, _Slot] = {}
        self._wake = threading.Event()
        # The watchdog thread checks every ``tick`` while evaluations come, and
        # sleeps (``_sleeping``) after a second without any: only then does an
        # arming wake it, not every evaluation (each wake-up takes the
        # interpreter lock from the thread that is evaluating).
        self._sleeping = False
        self._last_armed = 0.0
        self._thread: threading.Thread | None = None
        self._stopped = False
        self.fired = 0      # how many evaluations were interrupted (for logs and tests)
        self._local = threading.local()
        self._step_seconds = 0.0
        self._slow: dict[int, tuple[float, Callable[[], None]]] = {}

    @contextlib.contextmanager
    def step(self, seconds: float, on_slow: Callable[[], None] | None = None,
             slow_after: float = 0.25):
        """All evaluations inside share ``seconds`` (one engine step; 0: no step
        limit). ``on_slow`` is called (from another thread) if the step is
        still running after ``slow_after`` seconds. See also :meth:`abandon_in`."""
        if getattr(self._local, "in_step", False):
            yield
            return
        tid = threading.get_ident()
        self._local.in_step = True
        self._local.deadline = time.monotonic() + seconds if seconds > 0 else None
        self._local.abandon = None
        if seconds > 0:
            self._step_seconds = seconds
        entry = None
        if on_slow is not None:
            entry = (time.monotonic() + slow_after, on_slow)
            with self._lock:
                self._slow[tid] = entry
                self._ensure_thread()
                self._rouse()
        try:
            yield
        finally:
            self._local.deadline = None
            self._local.abandon = None
            self._local.in_step = False
            if entry is not None:
                with self._lock:
                    if self._slow.get(tid) is entry:
                        del self._slow[tid]

    def abandon_in(self, seconds: float) -> None:
        """Inside a step: an evaluation still running ``seconds`` from now is
        interrupted with :class:`Abandoned` (the caller gives the step up and
        does it again another way), and so is one that starts after that."""
        if getattr(self._local, "in_step", False):
            self._local.abandon = time.monotonic() + seconds

    def timeout_message(self, handle: Any, expression: str | None) -> str:
        if handle is not None and handle.by_step:
            return ("Expression evaluation ran out of the time budget of one engine step, %ss "
                    "for all the expressions it evaluates (setting engine_step_timeout) "
                    "[expression=%s]" % (_num(self._step_seconds), expression))
        return super().timeout_message(handle, expression)

    def memory_message(self, expression: str | None) -> str:
        return "%s [expression=%s]" % (memory.out_of_memory("Expression evaluation"), expression)

    def start(self) -> Any:
        abandon = getattr(self._local, "abandon", None)
        if self.limits.timeout <= 0 and abandon is None:
            return None
        tid = threading.get_ident()
        now = time.monotonic()
        if abandon is not None and now >= abandon and tid not in self._armed:
            raise Abandoned
        with self._lock:
            if tid in self._armed:      # nested evaluate(): the outer budget applies
                return None
            deadline = now + self.limits.timeout if self.limits.timeout > 0 else float("inf")
            step = getattr(self._local, "deadline", None)
            slot = _Slot(tid, min(deadline, step) if step else deadline,
                         bool(step and step < deadline))
            if abandon is not None and abandon < slot.deadline:
                slot.deadline, slot.by_step, slot.abandon = abandon, False, True
            self._armed[tid] = slot
            self._last_armed = now
            self._ensure_thread()
            self._rouse()
        return slot

    def _rouse(self) -> None:
        # under self._lock
        if self._sleeping:
            self._sleeping = False
            self._wake.set()

    def _ensure_thread(self) -> None:
        # under self._lock
        if self._thread is None and not self._stopped:
            self._thread = threading.Thread(target=self._run, name="levante-watchdog", daemon=True)
            self._thread.start()

    def stop(self, handle: Any) -> None:
        if handle is None:
            return
        try:
            with self._lock:
                if self._armed.get(handle.thread_id) is handle:
                    del self._armed[handle.thread_id]
                fired = handle.fired
            if fired:
                # Fired just as the evaluation ended: cancel it if still pending.
                _raise_in(handle.thread_id, None)
        except (OutOfTime, Abandoned):
            # It landed here, after the evaluation had finished: nothing more to do
            # (the watchdog fires once per arming, and the slot is gone or goes now).
            with self._lock:
                if self._armed.get(handle.thread_id) is handle:
                    del self._armed[handle.thread_id]

    def close(self) -> None:
        self._stopped = True
        self._wake.set()

    def _run(self) -> None:
        while not self._stopped:
            with self._lock:
                idle = not self._armed and not self._slow
                if idle and time.monotonic() - self._last_armed > 1.0:
                    self._sleeping = True
                    self._wake.clear()
            if self._sleeping:
                self._wake.wait(1.0)
                continue
            time.sleep(self.tick)
            now = time.monotonic()
            calls = []
            with self._lock:
                for slot in self._armed.values():
                    if now < slot.deadline or (slot.fired and now - slot.fired_at < REFIRE_AFTER):
                        continue
                    _raise_in(slot.thread_id, Abandoned if slot.abandon else OutOfTime)
                    first, slot.fired, slot.fired_at = not slot.fired, True, now
                    if first and not slot.abandon:      # counted and logged once, however many raises
                        self.fired += 1
                        log.warning("role=engine an expression ran out of its time budget "
                                    "(expression_timeout=%ss); interrupted", self.limits.timeout)
                for tid, (due, call) in list(self._slow.items()):
                    if now >= due:
                        del self._slow[tid]
                        calls.append(call)
            for call in calls:
                try:
                    call()
                except Exception:
                    log.exception("role=engine slow-step callback failed")


def _num(value: float):
    return int(value) if float(value).is_integer() else value
