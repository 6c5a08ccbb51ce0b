"""Joins, driven without a database (levante/engine/join.py)."""
from __future__ import annotations

from levante import lang
from levante.engine import states
from levante.engine.model import TaskEx
from levante.engine.task_runtime import TaskRuntime
from tests.engine.harness import Harness


def fan(n: int, join: str = "all") -> str:
    lines = ["version: '2.0'", "w:", "  tasks:", "    start:", "      action: std.noop", "      on-success:"]
    lines += [f"        - b{i}" for i in range(n)]
    for i in range(n):
        lines += [f"    b{i}:", "      action: std.noop", "      on-success: [j]"]
    lines += ["    j:", f"      join: {join}", "      action: std.echo output=joined"]
    return "\n".join(lines) + "\n"


def test_wide_fan_out_joins_once_with_every_branch():
    h = Harness(fan(300)).start()
    s = h.run_all()
    assert s.state == states.SUCCESS
    joins = [t for t in s.tasks.values() if t.name == "j"]
    assert len(joins) == 1
    assert len(joins[0].in_tasks) == 300
    assert len(joins[0].runtime.arrivals) == 300
    assert joins[0].result == "joined"


def test_inbound_map_is_in_document_order_and_counted():
    spec = lang.parse_workflows(fan(3))[0]
    assert spec.inbound("j") == ["b0", "b1", "b2"]
    assert spec.inbound_count("j") == 3
    assert spec.inbound("b1") == ["start"]
    assert spec.inbound("start") == [] and spec.inbound_count("start") == 0
    spec.inbound("j").append("x")        # callers get a copy
    assert spec.inbound("j") == ["b0", "b1", "b2"]


def test_branch_that_ended_before_the_join_existed_fails_it_when_it_is_created():
    # `a` ends without leading to j before any branch arrives: the first arrival
    # creates j and finds at once that `join: all` can no longer be satisfied.
    h = Harness("""version: '2.0'
w:
  tasks:
    a:
      action: std.noop
      on-success:
        - j: <% false %>
    b: {action: std.noop, on-success: [j]}
    c: {action: std.noop, on-success: [j]}
    j: {join: all, action: std.noop}
""").start()
    h.step()        # a
    assert h.task("j") is None
    h.step()        # b arrives: j is created, already impossible
    assert h.task("j").state == states.ERROR
    assert h.task("j").state_info == "Failed by tasks: ['a']"
    assert h.run_all().state == states.ERROR


def test_join_counts_an_arrival_once():
    h = Harness(fan(2)).start()
    h.step()        # start
    h.step()        # b0 arrives
    j = h.task("j")
    j.runtime.add_arrival(h.task("b0").id)     # the same branch again
    assert j.runtime.arrivals == [h.task("b0").id]
    assert j.state == states.WAITING


def test_join_continues_after_the_state_is_rebuilt_from_stored_rows():
    # What the runtime does after a restart: tasks come back from their rows,
    # the runtime as JSON; the name index and the open set are rebuilt lazily.
    h = Harness(fan(4)).start()
    for _ in range(3):
        h.step()    # start, b0, b1
    old = h.state.tasks
    h.state.tasks = {}
    h.state._latest = None
    h.state._open = None
    for t in old.values():
        h.state.tasks[t.id] = TaskEx(id=t.id, name=t.name, state=t.state, state_info=t.state_info,
                                     published=t.published, result=t.result, in_tasks=list(t.in_tasks),
                                     runtime=TaskRuntime.from_json(t.runtime.to_json()),
                                     processed=t.processed, seq=t.seq)
    assert h.task("j").state == states.WAITING
    s = h.run_all()
    assert s.state == states.SUCCESS
    assert len([t for t in s.tasks.values() if t.name == "j"]) == 1
    assert len(h.task("j").in_tasks) == 4
