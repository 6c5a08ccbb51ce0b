"""Engine commands (fail, succeed, pause, noop) as transitions, without a database."""
from __future__ import annotations

import pytest

from levante.engine import states
from tests.engine.harness import Harness


def wf(body: str) -> str:
    return "version: '2.0'\n" + body


@pytest.mark.parametrize("clause, state", [
    ("on-error", states.ERROR), ("on-complete", states.ERROR),
])
def test_fail_with_message_in_parentheses_containing_spaces(clause, state):
    # Mistral reads `fail(msg='...')`: the message may hold spaces, commas, `=` and quotes.
    h = Harness(wf(f"""
w:
  tasks:
    t:
      action: std.fail
      {clause}:
        - fail(msg='custom failure, "really" = bad')
""")).start()
    s = h.run_all()
    assert s.state == state
    assert s.state_info == 'custom failure, "really" = bad'
    assert s.output["result"] == 'custom failure, "really" = bad'


def test_succeed_with_message_in_parentheses():
    h = Harness(wf("""
w:
  tasks:
    t:
      action: std.fail
      on-error:
        - succeed(msg='handled it, all good')
""")).start()
    s = h.run_all()
    assert s.state == states.SUCCESS
    assert s.state_info == "handled it, all good"      # as Mistral


def test_pause_with_message_in_parentheses_then_resume_goes_on():
    h = Harness(wf("""
w:
  tasks:
    t:
      action: std.noop
      on-success:
        - pause(msg="waiting for the operator's go")
        - u
    u:
      action: std.echo output="after"
""")).start()
    s = h.run_all()
    assert s.state == states.PAUSED
    assert s.state_info == "waiting for the operator's go"
    h.conductor.resume()
    h._collect()
    s = h.run_all()
    assert s.state == states.SUCCESS
    assert h.task("u").result == "after"


def test_message_expression_in_parentheses():
    h = Harness(wf("""
w:
  input: [who]
  tasks:
    t:
      action: std.fail
      on-error:
        - fail(msg=<% 'blame ' + $.who %>)
"""), input={"who": "the cat"}).start()
    s = h.run_all()
    assert s.state == states.ERROR
    assert s.state_info == "blame the cat"


def test_noop_command_does_nothing_and_ends_the_branch():
    # Mistral's fourth engine command: the transition is taken, nothing runs.
    h = Harness(wf("""
w:
  tasks:
    t:
      action: std.echo output=1
      publish:
        x: <% task().result %>
      on-success:
        - noop
""")).start()
    s = h.run_all()
    assert s.state == states.SUCCESS
    assert h.task_names() == ["t"]
    assert s.output == {"x": 1}


def test_task_named_like_an_engine_command_runs():
    # A deliberate difference: Mistral runs its command and never the task.
    h = Harness(wf("""
w:
  tasks:
    t:
      action: std.fail
      on-error: fail
    fail:
      action: std.echo output="cleaned up"
      publish:
        done: <% task().result %>
""")).start()
    s = h.run_all()
    assert s.state == states.SUCCESS
    assert h.task_names() == ["t", "fail"]
    assert s.output == {"done": "cleaned up"}
