"""The watchdog that enforces expression time budgets: it interrupts what runs
too long, and it leaves alone the quick evaluations that come one after the
other (it is not woken for each of them)."""
from __future__ import annotations

import threading
import time

import pytest

from levante.expr.budget import Limits, OutOfTime
from levante.runtime.watchdog import Watchdog


class _CountingEvent(threading.Event):
    def __init__(self):
        super().__init__()
        self.sets = 0

    def set(self):
        self.sets += 1
        super().set()


@pytest.fixture
def dog():
    wd = Watchdog(Limits(timeout=0.3))
    wd._wake = _CountingEvent()
    yield wd
    wd.close()


def _spin(dog: Watchdog, seconds: float) -> None:
    handle = dog.start()
    try:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            pass
    finally:
        dog.stop(handle)


def test_quick_evaluations_in_a_row_wake_the_watchdog_thread_once(dog):
    for _ in range(500):
        dog.stop(dog.start())
    assert dog._wake.sets <= 1      # at most the first one, if it found it asleep


def test_an_evaluation_over_its_budget_is_interrupted_after_the_watchdog_slept(dog):
    dog.stop(dog.start())
    time.sleep(1.3)                 # nothing armed for over a second: it sleeps
    assert dog._sleeping
    started = time.monotonic()
    with pytest.raises(OutOfTime):
        _spin(dog, 5.0)
    assert time.monotonic() - started < 2.0
    assert dog.fired == 1


def test_an_interruption_lost_on_the_way_is_raised_again(dog):
    # The watchdog's exception lands at the next bytecode the thread runs; inside a
    # garbage-collection callback or a __del__, Python prints it and drops it. Here
    # the first one is dropped by hand: the evaluation must still be interrupted.
    dropped = []
    handle = dog.start()
    try:
        end = time.monotonic() + 10
        with pytest.raises(OutOfTime):
            while time.monotonic() < end:
                try:
                    while time.monotonic() < end:
                        pass
                except OutOfTime:
                    if dropped:
                        raise
                    dropped.append(time.monotonic())
    finally:
        dog.stop(handle)
    assert len(dropped) == 1
    assert dog.fired == 1       # one evaluation interrupted, however many times it took
