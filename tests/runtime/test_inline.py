"""The I/O-free built-in actions (std.noop, std.echo, std.fail) run inside the
engine step: the API's start of a short workflow stores it already finished,
with the same tasks, action executions, results, errors and events as when the
executor runs them."""
from __future__ import annotations

import json
import time

import pytest
import sqlalchemy as sa

from levante.store import jobs
from levante.store.schema import action_executions as AE
from levante.store.schema import task_executions as TE
from tests.triggers.helpers import Local

FLOW = """---
version: '2.0'
flow:
  input:
    - items: [1, 2, 3]
  tasks:
    first:
      action: std.noop
      on-success: [fan]
    fan:
      with-items: i in <% $.items %>
      action: std.echo output=<% $.i * 10 %>
      publish:
        tens: <% task().result %>
      on-success: [boom]
    boom:
      action: std.fail error_data=<% 'no ' + str($.tens.sum()) %>
      on-error: [rescue]
    rescue:
      action: std.echo output=<% task(boom).result %>
      publish:
        said: <% task().result %>
  output:
    tens: <% $.tens %>
    said: <% $.said %>
"""


@pytest.fixture
def local(tmp_path):
    loc = Local(tmp_path / "levante.sqlite")
    loc.workflow(FLOW)
    yield loc
    loc.stop()


def _start(loc: Local) -> dict:
    r = loc.api.post("/v2/executions", json={"workflow_name": "flow"})
    assert r.status_code == 201, r.text
    return r.json()


def _finish(loc: Local, ex: dict) -> dict:
    """The execution once it left RUNNING (the runtime's threads started)."""
    deadline = time.time() + 60
    while ex["state"] == "RUNNING" and time.time() < deadline:
        time.sleep(0.05)
        ex = loc.api.get(f"/v2/executions/{ex['id']}").json()
    return ex


def _picture(loc: Local, exec_id: str) -> dict:
    """What an execution left in the database, without ids and times."""
    with loc.rt.db.read() as conn:
        tasks = conn.execute(sa.select(TE.c.name, TE.c.state, TE.c.state_info, TE.c.result,
                                       TE.c.published)
                             .where(TE.c.workflow_execution_id == exec_id)
                             .order_by(TE.c.seq)).fetchall()
        actions = conn.execute(sa.select(AE.c.task_name, AE.c.name, AE.c.idx, AE.c.state,
                                         AE.c.state_info, AE.c.input, AE.c.output, AE.c.accepted)
                               .where(AE.c.workflow_execution_id == exec_id)).fetchall()
        left = conn.execute(sa.select(sa.func.count()).select_from(jobs.jobs)
                            .where(jobs.jobs.c.kind.in_((jobs.LOCAL, jobs.ACTION, jobs.ENGINE)))
                            ).scalar()
    return {"tasks": [tuple(t) for t in tasks],
            "actions": sorted(tuple(a) for a in actions), "jobs_left": left}


def test_a_short_workflow_is_stored_finished_by_its_start(local):
    local.rt.engine.fast_start = 60.0      # never given up here, however slow the machine
    ex = _start(local)                     # no engine or executor thread is running
    assert ex["state"] == "SUCCESS", ex["state_info"]
    assert json.loads(ex["output"]) == {"tens": [10, 20, 30], "said": "no 60"}
    pic = _picture(local, ex["id"])
    assert pic["jobs_left"] == 0
    assert [(t[0], t[1]) for t in pic["tasks"]] == [
        ("first", "SUCCESS"), ("fan", "SUCCESS"), ("boom", "ERROR"), ("rescue", "SUCCESS")]
    by_task = {}
    for a in pic["actions"]:
        by_task.setdefault(a[0], []).append(a)
    assert [(a[2], a[3], json.loads(a[6])) for a in by_task["fan"]] == [
        (0, "SUCCESS", {"result": 10}), (1, "SUCCESS", {"result": 20}), (2, "SUCCESS", {"result": 30})]
    (boom,) = by_task["boom"]
    assert boom[3] == "ERROR" and boom[4] == "no 60" and json.loads(boom[6]) == {"result": "no 60"}
    assert all(a[7] for a in pic["actions"])      # accepted, as the executor leaves them


def test_inline_and_executor_runs_leave_the_same_record(tmp_path):
    pictures = []
    for inline in (True, False):
        loc = Local(tmp_path / f"{inline}.sqlite")
        try:
            loc.workflow(FLOW)
            loc.rt.engine.fast_start = 60.0
            if not inline:
                loc.rt.engine.inline = None
            loc.start()
            ex = _start(loc)
            ex = _finish(loc, ex)
            assert ex["state"] == "SUCCESS", ex["state_info"]
            pictures.append((json.loads(ex["output"]), ex["state_info"], _picture(loc, ex["id"])))
        finally:
            loc.stop()
    assert pictures[0] == pictures[1]


def test_events_are_those_of_a_task_that_ran(local):
    local.rt.engine.fast_start = 60.0
    seen: list[tuple] = []

    def listener(conn, ev):
        seen.append((ev.type, ev.task_name))

    local.rt.events.subscribe(listener)
    try:
        ex = _start(local)
    finally:
        local.rt.events.unsubscribe(listener)
    assert ex["state"] == "SUCCESS"
    assert seen[0] == ("WORKFLOW_LAUNCHED", None) and seen[-1] == ("WORKFLOW_SUCCEEDED", None)
    for task, last in (("first", "TASK_SUCCEEDED"), ("fan", "TASK_SUCCEEDED"),
                       ("boom", "TASK_FAILED"), ("rescue", "TASK_SUCCEEDED")):
        assert [e for e, t in seen if t == task] == ["TASK_LAUNCHED", last]


def test_a_start_over_its_allowance_is_left_to_the_engine(local):
    # No time at all: the first expression of the fast start gives it up, and the
    # start is done again the usual way, its actions queued for the executor.
    local.rt.engine.fast_start = 0.0
    ex = _start(local)
    assert ex["state"] == "RUNNING"
    with local.rt.db.read() as conn:
        queued = conn.execute(sa.select(jobs.jobs.c.kind, AE.c.name).join(AE, AE.c.id == jobs.jobs.c.key)
                              .where(AE.c.workflow_execution_id == ex["id"])).fetchall()
    assert [tuple(q) for q in queued] == [(jobs.LOCAL, "std.noop")]
    local.start()
    ex = _finish(local, ex)
    assert ex["state"] == "SUCCESS"
    assert json.loads(ex["output"]) == {"tens": [10, 20, 30], "said": "no 60"}


def test_one_step_runs_at_most_its_limit_inline(local):
    local.rt.engine.fast_start = 60.0
    local.rt.engine.inline_limit = 2
    ex = _start(local)
    # first (noop) and the first item of fan ran in the start; the other items wait as jobs.
    assert ex["state"] == "RUNNING"
    with local.rt.db.read() as conn:
        rows = conn.execute(sa.select(AE.c.name, AE.c.idx, AE.c.state)
                            .where(AE.c.workflow_execution_id == ex["id"])).fetchall()
    assert sorted(tuple(r) for r in rows) == [("std.echo", 0, "SUCCESS"), ("std.echo", 1, "RUNNING"),
                                              ("std.echo", 2, "RUNNING"), ("std.noop", 0, "SUCCESS")]
    local.start()
    ex = _finish(local, ex)
    assert ex["state"] == "SUCCESS"
    assert json.loads(ex["output"])["tens"] == [10, 20, 30]
