"""Conductor behaviour for direct workflows, without a database."""
from __future__ import annotations

from pathlib import Path

from levante.engine import states
from tests.engine.harness import Harness

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def wf(body: str) -> str:
    return "version: '2.0'\n" + body


def test_hello_world_publishes_and_outputs_published_vars():
    h = Harness((EXAMPLES / "hello_world.yaml").read_text()).start()
    s = h.run_all()
    assert s.state == states.SUCCESS
    assert h.task("say_hello").published == {"output": "Hello Workflow!"}
    # No `output` clause: today's Mistral returns the published variables.
    assert s.output == {"output": "Hello Workflow!"}


def test_declared_output_is_evaluated_against_final_context():
    h = Harness(wf("""
demo:
  input: [name, {greeting: Hello}]
  output:
    message: <% $.message %>
  tasks:
    say:
      action: std.echo output="<% $.greeting %>, <% $.name %>!"
      publish:
        message: <% task().result %>
"""), input={"name": "World"}).start()
    s = h.run_all()
    assert s.output == {"message": "Hello, World!"}


def test_chain_runs_in_order_and_sees_earlier_publishes():
    tasks = "".join(
        f"    t{i}:\n      action: std.echo output=<% $.v{i-1} + 1 %>\n      publish:\n        v{i}: <% task().result %>\n"
        + (f"      on-success: t{i+1}\n" if i < 20 else "")
        for i in range(1, 21))
    h = Harness(wf("chain:\n  vars:\n    v0: 0\n  tasks:\n" + tasks)).start()
    s = h.run_all()
    assert s.state == states.SUCCESS
    assert h.task_names() == [f"t{i}" for i in range(1, 21)]
    assert s.output["v20"] == 20


def test_with_items_results_in_item_order_even_when_completed_out_of_order():
    h = Harness((EXAMPLES / "input_action_details.yaml").read_text(),
                input={"names": ["The Doctor", "Romana", "K9"]}).start()
    assert [a.index for a in h.pending] == [0, 1, 2]
    h.pending.reverse()          # complete K9 first
    s = h.run_all()
    assert s.state == states.SUCCESS
    assert h.task("task1").result == ["The Doctor", "Romana", "K9"]
    assert h.task("task2").result == "Done"


def test_with_items_concurrency_limits_actions_in_flight():
    h = Harness(wf("""
w:
  tasks:
    t:
      with-items: i in <% range(0, 7) %>
      concurrency: 2
      action: std.echo output=<% $.i %>
"""), ).start()
    assert len(h.pending) == 2
    h.step()
    assert len(h.pending) == 2
    s = h.run_all()
    assert s.state == states.SUCCESS
    assert h.task("t").result == list(range(7))


def test_with_items_empty_list_succeeds_with_empty_result():
    h = Harness(wf("w:\n  tasks:\n    t:\n      with-items: i in <% [] %>\n      action: std.echo output=1\n")).start()
    assert h.run_all().state == states.SUCCESS
    assert h.task("t").result == []


def test_with_items_failure_of_one_item_fails_task():
    def run(name, given):
        return (False, "bad item") if given["output"] == 2 else (True, given["output"])

    h = Harness(wf("w:\n  tasks:\n    t:\n      with-items: i in <% [1, 2, 3] %>\n      action: std.echo output=<% $.i %>\n"),
                run=run).start()
    s = h.run_all()
    assert s.state == states.ERROR
    assert h.task("t").state == states.ERROR
    assert "bad item" in s.state_info
    assert "idx=1" in s.state_info


def test_join_all_waits_for_every_branch():
    branches = "".join(f"    b{i}:\n      action: std.noop\n      on-success: j\n" for i in range(5))
    h = Harness(wf("w:\n  tasks:\n" + branches + "    j:\n      join: all\n      action: std.echo output=joined\n")).start()
    assert len(h.pending) == 5
    for _ in range(4):
        h.step()
    assert h.task("j").state == states.WAITING
    h.step()
    assert h.task("j").state == states.RUNNING
    s = h.run_all()
    assert s.state == states.SUCCESS
    assert len(h.task("j").in_tasks) == 5
    assert [t for t in h.task_names() if t == "j"] == ["j"]


