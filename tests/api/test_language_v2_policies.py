"""Task policies end to end, through python-mistralclient against a real server.

retry (count, delay, success after failures), wait-before, wait-after,
timeout, pause-before, concurrency with with-items, fail-on, keep-result and
task-defaults. Each test defines its workflows under fresh names so they all
share the session's server.
"""
from __future__ import annotations

import json
import time

from tests.api.lang_helpers import actions_of, define, finished, output, tasks_by_name, until
from tests.conftest import wait_for_state


# ------------------------------------------------------------------ retry

def test_retry_runs_the_action_one_plus_count_times_then_fails(mistral):
    n = define(mistral, """
        version: '2.0'
        WF_RETRY:
          tasks:
            flaky:
              action: std.fail error_data="still broken"
              retry:
                count: 2
                delay: 1
    """, "WF_RETRY")
    t0 = time.time()
    ex = mistral.executions.create(n["WF_RETRY"])
    ex = finished(mistral, ex.id)
    elapsed = time.time() - t0

    assert ex.state == "ERROR"
    assert "still broken" in (ex.state_info or "")
    task = tasks_by_name(mistral, ex.id)["flaky"]
    assert task.state == "ERROR"
    assert "still broken" in (task.state_info or "")
    acts = actions_of(mistral, task.id)
    assert len(acts) == 3, [a.state for a in acts]          # first run + 2 retries
    assert {a.state for a in acts} == {"ERROR"}
    assert all(a.name == "std.fail" for a in acts)
    assert elapsed >= 1.9, f"two 1 s retry delays, finished after {elapsed:.2f}s"


def test_retry_until_the_action_succeeds(mistral):
    """The action fails twice (reported by the client), the third attempt succeeds."""
    n = define(mistral, """
        version: '2.0'
        WF_FLAKY:
          tasks:
            call:
              action: std.async_noop
              retry:
                count: 3
              publish:
                answer: <% task().result %>
    """, "WF_FLAKY")
    ex = mistral.executions.create(n["WF_FLAKY"])
    task = until(lambda: tasks_by_name(mistral, ex.id).get("call"), what="task 'call'")
    handled: set[str] = set()
    for attempt in range(3):
        running = until(lambda: [a for a in actions_of(mistral, task.id)
                                 if a.state == "RUNNING" and a.id not in handled],
                        what=f"attempt {attempt + 1} to start")
        assert len(running) == 1
        act = running[0]
        handled.add(act.id)
        if attempt < 2:
            mistral.action_executions.update(act.id, state="ERROR", output={"why": "transient failure"})
        else:
            mistral.action_executions.update(act.id, state="SUCCESS", output={"v": "ok"})

    ex = finished(mistral, ex.id)
    assert ex.state == "SUCCESS", ex.state_info
    assert output(ex) == {"answer": {"v": "ok"}}
    task = mistral.tasks.get(task.id)
    assert task.state == "SUCCESS"
    assert json.loads(task.result) == {"v": "ok"}
    acts = actions_of(mistral, task.id)
    assert sorted(a.state for a in acts) == ["ERROR", "ERROR", "SUCCESS"]


def test_task_defaults_retry_applies_to_every_task(mistral):
    n = define(mistral, """
        version: '2.0'
        WF_DEFAULTS:
          task-defaults:
            retry:
              count: 1
          tasks:
            first:
              action: std.fail
            second:
              action: std.fail error_data="second failed"
    """, "WF_DEFAULTS")
    ex = finished(mistral, mistral.executions.create(n["WF_DEFAULTS"]).id)
    assert ex.state == "ERROR"
    tasks = tasks_by_name(mistral, ex.id)
    assert set(tasks) == {"first", "second"}
    for t in tasks.values():
        assert t.state == "ERROR"
        assert len(actions_of(mistral, t.id)) == 2          # first run + 1 retry


# ------------------------------------------------------------------ waits

