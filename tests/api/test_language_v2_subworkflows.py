"""Sub-workflows end to end, through python-mistralclient against a real server.

A task with ``workflow:`` starts a child execution linked to the parent task;
the child's output is the task's result; failures, with-items, pause, resume
and cancel travel between parent and child as in Mistral.
"""
from __future__ import annotations

import json
import time

from tests.api.lang_helpers import define, finished, output, tasks_by_name, until


def children_of(mistral, exec_id: str) -> list:
    """The executions started by the tasks of ``exec_id``."""
    return [e for e in mistral.executions.list(root_execution_id=exec_id) if e.id != exec_id]


CHILD_AND_PARENT = """
    version: '2.0'
    WF_CHILD:
      input:
        - x
      tasks:
        calc:
          action: std.echo output=<% $.x * 2 %>
          publish:
            doubled: <% task().result %>
      output:
        doubled: <% $.doubled %>
    WF_PARENT:
      input:
        - n
      tasks:
        call:
          workflow: WF_CHILD
          input:
            x: <% $.n %>
          publish:
            got: <% task().result.doubled %>
      output:
        answer: <% $.got %>
"""


# ------------------------------------------------------------------ basics

def test_parent_passes_input_and_uses_the_child_output(mistral):
    n = define(mistral, CHILD_AND_PARENT, "WF_CHILD", "WF_PARENT")
    parent = finished(mistral, mistral.executions.create(n["WF_PARENT"], workflow_input={"n": 21}).id)
    assert parent.state == "SUCCESS", parent.state_info
    assert output(parent) == {"answer": 42}

    call = tasks_by_name(mistral, parent.id)["call"]
    assert call.type == "WORKFLOW"
    assert call.state == "SUCCESS"
    assert json.loads(mistral.tasks.get(call.id).result) == {"doubled": 42}

    [child] = mistral.executions.list(task=call.id)
    child = mistral.executions.get(child.id)
    assert child.workflow_name == n["WF_CHILD"]
    assert child.state == "SUCCESS"
    assert child.task_execution_id == call.id
    assert child.root_execution_id == parent.id
    assert json.loads(child.input) == {"x": 21}
    assert output(child) == {"doubled": 42}
    # A top-level execution has no parent.
    assert parent.task_execution_id is None


def test_report_covers_parent_and_child(mistral):
    n = define(mistral, CHILD_AND_PARENT, "WF_CHILD", "WF_PARENT")
    parent = finished(mistral, mistral.executions.create(n["WF_PARENT"], workflow_input={"n": 1}).id)
    assert parent.state == "SUCCESS", parent.state_info

    report = mistral.executions.get_report(parent.id, errors_only=False)
    stats = report["statistics"]
    # parent 'call' + child 'calc'
    assert stats["total_tasks_count"] == 2
    assert stats["success_tasks_count"] == 2
    assert stats["error_tasks_count"] == 0
    root = report["root_workflow_execution"]
    assert root["id"] == parent.id
    [call] = root["task_executions"]
    assert call["name"] == "call"
    [child] = call["workflow_executions"]
    assert child["name"] == n["WF_CHILD"]
    assert [t["name"] for t in child["task_executions"]] == ["calc"]


