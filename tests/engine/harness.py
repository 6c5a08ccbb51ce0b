"""Run the conductor without a database: a tiny in-memory executor."""
from __future__ import annotations

import itertools
from typing import Any, Callable

from levante import lang
from levante.engine.conductor import Conductor
from levante.engine.model import ExecState


class Harness:
    """Drives one execution: start it, then feed action outcomes back in order."""

    def __init__(self, yaml_text: str, name: str | None = None, input: dict | None = None,
                 run: Callable[[str, dict], tuple[bool, Any]] | None = None, env: dict | None = None):
        specs = {w.name: w for w in lang.parse_workflows(yaml_text)}
        spec = specs[name] if name else next(iter(specs.values()))
        full_input = {p.name: (input or {}).get(p.name, p.default) for p in spec.input}
        self.state = ExecState(id="wf-1", workflow_name=spec.name, spec=spec, input=full_input,
                               params={"env": env or {}})
        self.results: dict[str, list] = {}     # task id -> [(index, ok, result, action id)]
        self.state.load_item_results = lambda tid: self.results.get(tid, [])
        self.state.load_result = lambda tid: None
        counter = itertools.count(1)
        self.conductor = Conductor(self.state, lambda: f"id-{next(counter)}")
        self.run = run or default_run
        self.pending: list = []
        self.timers: list = []          # Timer objects set and not fired yet
        self.children: list = []        # SubWorkflowRequest objects
        self.done: list = []            # action executions recorded as already ended (std.noop)
        self.ran: list[tuple[str, str, dict]] = []   # (task name, action, input)

    def start(self) -> "Harness":
        self.conductor.start()
        self._collect()
        return self

    def _collect(self) -> None:
        changes = self.state.take_changes()
        self.pending.extend(changes.actions)
        self.timers.extend(changes.timers)
        self.children.extend(changes.subworkflows)
        self.done.extend(changes.done_actions)

    def fire(self, kind: str | None = None) -> bool:
        """Deliver the oldest timer (of ``kind``), as if its delay ran out."""
        for i, t in enumerate(self.timers):
            if kind is None or t.payload["kind"] == kind:
                self.timers.pop(i)
                self.conductor.on_timer(t.payload)
                self._collect()
                return True
        return False

    def step(self) -> bool:
        """Complete the oldest pending action; False when none is left."""
        if not self.pending:
            return False
        a = self.pending.pop(0)
        self.ran.append((a.task_name, a.name, a.input))
        ok, result = self.run(a.name, a.input)
        self.results.setdefault(a.task_id, []).append((a.index, ok, result, a.id))
        self.conductor.on_action_complete(a.task_id, a.id, a.index, ok, result)
        self._collect()
        return True

    def run_all(self, limit: int = 10_000) -> ExecState:
        for _ in range(limit):
            if not self.step():
                break
        return self.state

    def task(self, name: str):
        return self.state.task_by_name(name)

    def task_names(self) -> list[str]:
        return [t.name for t in self.state.tasks.values()]


def default_run(name: str, given: dict) -> tuple[bool, Any]:
    if name == "std.echo":
        return True, given.get("output")
    if name == "std.noop":
        return True, None
    if name == "std.fail":
        return False, given.get("error_data", "Fail action expected exception.")
    raise AssertionError(f"unexpected action {name}")
