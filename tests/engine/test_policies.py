"""Task policies in the conductor: retry, wait-before/after, timeout, pause-before,
fail-on, keep-result, concurrency from task-defaults."""
from __future__ import annotations

from levante.engine import states
from tests.engine.harness import Harness


def wf(body: str) -> str:
    return "version: '2.0'\n" + body


def flaky(fail_times: int):
    calls = {"n": 0}

    def run(name, given):
        calls["n"] += 1
        if calls["n"] <= fail_times:
            return False, f"failure {calls['n']}"
        return True, given.get("output")
    return run, calls


def test_retry_until_success_without_delay():
    run, calls = flaky(2)
    h = Harness(wf("w:\n  tasks:\n    t:\n      action: std.echo output=ok\n      retry:\n        count: 3\n"),
                run=run).start()
    s = h.run_all()
    assert s.state == states.SUCCESS
    assert calls["n"] == 3
    assert h.task("t").runtime.retry_no == 2


def test_retry_gives_up_after_count_and_reports_last_error():
    run, calls = flaky(10)
    h = Harness(wf("w:\n  tasks:\n    t:\n      action: std.echo output=ok\n      retry: count=2\n"),
                run=run).start()
    s = h.run_all()
    assert s.state == states.ERROR
    assert calls["n"] == 3                      # first run + 2 retries
    assert h.task("t").state_info == "failure 3"


def test_retry_with_delay_waits_on_a_timer():
    run, calls = flaky(1)
    h = Harness(wf("w:\n  tasks:\n    t:\n      action: std.echo output=ok\n      retry: {count: 2, delay: 5}\n"),
                run=run).start()
    h.step()
    assert h.task("t").state == states.RUNNING_DELAYED
    assert [t.delay for t in h.timers] == [5.0] and not h.pending
    assert h.fire("retry")
    s = h.run_all()
    assert s.state == states.SUCCESS and calls["n"] == 2


def test_retry_break_on_stops_retrying():
    run, calls = flaky(10)
    h = Harness(wf("""
w:
  tasks:
    t:
      action: std.echo output=ok
      retry:
        count: 5
        break-on: <% task().result = 'failure 2' %>
"""), run=run).start()
    assert h.run_all().state == states.ERROR
    assert calls["n"] == 2


def test_retry_continue_on_repeats_successful_task_while_true():
    counter = {"n": 0}

    def run(name, given):
        counter["n"] += 1
        return True, counter["n"]

    h = Harness(wf("""
w:
  tasks:
    poll:
      action: std.echo output=x
      retry:
        count: 10
        continue-on: <% task().result < 4 %>
      publish:
        last: <% task().result %>
"""), run=run).start()
    s = h.run_all()
    assert s.state == states.SUCCESS
    assert s.output == {"last": 4}


def test_wait_before_delays_the_action():
    h = Harness(wf("w:\n  tasks:\n    t:\n      action: std.noop\n      wait-before: 2\n")).start()
    assert h.task("t").state == states.RUNNING_DELAYED and not h.pending
    h.fire("wait_before")
    assert h.task("t").state == states.RUNNING and len(h.pending) == 1
    assert h.run_all().state == states.SUCCESS


def test_wait_after_delays_the_transitions():
    h = Harness(wf("w:\n  tasks:\n    a:\n      action: std.echo output=1\n      wait-after: 3\n      on-success: b\n    b:\n      action: std.noop\n")).start()
    h.step()
    assert h.task("a").state == states.RUNNING_DELAYED and h.task("b") is None
    h.fire("wait_after")
    assert h.task("a").state == states.SUCCESS and h.task("a").result == 1
    assert h.run_all().state == states.SUCCESS


def test_timeout_fails_a_task_that_runs_too_long():
    h = Harness(wf("w:\n  tasks:\n    t:\n      action: std.noop\n      timeout: 1\n")).start()
    assert h.timers[0].payload["kind"] == "timeout"
    h.fire("timeout")
    s = h.state
    assert h.task("t").state == states.ERROR
    assert "timed out" in h.task("t").state_info
    assert s.state == states.ERROR
    # The action's late result is ignored.
    h.step()
    assert h.task("t").state == states.ERROR


def test_timeout_after_completion_is_ignored():
    h = Harness(wf("w:\n  tasks:\n    t:\n      action: std.noop\n      timeout: 1\n")).start()
    h.step()
    assert h.state.state == states.SUCCESS
    h.fire("timeout")
    assert h.task("t").state == states.SUCCESS and h.state.state == states.SUCCESS