def test_sub_executions_list_the_execution_tree(mistral):
    """``GET /v2/executions/{id}/executions`` walks the tree from the execution
    itself (included, first) down through its tasks' sub-workflows;
    ``errors_only`` follows only failed tasks, ``max_depth`` limits the levels;
    ``GET /v2/tasks/{id}/executions`` starts from one task's sub-workflows."""
    n = define(mistral, """
        version: '2.0'
        WF_LEAF_OK:
          tasks:
            work:
              action: std.noop
        WF_LEAF_BAD:
          tasks:
            work:
              action: std.fail
        WF_MIDDLE:
          tasks:
            good:
              workflow: WF_LEAF_OK
            bad:
              workflow: WF_LEAF_BAD
        WF_TOP:
          tasks:
            call:
              workflow: WF_MIDDLE
    """, "WF_LEAF_OK", "WF_LEAF_BAD", "WF_MIDDLE", "WF_TOP")
    top = finished(mistral, mistral.executions.create(n["WF_TOP"]).id)
    assert top.state == "ERROR"

    def names(execs) -> list:
        return sorted(e.workflow_name for e in execs)

    everything = list(mistral.executions.get_ex_sub_executions(top.id))
    assert everything[0].id == top.id
    assert names(everything) == sorted(n[k] for k in ("WF_TOP", "WF_MIDDLE", "WF_LEAF_OK", "WF_LEAF_BAD"))
    assert {e.root_execution_id for e in everything if e.id != top.id} == {top.id}

    errors = list(mistral.executions.get_ex_sub_executions(top.id, errors_only=True))
    assert names(errors) == sorted(n[k] for k in ("WF_TOP", "WF_MIDDLE", "WF_LEAF_BAD"))

    shallow = list(mistral.executions.get_ex_sub_executions(top.id, max_depth=1))
    assert names(shallow) == sorted(n[k] for k in ("WF_TOP", "WF_MIDDLE"))

    middle = next(e for e in everything if e.workflow_name == n["WF_MIDDLE"])
    below_middle = list(mistral.executions.get_ex_sub_executions(middle.id))
    assert names(below_middle) == sorted(n[k] for k in ("WF_MIDDLE", "WF_LEAF_OK", "WF_LEAF_BAD"))

    call = tasks_by_name(mistral, top.id)["call"]
    from_task = list(mistral.tasks.get_task_sub_executions(call.id))
    assert names(from_task) == sorted(n[k] for k in ("WF_MIDDLE", "WF_LEAF_OK", "WF_LEAF_BAD"))


# ------------------------------------------------------------------ failure

def test_child_failure_fails_the_parent_task_and_the_parent(mistral):
    n = define(mistral, """
        version: '2.0'
        WF_BROKEN:
          tasks:
            step:
              action: std.fail error_data="child broke"
        WF_PARENT:
          tasks:
            call:
              workflow: WF_BROKEN
              on-success: never
            never:
              action: std.noop
    """, "WF_BROKEN", "WF_PARENT")
    parent = finished(mistral, mistral.executions.create(n["WF_PARENT"]).id)
    assert parent.state == "ERROR"
    assert "child broke" in (parent.state_info or "")

    tasks = tasks_by_name(mistral, parent.id)
    assert set(tasks) == {"call"}
    assert tasks["call"].state == "ERROR"
    assert "child broke" in (tasks["call"].state_info or "")

    [child] = children_of(mistral, parent.id)
    assert child.state == "ERROR"
    assert "child broke" in (child.state_info or "")

    report = mistral.executions.get_report(parent.id)
    assert report["statistics"]["error_tasks_count"] == 2     # 'call' and the child's 'step'


# ------------------------------------------------------------------ with-items

def test_with_items_over_a_sub_workflow_keeps_item_order(mistral):
    # The first item takes longest, so completion order differs from item order.
    n = define(mistral, """
        version: '2.0'
        WF_ITEM:
          input:
            - x
          tasks:
            calc:
              action: std.echo output=<% $.x * 2 %> delay=<% $.x / 10.0 %>
              publish:
                doubled: <% task().result %>
          output:
            doubled: <% $.doubled %>
        WF_PARENT:
          tasks:
            fan:
              with-items: x in [5, 1, 3]
              workflow: WF_ITEM
              input:
                x: <% $.x %>
              publish:
                all: <% task().result %>
      """, "WF_ITEM", "WF_PARENT")
    parent = finished(mistral, mistral.executions.create(n["WF_PARENT"]).id)
    assert parent.state == "SUCCESS", parent.state_info
    assert output(parent) == {"all": [{"doubled": 10}, {"doubled": 2}, {"doubled": 6}]}

    fan = tasks_by_name(mistral, parent.id)["fan"]
    subs = children_of(mistral, parent.id)
    assert len(subs) == 3
    assert {s.task_execution_id for s in subs} == {fan.id}
    assert {s.root_execution_id for s in subs} == {parent.id}
    assert sorted(json.loads(mistral.executions.get(s.id).input)["x"] for s in subs) == [1, 3, 5]
    assert {s.state for s in subs} == {"SUCCESS"}


