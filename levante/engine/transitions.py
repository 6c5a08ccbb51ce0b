"""What a completed task leads to: its on-success / on-error / on-complete /
on-skip transitions, taken in order, and the engine commands among them
(noop, succeed, fail, pause)."""
from __future__ import annotations

from levante import expr
from levante.engine import dataflow, states
from levante.engine.model import TaskEx
from levante.engine.steps import Steps, as_text
from levante.lang.spec import OnClause, TaskSpec, Transition


class Transitions(Steps):
    def _after(self, task: TaskEx, tspec: TaskSpec) -> None:
        """What a completed task leads to."""
        if self.s.spec.type == "reverse":
            self._reverse_after(task)
        else:
            self._process_transitions(task, tspec)

    def _process_transitions(self, task: TaskEx, tspec: TaskSpec) -> None:
        s = self.s
        rt = task.runtime
        task.processed = True
        s.mark(task)
        clauses: list[OnClause] = []
        if task.state == states.SUCCESS and tspec.on_success:
            clauses.append(tspec.on_success)
        if task.state == states.ERROR and tspec.on_error:
            clauses.append(tspec.on_error)
        if task.state in (states.SUCCESS, states.ERROR) and tspec.on_complete:
            clauses.append(tspec.on_complete)
        if task.state == states.SKIPPED:
            # Mistral: a skipped task without on-skip goes on as if it had succeeded.
            clauses.append(tspec.on_skip if tspec.on_skip and tspec.on_skip.next else tspec.on_success)
            clauses = [c for c in clauses if c]
        data = dataflow.view(s, dataflow.out_context(s, task))
        chosen: list[Transition] = []
        handled = False
        try:
            for clause in clauses:
                for tr in clause.next:
                    if tr.condition is None or bool(dataflow.evaluate(tr.condition, s, data, task)):
                        chosen.append(tr)
                        # Only on-error handles an error (Mistral's all_errors_handled).
                        handled = handled or clause is tspec.on_error
        except expr.ExpressionError as e:
            states.amend(task, states.ERROR)
            task.state_info = f"Failed to evaluate transitions of task '{task.name}': {e}"
            rt.next = 0
            return
        rt.handled = handled
        # Tasks this one led to; engine commands do not count (see _final_context).
        rt.next = sum(1 for tr in chosen if not self._is_command(tr))
        rt.next_names = [tr.target for tr in chosen if not self._is_command(tr)]
        self._follow(task, [[tr.target, tr.params] for tr in chosen], data)
        self._check_missed_joins(task, tspec)

    def _follow(self, task: TaskEx, targets: list, data: dict) -> None:
        """Take the chosen transitions in order; a ``pause`` keeps the rest for resume."""
        s = self.s
        for i, (target, params) in enumerate(targets):
            tr = Transition(target, None, params or {})
            if self._is_command(tr):
                self._engine_command(task, tr, data)
            else:
                self._schedule(s.spec.tasks[target], task)
            if s.state != states.RUNNING:
                if s.state == states.PAUSED and targets[i + 1:]:
                    task.runtime.resume_next = targets[i + 1:]
                    s.mark(task)
                return

    def _is_command(self, tr: Transition) -> bool:
        # A task named like a command wins: the author linked to that task.
        return tr.is_command and tr.target not in self.s.spec.tasks

    def _engine_command(self, task: TaskEx, tr: Transition, data: dict) -> None:
        s = self.s
        if tr.target == "noop":
            return
        msg = tr.params.get("msg")
        if msg is not None:
            try:
                msg = dataflow.evaluate(msg, s, data, task)
            except expr.ExpressionError as e:
                msg = str(e)
            if not isinstance(msg, str):
                msg = as_text(msg)
        if tr.target == "succeed":
            self._succeed_workflow(msg)
        elif tr.target == "fail":
            self._fail_workflow(msg or f"Failed by 'fail' command in task '{task.name}'.")
        elif tr.target == "pause":
            s.move(states.PAUSED)
            s.state_info = msg