def test_wait_before_holds_the_task_delayed_then_runs_it(mistral):
    n = define(mistral, """
        version: '2.0'
        WF_WB:
          tasks:
            later:
              action: std.echo output="ran"
              wait-before: 1
              publish:
                said: <% task().result %>
    """, "WF_WB")
    t0 = time.time()
    ex = mistral.executions.create(n["WF_WB"])
    task = until(lambda: tasks_by_name(mistral, ex.id).get("later"), what="task 'later'")
    assert task.state == "DELAYED"
    # Nothing runs while the task waits.
    assert actions_of(mistral, task.id) == []

    ex = finished(mistral, ex.id)
    elapsed = time.time() - t0
    assert ex.state == "SUCCESS", ex.state_info
    assert output(ex) == {"said": "ran"}
    assert mistral.tasks.get(task.id).state == "SUCCESS"
    assert elapsed >= 0.9, f"wait-before 1 s, finished after {elapsed:.2f}s"


def test_wait_after_delays_the_transition(mistral):
    n = define(mistral, """
        version: '2.0'
        WF_WA:
          tasks:
            first:
              action: std.echo output=1
              wait-after: 1
              on-success: second
            second:
              action: std.noop
    """, "WF_WA")
    t0 = time.time()
    ex = mistral.executions.create(n["WF_WA"])

    def first_delayed():
        tasks = tasks_by_name(mistral, ex.id)
        first = tasks.get("first")
        return (first, tasks) if first is not None and first.state == "DELAYED" else None

    first, tasks = until(first_delayed, what="'first' to be DELAYED after its action")
    # The action is done, the task waits, and 'second' has not started.
    assert [a.state for a in actions_of(mistral, first.id)] == ["SUCCESS"]
    assert "second" not in tasks

    ex = finished(mistral, ex.id)
    elapsed = time.time() - t0
    assert ex.state == "SUCCESS", ex.state_info
    tasks = tasks_by_name(mistral, ex.id)
    assert tasks["first"].state == "SUCCESS" and tasks["second"].state == "SUCCESS"
    assert elapsed >= 0.9, f"wait-after 1 s, finished after {elapsed:.2f}s"


# ------------------------------------------------------------------ timeout

def test_timeout_fails_a_slow_task_early(mistral):
    n = define(mistral, """
        version: '2.0'
        WF_TO:
          tasks:
            slow:
              action: std.sleep seconds=5
              timeout: 1
    """, "WF_TO")
    t0 = time.time()
    ex = finished(mistral, mistral.executions.create(n["WF_TO"]).id)
    elapsed = time.time() - t0

    assert ex.state == "ERROR"
    assert elapsed < 4.0, f"timeout 1 s on a 5 s sleep, finished after {elapsed:.2f}s"
    task = tasks_by_name(mistral, ex.id)["slow"]
    assert task.state == "ERROR"
    assert "timed out" in (task.state_info or "").lower()


# ------------------------------------------------------------------ pause-before

def test_pause_before_pauses_the_execution_until_resumed(mistral):
    n = define(mistral, """
        version: '2.0'
        WF_PB:
          tasks:
            prepare:
              action: std.echo output=1
              on-success: gate
            gate:
              action: std.echo output="passed"
              pause-before: true
              publish:
                gate: <% task().result %>
    """, "WF_PB")
    ex = mistral.executions.create(n["WF_PB"])
    ex = wait_for_state(lambda: mistral.executions.get(ex.id), states=("PAUSED", "SUCCESS", "ERROR"))
    assert ex.state == "PAUSED"
    tasks = tasks_by_name(mistral, ex.id)
    assert tasks["prepare"].state == "SUCCESS"
    assert tasks["gate"].state == "IDLE"
    assert actions_of(mistral, tasks["gate"].id) == []

    mistral.executions.update(ex.id, "RUNNING")
    ex = finished(mistral, ex.id)
    assert ex.state == "SUCCESS", ex.state_info
    assert output(ex) == {"gate": "passed"}
    assert mistral.tasks.get(tasks["gate"].id).state == "SUCCESS"


# ------------------------------------------------------------------ concurrency

