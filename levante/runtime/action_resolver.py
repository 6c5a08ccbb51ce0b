"""Resolve an action name to something runnable: a Python action (built-in or
plug-in), an ad-hoc action stored in the database (YAML on top of another), or
a dynamic action (a class in a code source stored in the database)."""
from __future__ import annotations

import threading
from typing import Any

import sqlalchemy as sa

from levante import expr, lang
from levante.actions.base import ActionDef, Outcome
from levante.actions.registry import Registry
from levante.lang.spec import ActionSpec
from levante.runtime import specs
from levante.runtime.dynamic_actions import DynamicActionError, DynamicActions
from levante.store.db import Database
from levante.store.schema import action_definitions as AD

MAX_DEPTH = 10


class ActionResolver:
    def __init__(self, db: Database, registry: Registry):
        self.db = db
        self.registry = registry
        self._adhoc: dict[tuple[str, str], tuple[float, ActionSpec]] = {}
        self._lock = threading.Lock()
        self.dynamic = DynamicActions(db)

    # A name that is neither loaded nor ad-hoc makes the registry rescan the
    # plug-in entry points (rate-limited), so a plug-in installed after start
    # is found; ad-hoc names are looked up first so they never cause a rescan.

    def exists(self, name: str, namespace: str | None = None, project_id: str | None = None) -> bool:
        """Whether ``name`` runs: a Python action, or an ad-hoc action (in ``namespace``
        or the default one) that ``project_id`` may use (its own or a public one; None: any)."""
        return (self.registry.get(name, rescan=False) is not None
                or self._adhoc_spec(name, namespace, project_id) is not None
                or self.dynamic.exists(name, namespace, project_id)
                or self.registry.get(name) is not None)

    def python_def(self, name: str, project_id: str | None = None) -> ActionDef | None:
        """The Python class behind ``name`` (built-in, plug-in, or a dynamic action
        ``project_id`` may run), or None for an ad-hoc or unknown action;
        DynamicActionError if it cannot load."""
        return (self.registry.get(name, rescan=False) or self.dynamic.get(name, None, project_id)
                or self.registry.get(name))

    def check_adhoc_input(self, name: str, given: dict, project_id: str | None = None) -> None:
        """Raise ValueError when ``given`` misses or adds parameters of the ad-hoc action ``name``."""
        spec = self._adhoc_spec(name, project_id=project_id)
        if spec is not None:
            problem = _input_problem(spec, given)
            if problem:
                raise ValueError(f"Invalid input [name={name}, class=ad-hoc action, {problem}]")

    def not_found(self, name: str) -> str:
        """Mistral's "Failed to find action" message, with the cause when a
        plug-in that provides ``name`` failed to load."""
        why = self.registry.load_error(name)
        return f"Failed to find action [action_name={name}]" + (f": {why}" if why else "")

    def is_safe(self, name: str) -> bool:
        d = self.registry.get(name, rescan=False)
        return bool(d and d.safe_rerun)

    def run(self, name: str, given: dict, context: Any, depth: int = 0,
            namespace: str | None = None, project_id: str | None = None) -> Outcome:
        """Run action ``name``; an ad-hoc one is looked up as Mistral does: in
        ``namespace`` (a workflow's), then in the default one (None: any), among
        the actions ``project_id`` may use."""
        d = self.registry.get(name, rescan=False)
        if d is not None:
            return d.run(given, _with_callback_url(context))
        spec = self._adhoc_spec(name, namespace, project_id)
        if spec is None:
            try:
                d = self.dynamic.get(name, namespace, project_id)
            except DynamicActionError as e:
                return Outcome("error", f"Failed to load action [action_name={name}]: {e}")
            if d is None:
                d = self.registry.get(name)
            if d is not None:
                return d.run(given, _with_callback_url(context))
            return Outcome("error", self.not_found(name))
        if depth >= MAX_DEPTH:
            return Outcome("error", f"Ad-hoc action '{name}' nests more than {MAX_DEPTH} levels deep.")
        data = {}
        for p in spec.input:
            if p.name in given:
                data[p.name] = given[p.name]
            elif not p.required:
                data[p.name] = p.default
        problem = _input_problem(spec, given)
        if problem:
            return Outcome("error", f"Invalid input [name={name}, class=ad-hoc action, {problem}]")
        try:
            base_input = expr.evaluate(spec.base_input or {}, data)
        except expr.ExpressionError as e:
            return Outcome("error", f"Failed to evaluate base-input of action '{name}': {e}")
        outcome = self.run(spec.base, base_input or {}, context, depth + 1, namespace, project_id)
        if outcome.kind == "ok" and spec.output is not None:
            try:
                # The output transform sees the base action's result as ``$``.
                outcome = Outcome("ok", expr.evaluate(spec.output, outcome.value))
            except expr.ExpressionError as e:
                return Outcome("error", f"Failed to evaluate output of action '{name}': {e}")
        return outcome

    def _adhoc_spec(self, name: str, namespace: str | None = None,
                    project_id: str | None = None) -> ActionSpec | None:
        stmt = sa.select(AD.c.id, AD.c.definition, AD.c.updated_at, AD.c.created_at).where(AD.c.name == name)
        order = []
        if project_id is not None:
            # The project's own action wins over another project's public one.
            stmt = stmt.where(sa.or_(AD.c.project_id == project_id, AD.c.scope == "public"))
            order.append(sa.case((AD.c.project_id == project_id, 0), else_=1))
        if namespace is not None:
            # The namespace's own action wins over the default namespace's.
            stmt = stmt.where(AD.c.namespace.in_({namespace, ""}))
            order.insert(0, AD.c.namespace.desc())
        with self.db.read() as conn:
            row = conn.execute(stmt.order_by(*order)).first()
        if row is None:
            return None
        stamp = row.updated_at or row.created_at
        key = row.id
        with self._lock:
            hit = self._adhoc.get(key)
            if hit and hit[0] == stamp:
                return hit[1]
        if specs.is_workbook(row.definition):
            spec = lang.parse_workbook(row.definition).actions.get(name)
        else:
            spec = {a.name: a for a in lang.parse_actions(row.definition)}.get(name)
        if spec is not None:
            with self._lock:
                self._adhoc[key] = (stamp, spec)
        return spec


def _input_problem(spec: ActionSpec, given: dict) -> str:
    """``missing=[...], unexpected=[...]`` for an ad-hoc action's input, or ''."""
    missing = [p.name for p in spec.input if p.required and p.name not in given]
    unexpected = [k for k in given if k not in {p.name for p in spec.input}]
    parts = ([f"missing={missing}"] if missing else []) + ([f"unexpected={unexpected}"] if unexpected else [])
    return ", ".join(parts)


def _with_callback_url(context: Any) -> Any:
    """Fill ``context.execution.callback_url`` as Mistral does,
    ``/v2/action_executions/<id>`` (a path on the API's server; the server's own
    base URL is in the environment variable ``LEVANTE_API_URL``), so an
    asynchronous action can tell its worker where to report the result."""
    ex = getattr(context, "execution", None)
    action_id = getattr(ex, "action_execution_id", None)
    if ex is not None and action_id and not getattr(ex, "callback_url", None):
        ex.callback_url = f"/v2/action_executions/{action_id}"
    return context
