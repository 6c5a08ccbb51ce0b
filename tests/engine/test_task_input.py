"""A task's input: a mapping, inline parameters, or one expression (as Mistral)."""
from __future__ import annotations

import pytest

from levante import lang
from levante.engine import states
from tests.engine.harness import Harness


def wf(body: str) -> str:
    return "version: '2.0'\n" + body


def test_whole_input_may_be_one_expression():
    h = Harness(wf("""
w:
  input: [params]
  tasks:
    t:
      action: std.echo
      input: <% $.params %>
"""), input={"params": {"output": "from params"}}).start()
    s = h.run_all()
    assert s.state == states.SUCCESS
    assert h.ran == [("t", "std.echo", {"output": "from params"})]
    assert h.task("t").result == "from params"


def test_input_expression_per_item():
    h = Harness(wf("""
w:
  tasks:
    t:
      with-items: p in <% [{output => 1}, {output => 2}] %>
      action: std.echo
      input: "{{ _.p }}"
"""), input={}).start()
    s = h.run_all()
    assert s.state == states.SUCCESS
    assert h.task("t").result == [1, 2]


def test_input_expression_that_is_not_a_mapping_fails_the_task():
    h = Harness(wf("""
w:
  tasks:
    t:
      action: std.echo
      input: <% [1, 2] %>
""")).start()
    s = h.run_all()
    assert s.state == states.ERROR
    assert h.task("t").state_info == "Task input must be a mapping, got [1, 2]"


@pytest.mark.parametrize("body, message", [
    ("      action: std.echo\n      input: just text\n",
     "'input' of task 't' must be a mapping or an expression, got string."),
    ("      action: std.echo output=1\n      input: <% $.params %>\n",
     "'input' of task 't' is an expression: give the parameters either inline or in 'input', not both."),
])
def test_input_that_is_neither_refused_at_create(body, message):
    errors = lang.validate(wf("w:\n  tasks:\n    t:\n" + body))
    assert [e.message for e in errors] == [message]
