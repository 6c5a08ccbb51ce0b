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
from tests.triggers.helpers import Local, local_runtime

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
    yield from local_runtime(tmp_path / "levante.sqlite", FLOW)


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


def _both_ways(tmp_path, run) -> None:
    """``run(inline, loc)`` on a started runtime that runs std.noop, echo and fail
    inside the engine step, then on one that leaves them to the executor."""
    for inline in (True, False):
        loc = Local(tmp_path / f"{inline}.sqlite")
        try:
            loc.workflow(FLOW)
            loc.rt.engine.fast_start = 60.0
            if not inline:
                loc.rt.engine.inline = None
            loc.start()
            run(inline, loc)
        finally:
            loc.stop()


def test_inline_and_executor_runs_leave_the_same_record(tmp_path):
    pictures = []

    def run(inline, loc):
        ex = _finish(loc, _start(loc))
        assert ex["state"] == "SUCCESS", ex["state_info"]
        pictures.append((json.loads(ex["output"]), ex["state_info"], _picture(loc, ex["id"])))

    _both_ways(tmp_path, run)
    assert len(pictures) == 2 and pictures[0] == pictures[1]


def test_inline_actions_are_logged_at_debug_the_executors_at_info(tmp_path, caplog):
    # A with-items of std.echo runs thousands of actions in one step: a line each
    # at INFO would flood the log with nothing an operator acts on.
    levels = {}

    def run(inline, loc):
        caplog.clear()
        with caplog.at_level("DEBUG", logger="levante.executor"):
            ex = _finish(loc, _start(loc))
        assert ex["state"] == "SUCCESS", ex["state_info"]
        lines = [r for r in caplog.records if r.getMessage().startswith("role=executor")
                 and ex["id"] in r.getMessage()]
        levels[inline] = sorted({r.levelname for r in lines})
        assert len(lines) == 6      # first, fan x3, boom, rescue

    _both_ways(tmp_path, run)
    assert levels == {True: ["DEBUG"], False: ["INFO"]}


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


def _queued(loc: Local, exec_id: str) -> list[tuple]:
    """(kind, payload) of the jobs queued for an execution and its actions."""
    with loc.rt.db.read() as conn:
        ids = [r.id for r in conn.execute(sa.select(AE.c.id).where(AE.c.workflow_execution_id == exec_id))]
        rows = conn.execute(sa.select(jobs.jobs.c.kind, jobs.jobs.c.payload)
                            .where(jobs.jobs.c.key.in_([exec_id, *ids])).order_by(jobs.jobs.c.id))
        return [(r.kind, json.loads(r.payload)) for r in rows]


def _action_ids(loc: Local, exec_id: str, state: str) -> list[str]:
    with loc.rt.db.read() as conn:
        return [r.id for r in conn.execute(sa.select(AE.c.id).where(
            AE.c.workflow_execution_id == exec_id, AE.c.state == state).order_by(AE.c.created_at))]


def test_a_start_over_its_allowance_is_left_to_the_engine(local):
    # No time at all: the first expression of the fast start's inline actions gives
    # it up, and the start is done again without running them: they are stored
    # RUNNING and an engine `run` event has the next engine step run them.
    local.rt.engine.fast_start = 0.0
    ex = _start(local)
    assert ex["state"] == "RUNNING"
    (noop,) = _action_ids(local, ex["id"], "RUNNING")
    assert _queued(local, ex["id"]) == [(jobs.ENGINE, {"event": "run", "action_ids": [noop]})]
    local.start()
    ex = _finish(local, ex)
    assert ex["state"] == "SUCCESS"
    assert json.loads(ex["output"]) == {"tens": [10, 20, 30], "said": "no 60"}


def test_one_step_runs_at_most_its_limit_inline(local):
    local.rt.engine.fast_start = 60.0
    local.rt.engine.inline_limit = 2
    ex = _start(local)
    # first (noop) and the first item of fan ran in the start; the other items are
    # stored RUNNING, for the next engine step to run (a `run` event), not an executor.
    assert ex["state"] == "RUNNING"
    with local.rt.db.read() as conn:
        rows = conn.execute(sa.select(AE.c.name, AE.c.idx, AE.c.state)
                            .where(AE.c.workflow_execution_id == ex["id"])).fetchall()
    assert sorted(tuple(r) for r in rows) == [("std.echo", 0, "SUCCESS"), ("std.echo", 1, "RUNNING"),
                                              ("std.echo", 2, "RUNNING"), ("std.noop", 0, "SUCCESS")]
    waiting = _action_ids(local, ex["id"], "RUNNING")
    assert _queued(local, ex["id"]) == [(jobs.ENGINE, {"event": "run", "action_ids": waiting})]
    local.start()
    ex = _finish(local, ex)
    assert ex["state"] == "SUCCESS"
    assert json.loads(ex["output"])["tens"] == [10, 20, 30]


