"""Joins: a task with ``join`` waits for its inbound branches, and fails as soon
as too few of them can still arrive.

The work per arrival does not grow with the workflow: the inbound names come
from a map the spec computes once, the latest task of a name from the state's
index, and the arrivals are kept as a set too.
"""
from __future__ import annotations

from levante.engine import states
from levante.engine.model import TaskEx
from levante.engine.steps import Steps
from levante.lang.spec import TaskSpec


class Join(Steps):
    def _arrive(self, tspec: TaskSpec, pred: TaskEx) -> None:
        """Branch ``pred`` reached join task ``tspec``."""
        s = self.s
        task = self._join_task(tspec.name)
        created = task is None
        if created:
            task = self._new_task(tspec.name, states.WAITING, [])
        task.runtime.add_arrival(pred.id)
        s.mark(task)
        if task.state == states.WAITING:
            task.in_tasks.append(pred.id)
            if len(task.runtime.arrivals) >= self._join_needed(tspec):
                s.move_task(task, states.RUNNING)
                self._start_task(task, tspec)
            elif created:
                # Branches that ended before this round began may already make it
                # impossible; later ones are checked as they end (_check_missed_joins).
                self._check_join(tspec.name)

    def _check_join(self, name: str) -> None:
        """Fail a waiting join that can no longer get enough inbound branches, at once
        (as Mistral does: "Failed by tasks: [...]"), instead of at the workflow's end."""
        s = self.s
        join = self._join_task(name)
        if join is None or join.state != states.WAITING:
            return
        inbound = s.spec.inbound(name)
        arrived = join.runtime.arrived()
        failed = []
        for n in inbound:
            t = s.task_by_name(n)
            if t is not None and states.is_completed(t.state) and t.processed \
                    and name not in (t.runtime.next_names or ()) and t.id not in arrived:
                failed.append(n)
        if len(failed) > len(inbound) - self._join_needed(s.spec.tasks[name]):
            s.move_task(join, states.ERROR)
            join.state_info = f"Failed by tasks: {failed}"
            join.result = []        # as Mistral: the results of no action executions
            self._process_transitions(join, s.spec.tasks[name])

    def _check_missed_joins(self, task: TaskEx, tspec: TaskSpec) -> None:
        """A join ``task`` could have led to, but did not, may now be impossible."""
        s = self.s
        chosen = task.runtime.next_names or ()
        for clause in (tspec.on_success, tspec.on_error, tspec.on_complete, tspec.on_skip):
            for tr in (clause.next if clause else ()):
                if s.state == states.RUNNING and not self._is_command(tr) \
                        and tr.target not in chosen and s.spec.tasks[tr.target].join is not None:
                    self._check_join(tr.target)

    def _join_needed(self, tspec: TaskSpec) -> int:
        inbound = self.s.spec.inbound_count(tspec.name)
        if tspec.join == "all":
            return inbound
        if tspec.join == "one":
            return 1
        return min(int(tspec.join), inbound) if inbound else int(tspec.join)

    def _join_task(self, name: str) -> TaskEx | None:
        """The join task an arriving branch belongs to: the latest one of this name,
        unless every inbound branch already arrived there (then a new round starts,
        as in a loop)."""
        latest = self.s.task_by_name(name)
        if latest is None:
            return None
        if latest.state == states.WAITING:
            return latest
        inbound = self.s.spec.inbound_count(name)
        return latest if len(latest.runtime.arrivals or ()) < inbound else None
