"""The output of a failed execution, as Mistral 23 builds it."""
from __future__ import annotations

from levante.engine import states
from tests.engine.harness import Harness


def wf(body: str) -> str:
    return "version: '2.0'\n" + body


def test_output_on_error_gives_exactly_its_keys_plus_result():
    h = Harness(wf("""
w:
  output-on-error:
    stage: <% $.stage %>
  tasks:
    prepare:
      action: std.noop
      publish:
        stage: prepared
        leaked: should not appear
      on-success: deploy
    deploy:
      action: std.fail error_data="image not found"
""")).start()
    s = h.run_all()
    assert s.state == states.ERROR
    assert set(s.output) == {"result", "stage"}
    assert s.output["stage"] == "prepared"
    assert s.output["result"] == s.state_info


def test_without_output_on_error_the_published_variables_come_with_result():
    h = Harness(wf("""
w:
  tasks:
    prepare:
      action: std.noop
      publish:
        stage: prepared
      on-success:
        - fail msg="stopped"
""")).start()
    s = h.run_all()
    assert s.output == {"result": "stopped", "stage": "prepared"}


def test_a_published_result_wins_over_the_failure_text():
    # Mistral merges the context into {"result": <failure>}: its keys win.
    h = Harness(wf("""
w:
  tasks:
    prepare:
      action: std.noop
      publish:
        result: mine
      on-success:
        - fail msg="stopped"
""")).start()
    s = h.run_all()
    assert s.state_info == "stopped"
    assert s.output == {"result": "mine"}


def test_output_on_error_that_cannot_be_evaluated():
    # Mistral: the failure text says so, and the output is only `result`.
    h = Harness(wf("""
w:
  output-on-error:
    detail: <% $.missing.deeper %>
  tasks:
    t:
      action: std.noop
      publish:
        x: 1
      on-success:
        - fail msg="stopped"
""")).start()
    s = h.run_all()
    assert s.state == states.ERROR
    assert s.state_info.startswith(
        "Failed to evaluate expression in output-on-error! (output-on-error: "
        "'{'detail': '<% $.missing.deeper %>'}', exception: '")
    assert s.state_info.endswith("' Cause: 'stopped'")
    assert s.output == {"result": s.state_info}