def test_actions_left_by_a_step_run_in_the_next_engine_steps(tmp_path):
    """What one step could not run inline is run by the next steps of the engine,
    a few per step, from the database (also after a restart), and no executor job
    is ever queued."""
    path = tmp_path / "levante.sqlite"
    first = Local(path)
    try:
        first.workflow(FLOW)
        first.rt.engine.fast_start = 60.0
        first.rt.engine.inline_limit = 2
        ex = _start(first)
        assert ex["state"] == "RUNNING"
    finally:
        first.stop()
    loc = Local(path)       # another process, after a restart: nothing in memory
    try:
        loc.rt.engine.inline_limit = 2
        seen = []
        for _ in range(10):
            seen += [kind for kind, _ in _queued(loc, ex["id"])]
            if not loc.rt.engine.run_once():
                break
        assert set(seen) == {jobs.ENGINE}
        ex = loc.api.get(f"/v2/executions/{ex['id']}").json()
        assert ex["state"] == "SUCCESS", ex["state_info"]
        assert json.loads(ex["output"]) == {"tens": [10, 20, 30], "said": "no 60"}
        assert _queued(loc, ex["id"]) == []
        pic = _picture(loc, ex["id"])
        assert all(a[3] in ("SUCCESS", "ERROR") and a[7] for a in pic["actions"])
    finally:
        loc.stop()


def test_a_paused_execution_hands_its_waiting_actions_to_the_executor(local):
    # Actions already started finish while their execution is paused (as in
    # Mistral): the engine does not hold them back, it queues them as usual.
    local.rt.engine.fast_start = 60.0
    local.rt.engine.inline_limit = 2
    ex = _start(local)
    waiting = _action_ids(local, ex["id"], "RUNNING")
    r = local.api.put(f"/v2/executions/{ex['id']}", json={"state": "PAUSED"})
    assert r.status_code == 200, r.text
    assert local.rt.engine.run_once()
    assert sorted(_queued(local, ex["id"])) == [(jobs.LOCAL, {}), (jobs.LOCAL, {})]
    assert local.rt.executor.run_local() == 2
    assert _action_ids(local, ex["id"], "RUNNING") == []
    assert local.api.get(f"/v2/executions/{ex['id']}").json()["state"] == "PAUSED"
    r = local.api.put(f"/v2/executions/{ex['id']}", json={"state": "RUNNING"})
    assert r.status_code == 200, r.text
    local.start()
    ex = _finish(local, ex)
    assert ex["state"] == "SUCCESS", ex["state_info"]
    assert json.loads(ex["output"])["tens"] == [10, 20, 30]
    assert len(waiting) == 2


def test_local_jobs_of_a_batch_that_crashed_run_again_at_once(local):
    # The executor runs actions without I/O in the transaction that claims
    # them: a crash in the middle commits nothing (no lease to wait out), and
    # the next batch runs them all, each once.
    local.rt.engine.fast_start = 60.0
    local.rt.engine.inline_limit = 2
    ex = _start(local)
    r = local.api.put(f"/v2/executions/{ex['id']}", json={"state": "PAUSED"})
    assert r.status_code == 200, r.text
    assert local.rt.engine.run_once()
    assert sorted(_queued(local, ex["id"])) == [(jobs.LOCAL, {}), (jobs.LOCAL, {})]
    executor = local.rt.executor
    real = executor.run_action
    calls = []

    def crash_on_second(*args, **kwargs):
        calls.append(args[0])
        if len(calls) == 2:
            raise SystemExit("the process is going down")
        return real(*args, **kwargs)

    executor.run_action = crash_on_second
    with pytest.raises(SystemExit):
        executor.run_local()
    executor.run_action = real
    assert sorted(_queued(local, ex["id"])) == [(jobs.LOCAL, {}), (jobs.LOCAL, {})]
    waiting = sorted(_action_ids(local, ex["id"], "RUNNING"))
    assert executor.run_local() == 2
    assert _action_ids(local, ex["id"], "RUNNING") == []
    queued = _queued(local, ex["id"])      # one engine event per action: each ran once
    assert [kind for kind, _ in queued] == [jobs.ENGINE, jobs.ENGINE]
    assert sorted(payload["action_id"] for _, payload in queued) == waiting


def test_a_step_takes_only_the_run_events_it_has_room_for(local, monkeypatch):
    # Queued actions wait in their `run` events; a step reads only those it can
    # run, and the others stay queued as they are (not read and queued again).
    from levante.runtime import inline
    monkeypatch.setattr(inline, "RUN_CHUNK", 2)
    local.workflow(FLOW.replace("flow:", "many:").replace("items: [1, 2, 3]", "items: [1, 2, 3, 4, 5, 6, 7, 8]"))
    local.rt.engine.fast_start = 60.0
    local.rt.engine.inline_limit = 2
    r = local.api.post("/v2/executions", json={"workflow_name": "many"})
    assert r.status_code == 201, r.text
    ex = r.json()

    def run_jobs() -> dict:
        with local.rt.db.read() as conn:
            return {r.id: json.loads(r.payload)["action_ids"] for r in conn.execute(
                sa.select(jobs.jobs.c.id, jobs.jobs.c.payload).where(jobs.jobs.c.key == ex["id"])
                .order_by(jobs.jobs.c.id))}

    before = run_jobs()
    assert [len(ids) for ids in before.values()] == [2, 2, 2, 1]     # items 2 to 8
    assert local.rt.engine.run_once() == 1
    after = run_jobs()
    first = min(before)
    assert {k: v for k, v in before.items() if k != first} == after   # untouched
    for _ in range(10):
        if not local.rt.engine.run_once():
            break
    ex = local.api.get(f"/v2/executions/{ex['id']}").json()
    assert ex["state"] == "SUCCESS", ex["state_info"]
    assert json.loads(ex["output"])["tens"] == [10, 20, 30, 40, 50, 60, 70, 80]
