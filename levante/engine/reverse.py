"""Reverse workflows: run only what the target task needs, dependencies first."""
from __future__ import annotations

from levante.engine import states
from levante.engine.model import TaskEx
from levante.engine.steps import Steps
from levante.lang.spec import WorkflowSpec


def closure(spec: WorkflowSpec, target: str) -> set[str]:
    """``target`` and every task it requires, directly or not."""
    seen: set[str] = set()
    todo = [target]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        todo.extend(spec.tasks[name].requires)
    return seen


def find_cycle(spec: WorkflowSpec, names: set[str]) -> list[str] | None:
    """A dependency cycle among ``names``, or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(n: str) -> list[str] | None:
        state[n] = 1
        stack.append(n)
        for dep in spec.tasks[n].requires:
            if state.get(dep) == 1:
                return stack[stack.index(dep):] + [dep]
            if dep not in state:
                found = visit(dep)
                if found:
                    return found
        stack.pop()
        state[n] = 2
        return None

    for n in sorted(names):
        if n not in state:
            found = visit(n)
            if found:
                return found
    return None


class Reverse(Steps):
    """The conductor's part for reverse workflows: start the tasks the target
    needs that need nothing, then each task whose requirements are all done."""

    def _target_closure(self) -> set[str]:
        return closure(self.s.spec, self.s.params.get("task_name"))

    def _start_reverse(self) -> None:
        s = self.s
        target = s.params.get("task_name")
        if not target:
            self._fail_workflow("A reverse workflow needs the 'task_name' parameter: the task to run.")
            return
        if target not in s.spec.tasks:
            self._fail_workflow(f"Task '{target}' not found in workflow '{s.spec.name}'.")
            return
        names = self._target_closure()
        cycle = find_cycle(s.spec, names)
        if cycle:
            self._fail_workflow("Reverse workflow has a dependency cycle: " + " -> ".join(cycle))
            return
        for name in [n for n in s.spec.tasks if n in names]:     # document order
            if not s.spec.tasks[name].requires and s.state == states.RUNNING:
                self._schedule(s.spec.tasks[name], None)

    def _reverse_after(self, task: TaskEx) -> None:
        s = self.s
        task.processed = True
        task.runtime.next = 0
        s.mark(task)
        if task.state not in (states.SUCCESS, states.SKIPPED):
            return
        done = {t.name: t for t in s.tasks.values() if t.state in (states.SUCCESS, states.SKIPPED)}
        started = {t.name for t in s.tasks.values()}
        for name in [n for n in s.spec.tasks if n in self._target_closure()]:
            spec = s.spec.tasks[name]
            if name in started or task.name not in spec.requires:
                continue
            if all(r in done for r in spec.requires):
                task.runtime.next += 1
                new = self._new_task(name, states.RUNNING, [done[r].id for r in spec.requires])
                self._start_task(new, spec)
                if s.state != states.RUNNING:
                    return