def test_pause_before_pauses_workflow_until_resumed():
    h = Harness(wf("w:\n  tasks:\n    a:\n      action: std.noop\n      on-success: b\n    b:\n      action: std.noop\n      pause-before: true\n")).start()
    h.run_all()
    assert h.state.state == states.PAUSED
    assert h.task("b").state == states.IDLE and not h.pending
    h.conductor.resume()
    h._collect()
    assert h.run_all().state == states.SUCCESS


def test_fail_on_turns_success_into_error():
    h = Harness(wf("w:\n  tasks:\n    t:\n      action: std.echo output=7\n      fail-on: <% task().result > 5 %>\n")).start()
    s = h.run_all()
    assert s.state == states.ERROR
    assert "fail-on" in h.task("t").state_info


def test_keep_result_false_drops_result_but_publishes():
    h = Harness(wf("w:\n  tasks:\n    t:\n      action: std.echo output=big\n      keep-result: false\n      publish:\n        v: <% task().result %>\n")).start()
    s = h.run_all()
    assert h.task("t").result is None
    assert s.output == {"v": "big"}


def test_task_defaults_apply_policies():
    run, calls = flaky(1)
    h = Harness(wf("w:\n  task-defaults:\n    retry: count=1\n  tasks:\n    t:\n      action: std.echo output=1\n"),
                run=run).start()
    assert h.run_all().state == states.SUCCESS
    assert calls["n"] == 2


def test_policy_values_may_be_expressions():
    h = Harness(wf("w:\n  input: [d]\n  tasks:\n    t:\n      action: std.noop\n      wait-before: <% $.d %>\n"),
                input={"d": 4}).start()
    assert h.timers[0].delay == 4.0


def test_bad_policy_value_fails_task_clearly():
    h = Harness(wf("w:\n  tasks:\n    t:\n      action: std.noop\n      wait-before: <% 'soon' %>\n")).start()
    assert h.state.state == states.ERROR
    assert "'wait-before' must be a number" in h.task("t").state_info


def test_with_items_retry_reruns_items():
    seen = []

    def run(name, given):
        seen.append(given["output"])
        return (len(seen) > 3, given["output"])    # first round fails

    h = Harness(wf("w:\n  tasks:\n    t:\n      with-items: i in <% [1, 2, 3] %>\n      action: std.echo output=<% $.i %>\n      retry: count=1\n"),
                run=run).start()
    s = h.run_all()
    assert s.state == states.SUCCESS
    assert seen == [1, 2, 3, 1, 2, 3]
    assert h.task("t").result == [1, 2, 3]


def test_timeout_still_applies_during_retries():
    run, calls = flaky(10)
    h = Harness(wf("w:\n  tasks:\n    t:\n      action: std.echo output=1\n      timeout: 2\n      retry: {count: 5, delay: 1}\n"),
                run=run).start()
    h.step()                        # first attempt fails: a retry is due
    assert h.task("t").state == states.RUNNING_DELAYED
    assert h.fire("timeout")
    assert h.task("t").state == states.ERROR
    assert h.task("t").state_info == "Task timed out [timeout(s)=2]."
    h.fire("retry")                 # the retry timer is stale now
    assert h.task("t").state == states.ERROR and not h.pending


def test_rerun_in_a_paused_execution_continues_other_paused_work():
    h = Harness(wf("""
w:
  tasks:
    a:
      action: std.fail
    b:
      action: std.noop
      pause-before: true
""")).start()
    h.run_all()
    assert h.state.state == states.PAUSED
    h.conductor.rerun(h.task("a").id)
    h._collect()
    assert h.task("b").state == states.RUNNING


def test_fail_on_keeps_the_normal_publish_as_mistral():
    # Pinned against Mistral 23: the action succeeded, so `publish` applies (not
    # publish-on-error) and the task's state_info is "Failed by 'fail-on' policy".
    h = Harness(wf("""
w:
  tasks:
    t:
      action: std.echo output=1
      fail-on: <% true %>
      publish: {p: <% task().result %>}
      publish-on-error: {e: <% task().result %>}
""")).start()
    s = h.run_all()
    assert h.task("t").published == {"p": 1}
    assert h.task("t").state_info == "Failed by 'fail-on' policy"
    assert s.state == states.ERROR and s.output["p"] == 1 and "result" in s.output


def test_every_retried_failure_is_listed_in_state_info():
    # Pinned against Mistral 23: the execution's state_info lists all attempts.
    run, _ = flaky(10)
    h = Harness(wf("w:\n  tasks:\n    t:\n      action: std.echo output=1\n      retry: count=2\n"),
                run=run).start()
    s = h.run_all()
    assert [line.strip().split(",")[1].strip() for line in s.state_info.splitlines()
            if "action_ex_id" in line] == ["idx=0]: failure 1", "idx=0]: failure 2", "idx=0]: failure 3"]
