"""A task's result when no action of it ended: [] as in Mistral 23."""
from __future__ import annotations

from levante.engine import states
from tests.engine.harness import Harness


def wf(body: str) -> str:
    return "version: '2.0'\n" + body


def test_with_items_task_failing_before_any_item_has_an_empty_list():
    h = Harness(wf("""
w:
  tasks:
    t:
      with-items: i in <% $.missing %>
      action: std.echo output=<% $.i %>
""")).start()
    s = h.run_all()
    assert s.state == states.ERROR
    assert h.task("t").state == states.ERROR
    assert h.task("t").result == []


def test_join_that_never_ran_has_an_empty_list():
    h = Harness(wf("""
w:
  tasks:
    a:
      action: std.fail
      on-success: j
    b:
      action: std.noop
      on-success: j
    j:
      join: all
      action: std.noop
""")).start()
    s = h.run_all()
    assert s.state == states.ERROR
    assert h.task("j").state == states.ERROR
    assert h.task("j").result == []


def test_a_failed_action_s_result_is_its_error():
    h = Harness(wf("w:\n  tasks:\n    t:\n      action: std.fail error_data=boom\n")).start()
    h.run_all()
    assert h.task("t").result == "boom"


def test_timed_out_task_has_an_empty_list():
    h = Harness(wf("w:\n  tasks:\n    t:\n      action: std.sleep seconds=10\n      timeout: 1\n"),
                run=lambda name, given: (True, None)).start()
    assert h.fire("timeout")
    assert h.task("t").state == states.ERROR
    assert h.task("t").state_info == "Task timed out [timeout(s)=1]."
    assert h.task("t").result == []


def test_task_without_action_records_std_noop_per_item():
    h = Harness(wf("""
w:
  tasks:
    plain:
      on-success: items
    items:
      with-items: i in [1, 2, 3]
""")).start()
    s = h.run_all()
    assert s.state == states.SUCCESS
    assert h.pending == [] and h.ran == []          # nothing for an executor to run
    assert [(a.task_name, a.name, a.index) for a in h.done] == [
        ("plain", "std.noop", 0), ("items", "std.noop", 0), ("items", "std.noop", 1), ("items", "std.noop", 2)]
    assert h.task("plain").result is None
    assert h.task("items").result == [None, None, None]