def test_join_with_number_starts_after_n_arrivals():
    h = Harness(wf("""
w:
  tasks:
    a: {action: std.noop, on-success: j}
    b: {action: std.noop, on-success: j}
    c: {action: std.noop, on-success: j}
    j: {join: 2, action: std.noop}
""")).start()
    h.step()
    assert h.task("j").state == states.WAITING
    h.step()
    assert h.task("j").state == states.RUNNING


def test_unsatisfiable_join_fails_the_workflow_instead_of_hanging():
    h = Harness(wf("""
w:
  tasks:
    a:
      action: std.noop
      on-success:
        - j: <% false %>
    b: {action: std.noop, on-success: j}
    j: {join: all, action: std.noop}
""")).start()
    s = h.run_all()
    assert s.state == states.ERROR
    assert h.task("j").state == states.ERROR
    assert h.task("j").state_info == "Failed by tasks: ['a']"


def test_flow_control_guards_pick_the_branch():
    text = (EXAMPLES / "flow_control.yaml").read_text()
    # The example is a workbook; reuse its workflows' own lines as plain workflows.
    from levante import lang
    wb = lang.parse_workbook(text)

    def plain(name: str) -> str:
        return "version: '2.0'\n" + wb.workflows[name].definition

    for x, expected in ((False, "task_b"), (True, "task_a")):
        h = Harness(plain("flowcontrol.flow_control"), input={"x": x}).start()
        h.run_all()
        assert h.task_names() == ["task_switch", expected]
    for letter, expected in (("a", ["letter_a", "letter_a_or_b"]), ("b", ["letter_a_or_b"]), ("c", ["letter_other"])):
        h = Harness(plain("flowcontrol.flow_control_triple"), input={"letter": letter}).start()
        assert h.run_all().state == states.SUCCESS
        assert sorted(h.task_names()[1:]) == expected


def test_unhandled_error_fails_workflow_with_mistral_state_info():
    h = Harness(wf("w:\n  tasks:\n    boom:\n      action: std.fail error_data=\"it broke\"\n")).start()
    s = h.run_all()
    t = h.task("boom")
    assert s.state == states.ERROR
    assert t.state_info == "it broke"
    assert s.state_info.startswith("Failure caused by error in tasks: boom\n\n  boom [task_ex_id=")
    assert "-> it broke\n    [action_ex_id=" in s.state_info and s.state_info.endswith("idx=0]: it broke\n")
    assert s.output == {"result": s.state_info}


def test_on_error_handler_makes_workflow_succeed():
    h = Harness(wf("""
w:
  tasks:
    boom:
      action: std.fail
      publish-on-error:
        why: <% task().result %>
      on-error: recover
    recover:
      action: std.echo output=<% $.why %>
""")).start()
    s = h.run_all()
    assert s.state == states.SUCCESS
    assert h.task("boom").state == states.ERROR
    assert h.task("recover").state == states.SUCCESS


def test_on_complete_runs_after_success_and_error():
    h = Harness(wf("""
w:
  tasks:
    a:
      action: std.fail
      on-complete: c
    c:
      action: std.noop
""")).start()
    s = h.run_all()
    assert h.task("c").state == states.SUCCESS
    # Only on-error handles an error: Mistral's all_errors_handled() looks at
    # on-error alone, so the workflow still fails after on-complete ran.
    assert s.state == states.ERROR


def test_fail_and_succeed_engine_commands():
    h = Harness(wf("w:\n  tasks:\n    a:\n      action: std.noop\n      on-success:\n        - fail msg='stopped here'\n")).start()
    s = h.run_all()
    assert s.state == states.ERROR and s.state_info == "stopped here"
    h = Harness(wf("w:\n  tasks:\n    a:\n      action: std.fail\n      on-error:\n        - succeed\n")).start()
    assert h.run_all().state == states.SUCCESS


def test_task_without_action_publishes_and_continues():
    h = Harness(wf("""
w:
  input: [a, b]
  tasks:
    merge:
      publish:
        m: <% $.a.mergeWith($.b) %>
      on-complete: show
    show:
      action: std.echo output=<% $.m %>
"""), input={"a": {"x": 1}, "b": {"y": 2}}).start()
    s = h.run_all()
    assert s.state == states.SUCCESS
    assert h.task("show").result == {"x": 1, "y": 2}


