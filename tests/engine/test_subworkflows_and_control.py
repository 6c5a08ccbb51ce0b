"""Sub-workflow tasks, rerun and skip in the conductor."""
from __future__ import annotations

from levante.engine import states
from tests.engine.harness import Harness


def wf(body: str) -> str:
    return "version: '2.0'\n" + body


def test_workflow_task_requests_a_child_and_takes_its_output():
    h = Harness(wf("""
parent:
  tasks:
    call:
      workflow: child x=<% 1 + 1 %>
      publish:
        got: <% task().result.y %>
""")).start()
    assert h.task("call").type == "WORKFLOW"
    [req] = h.children
    assert req.name == "child" and req.input == {"x": 2} and req.task_id == h.task("call").id
    h.conductor.on_subworkflow_complete(req.task_id, req.id, 0, True, {"y": 42})
    assert h.state.state == states.SUCCESS
    assert h.state.output == {"got": 42}


def test_workflow_name_may_be_an_expression_and_failure_propagates():
    h = Harness(wf("parent:\n  input: [which]\n  tasks:\n    call:\n      workflow: <% $.which %>\n"),
                input={"which": "wf_b"}).start()
    [req] = h.children
    assert req.name == "wf_b"
    h.conductor.on_subworkflow_complete(req.task_id, req.id, 0, False, "child broke")
    assert h.state.state == states.ERROR
    assert h.task("call").state_info == "child broke"


def test_with_items_over_sub_workflows():
    h = Harness(wf("p:\n  tasks:\n    t:\n      with-items: n in <% [1, 2] %>\n      workflow: child n=<% $.n %>\n")).start()
    assert [c.index for c in h.children] == [0, 1]
    for c in h.children:
        h.results.setdefault(c.task_id, []).append((c.index, True, {"n": c.input["n"]}, c.id))
        h.conductor.on_subworkflow_complete(c.task_id, c.id, c.index, True, {"n": c.input["n"]})
    assert h.state.state == states.SUCCESS
    assert h.task("t").result == [{"n": 1}, {"n": 2}]


def test_rerun_failed_task_continues_workflow():
    attempts = {"n": 0}

    def run(name, given):
        attempts["n"] += 1
        return (attempts["n"] > 1, "boom" if attempts["n"] == 1 else "fine")

    h = Harness(wf("w:\n  tasks:\n    a:\n      action: std.echo output=x\n      on-success: b\n    b:\n      action: std.noop\n"),
                run=run).start()
    assert h.run_all().state == states.ERROR
    h.conductor.rerun(h.task("a").id)
    h._collect()
    s = h.run_all()
    assert s.state == states.SUCCESS and h.task("b").state == states.SUCCESS


def test_rerun_without_reset_runs_only_failed_items():
    seen = []

    def run(name, given):
        seen.append(given["output"])
        return (not (given["output"] == 2 and seen.count(2) == 1), given["output"])

    h = Harness(wf("w:\n  tasks:\n    t:\n      with-items: i in <% [1, 2, 3] %>\n      action: std.echo output=<% $.i %>\n"),
                run=run).start()
    assert h.run_all().state == states.ERROR
    h.conductor.rerun(h.task("t").id, reset=False)
    h._collect()
    s = h.run_all()
    assert s.state == states.SUCCESS
    assert seen == [1, 2, 3, 2]
    assert h.task("t").result == [1, 2, 3]


def test_skip_failed_task_follows_on_skip():
    h = Harness(wf("w:\n  tasks:\n    a:\n      action: std.fail\n      on-skip: b\n    b:\n      action: std.noop\n")).start()
    assert h.run_all().state == states.ERROR
    h.conductor.skip(h.task("a").id)
    h._collect()
    s = h.run_all()
    assert h.task("a").state == states.SKIPPED
    assert s.state == states.SUCCESS and h.task("b").state == states.SUCCESS
