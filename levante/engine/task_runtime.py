"""What the engine remembers about one task execution between events.

Stored as JSON in the task row's ``runtime`` column. A key is written only when
it differs from its default, and reading tolerates missing keys and keeps
unknown ones (rows written by another version) as they were.
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any


@dataclass
class WithItemsProgress:
    """A with-items task's items: how many, how many launched and ended."""

    count: int = 0
    launched: int = 0
    done: int = 0
    indices: list[int] | None = None     # only these items run (a rerun of the failed ones)

    @property
    def total(self) -> int:
        return len(self.indices) if self.indices is not None else self.count

    def to_json(self) -> dict:
        out: dict = {"count": self.count, "launched": self.launched, "done": self.done}
        if self.indices is not None:
            out["indices"] = self.indices
        return out

    @classmethod
    def from_json(cls, data: dict) -> "WithItemsProgress":
        return cls(count=int(data.get("count", 0)), launched=int(data.get("launched", 0)),
                   done=int(data.get("done", 0)), indices=data.get("indices"))


@dataclass
class TaskRuntime:
    attempt: int = 0                    # runs of the task so far (timers of older ones are stale)
    reruns: int = 0                     # client reruns (a timeout covers one run)
    retry_no: int | None = None         # retries taken (shown as retry_count)
    failed_actions: list | None = None  # [[action or child id, index, error text]]
    timed_out: bool = False
    waited_before: bool = False
    waited_after: bool = False
    paused_before: bool = False
    failed_by_policy: bool = False      # fail-on decided the failure: `publish` still applies
    pending_outcome: dict | None = None   # {"ok", "info"} held during wait-after
    wake_on_resume: dict | None = None    # a timer that fired while paused
    resume_next: list | None = None       # transitions left to take after a pause command
    with_items: WithItemsProgress | None = None
    arrivals: list | None = None          # a join: ids of the tasks that arrived
    next: int | None = None               # tasks this one led to (0: it ended a branch)
    next_names: list | None = None
    handled: bool = False                 # an on-error transition handled its error
    extra: dict = field(default_factory=dict)   # unknown keys, kept as read
    _arrived: set | None = field(default=None, repr=False, compare=False)

    def add_arrival(self, task_id: str) -> None:
        if self.arrivals is None:
            self.arrivals = []
        if task_id not in self.arrived():
            self.arrivals.append(task_id)
            self._arrived.add(task_id)

    def arrived(self) -> set:
        if self._arrived is None or len(self._arrived) != len(self.arrivals or ()):
            self._arrived = set(self.arrivals or ())
        return self._arrived

    def reset(self, *names: str) -> None:
        """Put the named fields back to their defaults."""
        defaults = _DEFAULTS
        for name in names:
            setattr(self, name, defaults[name]())

    def to_json(self) -> dict:
        out = dict(self.extra)
        for name in _KEYS:
            value = getattr(self, name)
            if value is None or value is False or (value == 0 and name in ("attempt", "reruns")):
                continue
            out[name] = value.to_json() if isinstance(value, WithItemsProgress) else value
        return out

    @classmethod
    def from_json(cls, data: dict | None) -> "TaskRuntime":
        rt = cls()
        for key, value in (data or {}).items():
            if key == "with_items" and isinstance(value, dict):
                rt.with_items = WithItemsProgress.from_json(value)
            elif key in _KEYS:
                setattr(rt, key, value)
            else:
                rt.extra[key] = value
        return rt


_KEYS = tuple(f.name for f in fields(TaskRuntime) if f.name not in ("extra", "_arrived"))
_DEFAULTS: dict[str, Any] = {
    f.name: (f.default_factory if callable(f.default_factory) else (lambda v=f.default: v))
    for f in fields(TaskRuntime)}
