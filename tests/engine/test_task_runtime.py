"""The typed task runtime and its stored JSON."""
from __future__ import annotations

from levante.engine.task_runtime import TaskRuntime, WithItemsProgress


def test_defaults_are_not_written():
    assert TaskRuntime().to_json() == {}


def test_round_trip_keeps_every_field_and_unknown_keys():
    stored = {"attempt": 2, "reruns": 1, "retry_no": 1, "failed_actions": [["a1", 0, "boom"]],
              "timed_out": True, "pending_outcome": {"ok": False, "info": "x"},
              "with_items": {"count": 3, "launched": 2, "done": 1, "indices": [0, 2]},
              "arrivals": ["t1"], "next": 0, "next_names": [], "handled": True,
              "written_by_a_newer_version": {"k": 1}}
    rt = TaskRuntime.from_json(stored)
    assert rt.retry_no == 1 and rt.timed_out and rt.handled
    assert rt.with_items == WithItemsProgress(count=3, launched=2, done=1, indices=[0, 2])
    assert rt.extra == {"written_by_a_newer_version": {"k": 1}}
    assert rt.to_json() == stored


def test_missing_keys_are_tolerated():
    rt = TaskRuntime.from_json({"with_items": {"count": 2}})
    assert rt.attempt == 0 and rt.failed_actions is None and rt.pending_outcome is None
    assert rt.with_items.total == 2 and rt.with_items.done == 0
    assert TaskRuntime.from_json(None) == TaskRuntime()


def test_reset_puts_fields_back_to_defaults():
    rt = TaskRuntime(next=3, handled=True, failed_actions=[["a", 0, "x"]], retry_no=2)
    rt.reset("next", "handled", "failed_actions", "retry_no")
    assert rt.to_json() == {}