# ------------------------------------------------------------------ pause / resume / cancel

SLOW_CHILD = """
    version: '2.0'
    WF_SLOW:
      tasks:
        nap:
          action: std.sleep seconds=1
          on-success: after_nap
        after_nap:
          action: std.echo output="awake"
          publish:
            woke: <% task().result %>
      output:
        woke: <% $.woke %>
    WF_PARENT:
      tasks:
        call:
          workflow: WF_SLOW
          publish:
            child_said: <% task().result.woke %>
      output:
        child_said: <% $.child_said %>
"""


def test_pausing_the_parent_pauses_the_child_and_resume_finishes_both(mistral):
    n = define(mistral, SLOW_CHILD, "WF_SLOW", "WF_PARENT")
    parent = mistral.executions.create(n["WF_PARENT"])
    child = until(lambda: children_of(mistral, parent.id), what="the child")[0]
    # Pause while the child's first task sleeps.
    until(lambda: [t for t in mistral.tasks.list(child.id) if t.name == "nap" and t.state == "RUNNING"],
          what="the child's 'nap' to run")

    mistral.executions.update(parent.id, "PAUSED")
    assert mistral.executions.get(parent.id).state == "PAUSED"
    until(lambda: mistral.executions.get(child.id).state == "PAUSED", timeout=5, what="child PAUSED")

    # The sleep ends while paused; nothing moves on until resumed.
    time.sleep(1.5)
    assert mistral.executions.get(parent.id).state == "PAUSED"
    assert mistral.executions.get(child.id).state == "PAUSED"
    assert "after_nap" not in tasks_by_name(mistral, child.id)

    mistral.executions.update(parent.id, "RUNNING")
    parent = finished(mistral, parent.id)
    child = finished(mistral, child.id)
    assert parent.state == "SUCCESS", parent.state_info
    assert child.state == "SUCCESS", child.state_info
    assert output(parent) == {"child_said": "awake"}
    assert tasks_by_name(mistral, child.id)["after_nap"].state == "SUCCESS"


def test_pausing_the_parent_just_after_the_child_was_created_pauses_the_child(mistral):
    """The child may not have started its first task yet: the pause must stick."""
    n = define(mistral, SLOW_CHILD, "WF_SLOW", "WF_PARENT")
    parent = mistral.executions.create(n["WF_PARENT"])
    child = until(lambda: children_of(mistral, parent.id), what="the child")[0]
    mistral.executions.update(parent.id, "PAUSED")

    time.sleep(1.5)
    assert mistral.executions.get(parent.id).state == "PAUSED"
    assert mistral.executions.get(child.id).state == "PAUSED"

    mistral.executions.update(parent.id, "RUNNING")
    assert finished(mistral, parent.id).state == "SUCCESS"
    assert finished(mistral, child.id).state == "SUCCESS"


def test_cancelling_the_parent_cancels_the_child(mistral):
    n = define(mistral, """
        version: '2.0'
        WF_WAITING:
          tasks:
            wait:
              action: std.async_noop
        WF_PARENT:
          tasks:
            call:
              workflow: WF_WAITING
    """, "WF_WAITING", "WF_PARENT")
    parent = mistral.executions.create(n["WF_PARENT"])
    child = until(lambda: [c for c in children_of(mistral, parent.id) if c.state == "RUNNING"],
                  what="the child to run")[0]

    mistral.executions.update(parent.id, "CANCELLED")
    parent = finished(mistral, parent.id, timeout=10)
    assert parent.state == "CANCELLED"
    child = finished(mistral, child.id, timeout=10)
    assert child.state == "CANCELLED"
