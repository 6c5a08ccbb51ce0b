"""The workflow's end, driven without a database (levante/engine/completion.py)."""
from __future__ import annotations

from levante.engine import states
from tests.engine.harness import Harness


def chain(n: int) -> str:
    body = "".join(f"    t{i}:\n      action: std.noop\n" + (f"      on-success: [t{i + 1}]\n" if i + 1 < n else "")
                   for i in range(n))
    return "version: '2.0'\nw:\n  tasks:\n" + body


def test_finished_tasks_leave_the_open_set_so_checks_do_not_grow():
    h = Harness(chain(200)).start()
    sizes = []
    while h.step():
        sizes.append(len(h.state.open_ids()))
    assert h.state.state == states.SUCCESS
    # Only the task that just ended and the one it started are ever looked at.
    assert max(sizes) <= 2


def test_waiting_join_left_at_the_end_fails_the_workflow():
    # c, the other way into j, never runs: only the end can tell j will not.
    h = Harness("""version: '2.0'
w:
  tasks:
    a:
      action: std.noop
      on-success: [j]
    b:
      action: std.noop
      on-success:
        - c: <% false %>
    c: {action: std.noop, on-success: [j]}
    j: {join: all, action: std.noop}
""").start()
    s = h.run_all()
    assert s.state == states.ERROR
    j = h.task("j")
    assert j.state == states.ERROR
    assert j.state_info == "Failed to satisfy join: task 'j' received 1 of 2 inbound transitions."
    assert j.processed and j.result == []
    assert s.state_info.startswith("Failure caused by error in tasks: j\n")


def test_unhandled_errors_are_listed_with_their_actions():
    h = Harness("version: '2.0'\nw:\n  tasks:\n    a:\n      action: std.fail\n").start()
    s = h.run_all()
    assert s.state == states.ERROR
    a = h.task("a")
    assert s.state_info.startswith("Failure caused by error in tasks: a\n")
    assert f"[task_ex_id={a.id}]" in s.state_info
    assert f"action_ex_id={a.runtime.failed_actions[0][0]}, idx=0" in s.state_info


def test_handled_error_lets_the_workflow_succeed():
    h = Harness("version: '2.0'\nw:\n  tasks:\n    a:\n      action: std.fail\n      on-error: [b]\n"
                "    b: {action: std.noop}\n").start()
    s = h.run_all()
    assert s.state == states.SUCCESS
    assert h.task("a").runtime.handled is True
