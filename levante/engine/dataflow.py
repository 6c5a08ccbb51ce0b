"""What each task sees: contexts, publishing, and the expression functions.

A task's inbound context is the merge of the outbound contexts of the tasks
that led to it; a task's outbound context is its inbound context plus what it
published. Only published values are stored; contexts are computed on demand
and memoised per execution, so a chain of N tasks costs O(N) merges.

Expressions see a layered view like Mistral's: the task context first, then
``__env``/``__execution``, then workflow vars, then workflow input.
"""
from __future__ import annotations

import copy
from typing import Any

from levante import expr
from levante.engine.model import ExecState, TaskEx


def merge_dicts(left: dict, right: dict) -> dict:
    """Deep merge: values of ``right`` win; nested dicts are merged."""
    if not left:
        return dict(right)
    if not right:
        return dict(left)
    out = dict(left)
    for k, v in right.items():
        lv = out.get(k)
        if isinstance(v, dict) and isinstance(lv, dict):
            out[k] = merge_dicts(lv, v)
        else:
            out[k] = v
    return out


def in_context(state: ExecState, task: TaskEx) -> dict:
    ctx: dict = {}
    for pred_id in task.in_tasks:
        pred = state.tasks.get(pred_id)
        if pred is not None:
            ctx = merge_dicts(ctx, out_context(state, pred))
    return ctx


def out_context(state: ExecState, task: TaskEx) -> dict:
    """``task``'s inbound context plus what it published, memoised. Worked out
    without recursion, predecessors first, so that a state loaded afresh (by
    another engine process, or after a restart) with a chain of thousands of
    tasks costs no deeper stack than a short one."""
    cache = state._out_ctx_cache
    cached = cache.get(task.id)
    if cached is not None:
        return cached
    stack: list[tuple[TaskEx, bool]] = [(task, False)]
    while stack:
        t, preds_done = stack.pop()
        if t.id in cache:
            continue
        preds = [p for p in (state.tasks.get(i) for i in t.in_tasks) if p is not None]
        if preds_done:
            ctx: dict = {}
            for p in preds:
                ctx = merge_dicts(ctx, cache.get(p.id) or {})
            cache[t.id] = merge_dicts(ctx, t.published)
        else:
            stack.append((t, True))
            stack.extend((p, False) for p in preds if p.id not in cache)
    return cache[task.id]


def env_dict(state: ExecState) -> dict:
    return {
        "__env": state.env,
        "__execution": {
            "id": state.id,
            "name": state.workflow_name,
            "input": state.input,
            "params": state.params,
            "root_execution_id": state.root_execution_id,
        },
    }


def view(state: ExecState, ctx: dict, extra: dict | None = None) -> dict:
    """The ``$`` of an expression: ctx over env over vars over input."""
    data = dict(state.input)
    if state.context:
        data.update(state.context)
    if state.published_global:
        data.update(state.published_global)     # branch variables (ctx) still win
    data.update(env_dict(state))
    if ctx:
        data.update(ctx)
    if extra:
        data.update(extra)
    return data


def task_dict(state: ExecState, task: TaskEx, result: Any = None, with_result: bool = True) -> dict:
    spec = state.spec.tasks.get(task.name)
    return {
        "id": task.id,
        "name": task.name,
        "state": task.state,
        "state_info": task.state_info,
        "result": result if result is not None else (state.result_of(task) if with_result else None),
        "published": task.published,
        "workflow_execution_id": state.id,
        "type": task.type,
        "spec": {"name": task.name, "action": spec.action if spec else None},
    }


class Functions:
    """``task()``, ``tasks()``, ``execution()``, ``env()``, ``global()`` for one evaluation."""

    def __init__(self, state: ExecState, current: TaskEx | None = None, current_result: Any = None):
        self.state = state
        self.current = current
        self.current_result = current_result

    def task(self, name: str | None = None) -> dict | None:
        if name is None or (self.current is not None and name == self.current.name):
            if self.current is None:
                return None
            res = self.current_result
            if res is None and self.current.result is not None:
                res = self.state.result_of(self.current)
            return task_dict(self.state, self.current, res)
        t = self.state.task_by_name(name)
        return task_dict(self.state, t) if t is not None else None

    def tasks(self, workflow_execution_id=None, recursive=False, state=None, flat=False) -> list[dict]:
        if workflow_execution_id not in (None, self.state.id):
            return []
        out = []
        for t in self.state.tasks.values():
            if state and t.state != state:
                continue
            out.append(task_dict(self.state, t))
        return out

    def execution(self) -> dict:
        s = self.state
        return {
            "id": s.id,
            "name": s.workflow_name,
            "spec": {"name": s.spec.name},
            "input": s.input,
            "params": s.params,
            "created_at": s.created_at,
            "updated_at": s.updated_at,
            "root_execution_id": s.root_execution_id,
        }

    def env(self) -> dict:
        return self.state.env

    def global_var(self, name: str) -> Any:
        return self.state.published_global.get(name)


def evaluate(value: Any, state: ExecState, data: dict, task: TaskEx | None = None,
             result: Any = None) -> Any:
    """Evaluate ``value`` (any YAML data) with ``data`` as ``$``."""
    if not _has_expr(value):
        return copy.deepcopy(value) if isinstance(value, (dict, list)) else value
    return expr.evaluate(value, data, Functions(state, task, result), state.budget)


def _has_expr(value: Any) -> bool:
    if isinstance(value, str):
        return expr.is_expression(value)
    if isinstance(value, dict):
        return any(_has_expr(k) or _has_expr(v) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return any(_has_expr(v) for v in value)
    return False
