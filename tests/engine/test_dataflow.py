"""Contexts of a long chain loaded afresh: no recursion as deep as the chain."""
from __future__ import annotations

import sys

from levante.engine import dataflow
from levante.engine.model import ExecState, TaskEx
from levante import lang


def _chain_state(n: int) -> ExecState:
    spec = lang.parse_workflows("version: '2.0'\nw:\n  tasks:\n    t:\n      action: std.noop\n")[0]
    state = ExecState(id="e", workflow_name="w", spec=spec, input={})
    prev = None
    for i in range(n):
        t = TaskEx(id=f"t{i}", name="t", state="SUCCESS", published={f"v{i % 7}": i, "last": i},
                   in_tasks=[prev] if prev else [], seq=i)
        state.tasks[t.id] = t
        prev = t.id
    return state


def test_a_chain_longer_than_the_recursion_limit_has_its_context():
    n = sys.getrecursionlimit() * 3
    state = _chain_state(n)          # as another engine process loads it: nothing memoised
    last = state.tasks[f"t{n - 1}"]
    ctx = dataflow.in_context(state, last)
    assert ctx["last"] == n - 2
    assert {ctx[f"v{k}"] for k in range(7)} == {max(i for i in range(n - 1) if i % 7 == k) for k in range(7)}
    assert dataflow.out_context(state, last)["last"] == n - 1


def test_a_join_sees_every_branch_merged():
    state = _chain_state(3)
    join = TaskEx(id="j", name="j", state="SUCCESS", published={"joined": True}, in_tasks=["t2", "t1"])
    state.tasks["j"] = join
    state.tasks["t1"].published = {"left": 1, "shared": {"a": 1}}
    state.tasks["t2"].published = {"right": 2, "shared": {"b": 2}}
    ctx = dataflow.in_context(state, join)
    assert ctx["left"] == 1 and ctx["right"] == 2 and ctx["shared"] == {"a": 1, "b": 2}