def test_concurrency_limits_parallel_items(mistral):
    n = define(mistral, """
        version: '2.0'
        WF_CONC:
          tasks:
            each:
              with-items: x in [1, 2, 3, 4, 5]
              concurrency: 2
              action: std.echo output=<% $.x * 10 %> delay=0.4
              publish:
                values: <% task().result %>
    """, "WF_CONC")
    t0 = time.time()
    ex = mistral.executions.create(n["WF_CONC"])
    task = until(lambda: tasks_by_name(mistral, ex.id).get("each"), what="task 'each'")
    most_running = 0
    while mistral.executions.get(ex.id).state == "RUNNING":
        running = [a for a in actions_of(mistral, task.id) if a.state == "RUNNING"]
        most_running = max(most_running, len(running))
        time.sleep(0.05)
        assert time.time() - t0 < 20
    elapsed = time.time() - t0

    ex = mistral.executions.get(ex.id)
    assert ex.state == "SUCCESS", ex.state_info
    assert output(ex) == {"values": [10, 20, 30, 40, 50]}
    assert 1 <= most_running <= 2, most_running
    acts = actions_of(mistral, task.id)
    assert len(acts) == 5 and {a.state for a in acts} == {"SUCCESS"}
    # Three waves of 0.4 s at most two at a time.
    assert elapsed >= 1.1, f"finished after {elapsed:.2f}s"


# ------------------------------------------------------------------ fail-on

FAIL_ON = """
    version: '2.0'
    WF_FAILON:
      input:
        - n
      tasks:
        check:
          action: std.echo output=<% $.n %>
          fail-on: <% task().result > 5 %>
          on-success: fine
          on-error: handle
        fine:
          action: std.echo output="fine"
          publish:
            verdict: <% task().result %>
        handle:
          action: std.echo output="handled"
          publish:
            verdict: <% task().result %>
"""


def test_fail_on_true_fails_a_successful_action(mistral):
    n = define(mistral, FAIL_ON, "WF_FAILON")
    ex = finished(mistral, mistral.executions.create(n["WF_FAILON"], workflow_input={"n": 7}).id)
    assert ex.state == "SUCCESS", ex.state_info         # the error is handled by on-error
    tasks = tasks_by_name(mistral, ex.id)
    assert tasks["check"].state == "ERROR"
    assert [a.state for a in actions_of(mistral, tasks["check"].id)] == ["SUCCESS"]
    assert set(tasks) == {"check", "handle"}
    assert output(ex)["verdict"] == "handled"


def test_fail_on_false_leaves_the_task_successful(mistral):
    n = define(mistral, FAIL_ON, "WF_FAILON")
    ex = finished(mistral, mistral.executions.create(n["WF_FAILON"], workflow_input={"n": 3}).id)
    assert ex.state == "SUCCESS", ex.state_info
    tasks = tasks_by_name(mistral, ex.id)
    assert tasks["check"].state == "SUCCESS"
    assert set(tasks) == {"check", "fine"}
    assert output(ex)["verdict"] == "fine"


def test_fail_on_without_handler_fails_the_workflow(mistral):
    n = define(mistral, """
        version: '2.0'
        WF_FAILON_BARE:
          tasks:
            check:
              action: std.echo output=10
              fail-on: <% task().result = 10 %>
    """, "WF_FAILON_BARE")
    ex = finished(mistral, mistral.executions.create(n["WF_FAILON_BARE"]).id)
    assert ex.state == "ERROR"
    assert tasks_by_name(mistral, ex.id)["check"].state == "ERROR"


# ------------------------------------------------------------------ keep-result

def test_keep_result_false_drops_the_result_but_publishes(mistral):
    n = define(mistral, """
        version: '2.0'
        WF_KEEP:
          tasks:
            big:
              action: std.echo output="payload"
              keep-result: false
              publish:
                kept: <% task().result %>
    """, "WF_KEEP")
    ex = finished(mistral, mistral.executions.create(n["WF_KEEP"]).id)
    assert ex.state == "SUCCESS", ex.state_info
    assert output(ex) == {"kept": "payload"}
    task = mistral.tasks.get(tasks_by_name(mistral, ex.id)["big"].id)
    assert json.loads(task.result) is None
    assert json.loads(task.published) == {"kept": "payload"}
