"""with-items tasks: work out every item's action (or sub-workflow), launch them
within the task's concurrency, and gather their results in item order."""
from __future__ import annotations

from typing import Any

from levante.engine import dataflow, policies, states
from levante.engine.model import TaskEx
from levante.engine.steps import EVAL_ERRORS, Steps
from levante.engine.task_runtime import WithItemsProgress
from levante.engine.with_items import expand
from levante.lang.spec import TaskSpec


class Items(Steps):
    def _items_over_cap(self, task: TaskEx, tspec: TaskSpec, items: list) -> bool:
        """Fail the task if it has more items than the execution's caps allow."""
        cap = getattr(self.s.caps, "max_with_items", 0)
        if cap and len(items) > cap:
            self._on_outcome(task, tspec, False, None, info=(
                f"with-items of task '{task.name}' has {len(items)} items, more than the "
                f"limit of {cap} (setting max_with_items)"))
            return True
        return False

    def _start_items(self, task: TaskEx, tspec: TaskSpec, only_items: list[int] | None) -> None:
        s = self.s
        items = self._expand_items(task, tspec, self._task_eval(task))
        if items is None:
            return
        task.runtime.with_items = WithItemsProgress(count=len(items), indices=only_items)
        task.runtime.failed_actions = None
        s.mark(task)
        if not items:
            self._on_outcome(task, tspec, True, [])
            return
        # Every item's input is worked out before any runs (as Mistral does):
        # one bad item fails the task without running the others.
        base = dataflow.view(s, dataflow.in_context(s, task))
        units = {}
        try:
            for i in (only_items if only_items is not None else range(len(items))):
                units[i] = self._unit(task, tspec, {**base, **items[i]}, i)
        except EVAL_ERRORS as e:
            self._on_outcome(task, tspec, False, [], info=str(e))
            return
        self._launch_items(task, tspec, items, units)

    def _expand_items(self, task: TaskEx, tspec: TaskSpec, ev) -> list[dict] | None:
        """The task's with-items list; None when it failed the task (an expression
        error, or more items than the cap)."""
        try:
            items = expand(tspec.with_items, ev)
        except EVAL_ERRORS as e:
            self._on_outcome(task, tspec, False, None, info=str(e))
            return None
        if self._items_over_cap(task, tspec, items):
            return None
        return items

    def _launch_items(self, task: TaskEx, tspec: TaskSpec, items: list[dict] | None = None,
                      units: dict | None = None) -> None:
        s = self.s
        if s.state != states.RUNNING:
            return
        wi = task.runtime.with_items
        base = dataflow.view(s, dataflow.in_context(s, task))
        ev = lambda v: dataflow.evaluate(v, s, base, task)   # noqa: E731
        if items is None:
            items = self._expand_items(task, tspec, ev)
            if items is None:
                return
        indices = wi.indices
        total = wi.total
        limit = total
        try:
            conc = int(policies.number(tspec.concurrency, ev, "concurrency"))
        except EVAL_ERRORS:
            conc = 0
        if conc > 0:
            limit = min(limit, wi.done + conc)
        while wi.launched < limit:
            i = indices[wi.launched] if indices is not None else wi.launched
            wi.launched += 1
            if units is not None and i in units:
                self._request(units[i])
            elif not self._dispatch(task, tspec, {**base, **items[i]}, i):
                return
        s.mark(task)

    def _on_item_complete(self, task: TaskEx, tspec: TaskSpec, action_id: str, index: int,
                          ok: bool, result: Any, text: str) -> None:
        s = self.s
        rt = task.runtime
        wi = rt.with_items
        wi.done += 1
        if not ok:
            if rt.failed_actions is None:
                rt.failed_actions = []
            rt.failed_actions.append([action_id, index, text])
        s.mark(task)
        total = wi.total
        failed = rt.failed_actions
        if wi.done < total:
            if not failed:
                if wi.launched < total:
                    self._launch_items(task, tspec)
                return
            if wi.done < wi.launched:
                return      # let the running items finish before failing the task
        rows = s.load_item_results(task.id) if s.load_item_results else []
        latest: dict[int, tuple] = {}
        for r in rows:      # rows come oldest first: a rerun's result replaces the earlier one
            latest[r[0]] = r
        # A failed item's place holds its error, as in Mistral's task result.
        results = [latest[i][2] if i in latest else None for i in range(wi.count)]
        if failed:
            self._on_outcome(task, tspec, False, results, info="One or more actions had failed.")
        else:
            self._on_outcome(task, tspec, True, results)