def test_bad_expression_in_publish_fails_task_with_reason():
    h = Harness(wf("w:\n  tasks:\n    a:\n      action: std.noop\n      publish:\n        x: <% $.nope.deeper.call() %>\n")).start()
    s = h.run_all()
    assert s.state == states.ERROR
    assert "Failed to publish variables of task 'a'" in h.task("a").state_info


def test_pause_holds_transitions_and_resume_continues():
    h = Harness(wf("w:\n  tasks:\n    a:\n      action: std.noop\n      on-success: b\n    b:\n      action: std.noop\n")).start()
    h.conductor.pause()
    h.step()
    assert h.task("a").state == states.SUCCESS and not h.task("a").processed
    assert h.task("b") is None and h.state.state == states.PAUSED
    h.conductor.resume()
    h._collect()
    s = h.run_all()
    assert s.state == states.SUCCESS and h.task("b").state == states.SUCCESS


def test_cancel_cancels_running_tasks():
    h = Harness(wf("w:\n  tasks:\n    a:\n      action: std.noop\n")).start()
    h.conductor.cancel()
    assert h.state.state == states.CANCELLED
    assert h.task("a").state == states.CANCELLED
    # A late result for the cancelled task changes nothing.
    a = h.pending.pop()
    h.conductor.on_action_complete(a.task_id, a.id, 0, True, None)
    assert h.state.state == states.CANCELLED


def test_env_and_vars_are_visible():
    h = Harness(wf("""
w:
  vars:
    greeting: hi
  tasks:
    a:
      action: std.echo output="<% $.greeting %> <% env().who %> <% $.get('__env').who %>"
"""), env={"who": "you"}).start()
    h.run_all()
    assert h.task("a").state == states.SUCCESS
    assert h.ran[0][2] == {"output": "hi you you"}


def test_join_one_runs_once_per_round():
    h = Harness(wf("""
w:
  tasks:
    a: {action: std.noop, on-success: j}
    b: {action: std.noop, on-success: j}
    j: {join: one, action: std.noop}
"""), ).start()
    s = h.run_all()
    assert s.state == states.SUCCESS
    assert h.task_names().count("j") == 1


def test_partial_join_does_not_leave_a_second_waiting_copy():
    h = Harness(wf("""
w:
  tasks:
    a: {action: std.noop, on-success: j}
    b: {action: std.noop, on-success: j}
    c: {action: std.noop, on-success: j}
    j: {join: 2, action: std.noop}
""")).start()
    s = h.run_all()
    assert s.state == states.SUCCESS
    assert h.task_names().count("j") == 1


def test_publish_precedence_is_on_complete_then_own_then_outcome_clause():
    # Pins Mistral's DirectWorkflowTaskSpec.get_publish(): the task's publish is
    # merged over the on-success clause's, and on-complete's over both.
    h = Harness(wf("""
w:
  tasks:
    a:
      action: std.noop
      publish: {own: own, both: own}
      on-complete:
        publish: {x: complete, both: complete}
        next: []
      on-success:
        publish: {x: success, own: success, only: success}
        next: []
""")).start()
    h.run_all()
    assert h.task("a").published == {"x": "complete", "both": "complete", "own": "own", "only": "success"}


def test_global_variables_are_visible_through_dollar_and_branch_wins():
    h = Harness(wf("""
w:
  tasks:
    a:
      action: std.noop
      on-success:
        publish:
          branch: {shadow: branch}
          global: {shared: g, shadow: global}
        next: [b]
    b:
      action: std.echo output="<% $.shared %>-<% $.shadow %>-<% global(shared) %>"
""")).start()
    h.run_all()
    assert h.task("b").result == "g-branch-g"


def test_engine_command_task_still_counts_for_output():
    h = Harness(wf("""
w:
  tasks:
    a:
      action: std.noop
      publish: {note: kept}
      on-success: [succeed]
""")).start()
    s = h.run_all()
    assert s.state == states.SUCCESS and s.output == {"note": "kept"}


