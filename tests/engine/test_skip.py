"""Skipping a failed task: publish-on-skip and on-skip, as in Mistral 23."""
from __future__ import annotations

from levante.engine import states
from tests.engine.harness import Harness


def wf(body: str) -> str:
    return "version: '2.0'\n" + body


def skip(h: Harness, name: str):
    h.conductor.skip(h.task(name).id)
    h._collect()
    return h.run_all()


def test_publish_on_skip_is_published_when_the_task_is_skipped():
    h = Harness(wf("""
w:
  tasks:
    a:
      action: std.fail error_data=boom
      publish-on-error:
        why: <% task().result %>
      publish-on-skip:
        why: skipped after <% task().result %>
        state: <% task().state %>
      on-skip: b
    b:
      action: std.echo output=<% $.why %>
      publish:
        seen: <% task().result %>
""")).start()
    assert h.run_all().state == states.ERROR
    assert h.task("a").published == {"why": "boom"}
    s = skip(h, "a")
    assert s.state == states.SUCCESS
    assert h.task("a").published == {"why": "skipped after boom", "state": "SKIPPED"}
    assert s.output == {"why": "skipped after boom", "state": "SKIPPED", "seen": "skipped after boom"}


def test_on_skip_clause_publish_and_precedence():
    # publish-on-skip wins over on-skip's publish; on-complete's wins over both.
    h = Harness(wf("""
w:
  tasks:
    a:
      action: std.fail
      publish-on-skip:
        x: own
        y: own
      on-skip:
        publish:
          x: clause
          z: clause
        next: b
      on-complete:
        publish:
          y: complete
    b:
      action: std.noop
""")).start()
    h.run_all()
    skip(h, "a")
    assert h.task("a").published == {"x": "own", "y": "complete", "z": "clause"}


def test_without_publish_on_skip_the_earlier_published_values_stay():
    h = Harness(wf("""
w:
  tasks:
    a:
      action: std.fail error_data=boom
      publish-on-error:
        why: <% task().result %>
""")).start()
    h.run_all()
    s = skip(h, "a")
    assert s.state == states.SUCCESS
    assert h.task("a").published == {"why": "boom"}
