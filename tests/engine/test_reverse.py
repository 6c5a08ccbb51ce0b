"""Reverse workflows: only the target's dependency closure runs, dependencies first."""
from __future__ import annotations

from levante.engine import states
from tests.engine.harness import Harness

REVERSE = """version: '2.0'
rev:
  type: reverse
  tasks:
    a:
      action: std.echo output=a
      publish: {va: <% task().result %>}
    b:
      action: std.echo output=b
      requires: [a]
    c:
      action: std.echo output=<% $.va %>c
      requires: [a, b]
    unrelated:
      action: std.echo output=u
"""


def run_reverse(target):
    h = Harness(REVERSE)
    h.state.params["task_name"] = target
    h.start()
    return h, h.run_all()


def test_runs_dependency_closure_in_order():
    h, s = run_reverse("c")
    assert s.state == states.SUCCESS
    assert h.task_names() == ["a", "b", "c"]
    assert h.task("c").result == "ac"
    assert sorted(h.state.tasks[i].name for i in h.task("c").in_tasks) == ["a", "b"]


def test_target_without_requirements_runs_alone():
    h, s = run_reverse("unrelated")
    assert s.state == states.SUCCESS and h.task_names() == ["unrelated"]


def test_missing_task_name_fails_clearly():
    h = Harness(REVERSE).start()
    assert h.state.state == states.ERROR
    assert "task_name" in h.state.state_info


def test_failed_dependency_fails_workflow():
    def run(name, given):
        return (False, "no") if given["output"] == "b" else (True, given["output"])

    h = Harness(REVERSE, run=run)
    h.state.params["task_name"] = "c"
    h.start()
    s = h.run_all()
    assert s.state == states.ERROR and h.task("c") is None
    assert "b [task_ex_id=" in s.state_info