def test_pause_command_keeps_the_rest_of_the_list_for_resume():
    h = Harness(wf("""
w:
  tasks:
    t1:
      action: std.noop
      on-complete: [t2, pause, t3]
    t2: {action: std.noop}
    t3: {action: std.noop}
""")).start()
    h.run_all()
    assert h.state.state == states.PAUSED and h.task("t3") is None
    h.conductor.resume()
    h._collect()
    s = h.run_all()
    assert s.state == states.SUCCESS and h.task("t3").state == states.SUCCESS


def test_publish_sees_the_final_task_state():
    h = Harness(wf("w:\n  tasks:\n    a:\n      action: std.noop\n      publish:\n        st: <% task().state %>\n")).start()
    assert h.run_all().output == {"st": "SUCCESS"}


def test_keep_result_may_be_an_expression():
    h = Harness(wf("w:\n  input: [keep]\n  tasks:\n    t:\n      action: std.echo output=1\n      keep-result: <% $.keep %>\n"),
                input={"keep": False}).start()
    h.run_all()
    assert h.task("t").result is None


def test_skip_without_on_skip_follows_on_success():
    # Pins Mistral's direct workflow: "go to on-success in case of skipping a task with no on-skip".
    h = Harness(wf("w:\n  tasks:\n    a:\n      action: std.fail\n      on-success: b\n    b:\n      action: std.noop\n")).start()
    h.run_all()
    h.conductor.skip(h.task("a").id)
    h._collect()
    s = h.run_all()
    assert h.task("a").state_info == "Task was skipped."
    assert s.state == states.SUCCESS and h.task("b").state == states.SUCCESS


def test_join_fails_as_soon_as_a_branch_cannot_arrive():
    # Pins Mistral's join logic: an inbound task that completed without leading
    # to the join makes a `join: all` fail at once, with "Failed by tasks".
    h = Harness(wf("""
w:
  tasks:
    a:
      action: std.noop
      on-success:
        - j: <% false %>
    b: {action: std.noop, on-success: [slow]}
    slow: {action: std.noop, on-success: [j]}
    c: {action: std.noop, on-success: [j]}
    j: {join: all, action: std.noop}
""")).start()
    h.step()   # a: does not lead to j
    h.step()   # b
    h.step()   # c: arrives at j, which is now impossible
    assert h.task("j").state == states.ERROR
    assert h.task("j").state_info == "Failed by tasks: ['a']"
    assert h.task("slow").state == states.RUNNING
    s = h.run_all()
    assert s.state == states.ERROR


def test_failed_workflow_output_keeps_the_final_context():
    # Pinned against Mistral 23: {"result": <state_info>, ...what the last tasks published}.
    h = Harness(wf("w:\n  tasks:\n    a:\n      action: std.noop\n      publish: {y: 5}\n      on-success: b\n    b:\n      action: std.fail\n      publish-on-error: {z: 9}\n")).start()
    s = h.run_all()
    assert s.state == states.ERROR
    assert s.output == {"y": 5, "z": 9, "result": s.state_info}


def test_with_items_input_error_runs_no_item():
    # Pinned against Mistral 23: every item's input is evaluated before any runs.
    h = Harness(wf("w:\n  tasks:\n    t:\n      with-items: i in <% [1, 2, 3] %>\n      action: std.echo output=<% 10 / ($.i - 2) %>\n")).start()
    assert not h.pending
    assert h.task("t").state == states.ERROR and h.task("t").result == []
    assert h.state.state == states.ERROR


def test_with_items_failure_reports_failed_actions_and_errors_in_result():
    # Pinned against Mistral 23: "One or more actions had failed." and the error in the result list.
    def run(name, given):
        return (False, "bad") if given["output"] == 2 else (True, given["output"])

    h = Harness(wf("w:\n  tasks:\n    t:\n      with-items: i in <% [1, 2, 3] %>\n      action: std.echo output=<% $.i %>\n"),
                run=run).start()
    h.run_all()
    assert h.task("t").state_info == "One or more actions had failed."
    assert h.task("t").result == [1, "bad", 3]
