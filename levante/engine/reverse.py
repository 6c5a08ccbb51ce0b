"""Reverse workflows: run only what the target task needs, dependencies first."""
from __future__ import annotations

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
