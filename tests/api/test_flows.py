"""Workflow patterns end to end: with-items order, a wide join, a chain, guarded transitions."""
from __future__ import annotations

from tests.api.helpers import as_json, create_wf, finish, unique
from tests.conftest import EXAMPLES


def _tasks(mistral, exec_id):
    return {t.name: t for t in mistral.tasks.list(exec_id)}


def test_with_items_keeps_item_order(mistral):
    name = unique("items")
    create_wf(mistral, name, """
input:
  - things
tasks:
  each:
    with-items: thing in <% $.things %>
    action: std.echo output=<% $.thing.v %> delay=<% $.thing.d %>
    publish:
      all: <% task().result %>
""")
    things = [{"v": "a", "d": 0.4}, {"v": "b", "d": 0}, {"v": "c", "d": 0.2},
              {"v": "d", "d": 0.1}, {"v": "e", "d": 0.3}]
    ex = finish(mistral, mistral.executions.create(name, workflow_input={"things": things}).id)
    assert ex.state == "SUCCESS", ex.state_info
    assert as_json(ex.output) == {"all": ["a", "b", "c", "d", "e"]}
    each = _tasks(mistral, ex.id)["each"]
    assert as_json(mistral.tasks.get(each.id).result) == ["a", "b", "c", "d", "e"]
    actions = mistral.action_executions.list(each.id)
    assert len(actions) == 5
    assert all(a.state == "SUCCESS" for a in actions)


def test_join_of_30_parallel_tasks(mistral):
    name = unique("join")
    n = 30
    lines = ["tasks:", "  start:", "    action: std.noop", "    on-success:"]
    lines += [f"      - p{i}" for i in range(n)]
    for i in range(n):
        lines += [f"  p{i}:", f"    action: std.echo output={i}",
                  "    publish:", f"      r{i}: <% task().result %>", "    on-success: [final]"]
    total = " + ".join(f"$.r{i}" for i in range(n))
    lines += ["  final:", "    join: all", f"    action: std.echo output=<% {total} %>",
              "    publish:", "      total: <% task().result %>"]
    create_wf(mistral, name, "\n".join(lines) + "\n")
    ex = finish(mistral, mistral.executions.create(name).id, timeout=60)
    assert ex.state == "SUCCESS", ex.state_info
    assert as_json(ex.output)["total"] == sum(range(n))
    tasks = mistral.tasks.list(ex.id)
    names = [t.name for t in tasks]
    assert names.count("final") == 1
    assert sorted(names) == sorted(["start", "final"] + [f"p{i}" for i in range(n)])
    assert all(t.state == "SUCCESS" for t in tasks)


def test_chain(mistral):
    name = unique("chain")
    n = 10
    lines = ["input:", "  - n: 0", "tasks:"]
    for i in range(n):
        lines += [f"  t{i}:", "    action: std.echo output=<% $.n + 1 %>",
                  "    publish:", "      n: <% task().result %>"]
        if i < n - 1:
            lines.append(f"    on-success: [t{i + 1}]")
    create_wf(mistral, name, "\n".join(lines) + "\n")
    ex = finish(mistral, mistral.executions.create(name).id)
    assert ex.state == "SUCCESS", ex.state_info
    assert as_json(ex.output) == {"n": n}
    tasks = _tasks(mistral, ex.id)
    assert sorted(tasks) == sorted(f"t{i}" for i in range(n))
    assert as_json(mistral.tasks.get(tasks["t4"].id).result) == 5


def test_on_success_guards(mistral):
    # the crash course's flow_control workbook, under a name of our own
    wb = unique("flowcontrol")
    text = (EXAMPLES / "flow_control.yaml").read_text().replace("name: flowcontrol", f"name: {wb}")
    mistral.workbooks.create(text)

    def ran(wf, inp=None):
        ex = finish(mistral, mistral.executions.create(f"{wb}.{wf}", workflow_input=inp).id)
        assert ex.state == "SUCCESS", ex.state_info
        tasks = _tasks(mistral, ex.id)
        assert all(t.state == "SUCCESS" for t in tasks.values())
        return sorted(tasks)

    assert ran("flow_control") == ["task_b", "task_switch"]
    assert ran("flow_control", {"x": True}) == ["task_a", "task_switch"]
    assert ran("flow_control", {"x": False}) == ["task_b", "task_switch"]
    assert ran("flow_control_triple", {"letter": "a"}) == ["letter_a", "letter_a_or_b", "task_switch"]
    assert ran("flow_control_triple", {"letter": "b"}) == ["letter_a_or_b", "task_switch"]
    assert ran("flow_control_triple", {"letter": "c"}) == ["letter_other", "task_switch"]
