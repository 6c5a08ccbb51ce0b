"""Firing cron triggers: exactly once per due time, whoever fires, whatever the downtime."""
from __future__ import annotations

import json
import threading
import time
import uuid

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from levante.store import triggers as store
from levante.store.db import Database
from levante.triggers import cron
from tests.triggers.helpers import local_runtime, params


@pytest.fixture
def local(tmp_path):
    yield from local_runtime(tmp_path / "levante.sqlite")


def _trigger(db: Database, wf: dict, *, due: float, pattern: str | None = "* * * * *",
             remaining: int | None = None, name: str | None = None, wf_input: dict | None = None) -> str:
    tid = str(uuid.uuid4())
    with db.tx() as conn:
        conn.execute(store.CT.insert().values(
            id=tid, name=name or f"t_{tid[:8]}", pattern=pattern, workflow_name=wf["name"],
            workflow_id=wf["id"], workflow_input=json.dumps(wf_input or {}), workflow_params="{}",
            first_execution_time=None, next_execution_time=due, remaining_executions=remaining,
            scope="private", project_id="<default-project>", created_at=time.time(), updated_at=None))
    return tid


def _row(db: Database, tid: str):
    with db.read() as conn:
        return conn.execute(sa.select(store.CT).where(store.CT.c.id == tid)).first()


def test_due_trigger_fires_and_moves_to_its_next_time(local):
    wf = local.echo("cron_a")
    now = time.time()
    tid = _trigger(local.rt.db, wf, due=now - 0.5, wf_input={"x": 7})
    started, next_due = cron.fire_due(local.rt.db, now)
    assert len(started) == 1
    row = _row(local.rt.db, tid)
    assert row.next_execution_time > now and row.next_execution_time % 60 == 0
    assert next_due == row.next_execution_time
    (ex,) = local.executions("cron_a")
    assert ex.id == started[0] and ex.state == "IDLE"
    assert json.loads(ex.input) == {"x": 7}
    desc = json.loads(ex.description)
    assert desc["triggered_by"] == {"type": "cron_trigger", "id": tid, "name": row.name}
    # Nothing more is due until that next time.
    assert cron.fire_due(local.rt.db, now + 1)[0] == []


def test_missed_window_fires_once_not_once_per_missed_time(local):
    wf = local.echo("cron_missed")
    now = time.time()
    tid = _trigger(local.rt.db, wf, due=now - 3600)       # an hour of missed minutes
    started, _ = cron.fire_due(local.rt.db, now)
    assert len(started) == 1
    assert _row(local.rt.db, tid).next_execution_time > now
    assert cron.fire_due(local.rt.db, now)[0] == []
    assert len(local.executions("cron_missed")) == 1


def test_remaining_executions_count_down_and_the_trigger_goes_at_zero(local):
    wf = local.echo("cron_count")
    now = time.time()
    tid = _trigger(local.rt.db, wf, due=now - 1, pattern="* * * * * */1", remaining=2)
    assert len(cron.fire_due(local.rt.db, now)[0]) == 1
    row = _row(local.rt.db, tid)
    assert row.remaining_executions == 1
    assert len(cron.fire_due(local.rt.db, row.next_execution_time)[0]) == 1
    assert _row(local.rt.db, tid) is None
    assert len(local.executions("cron_count")) == 2


def test_two_schedulers_on_one_sqlite_file_never_double_fire(local, tmp_path):
    wf = local.echo("cron_race")
    now = time.time()
    ids = [_trigger(local.rt.db, wf, due=now - 1, pattern="* * * * * */1") for _ in range(40)]
    dbs = [Database(local.url), Database(local.url)]     # two processes' worth of locks
    barrier = threading.Barrier(len(dbs) * 2)
    results: list[list[str]] = []
    errors: list[BaseException] = []

    def scheduler(db: Database) -> None:
        try:
            barrier.wait()
            got = []
            for _ in range(5):
                got += cron.fire_due(db, now, limit=7)[0]
            results.append(got)
        except BaseException as e:   # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=scheduler, args=(db,)) for db in dbs for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    for db in dbs:
        db.dispose()
    assert not errors
    fired = [e for got in results for e in got]
    assert len(fired) == len(set(fired)) == len(ids)
    execs = local.executions("cron_race")
    assert len(execs) == len(ids)
    by_trigger = [json.loads(e.description)["triggered_by"]["id"] for e in execs]
    assert sorted(by_trigger) == sorted(ids)
    assert all(_row(local.rt.db, t).next_execution_time > now for t in ids)


def test_a_stale_read_does_not_fire_again(local):
    # What a second scheduler holds when it read the row before the first
    # one moved it on (PostgreSQL without the row lock, READ COMMITTED).
    wf = local.echo("cron_stale")
    now = time.time()
    tid = _trigger(local.rt.db, wf, due=now - 1)
    stale = _row(local.rt.db, tid)
    assert len(cron.fire_due(local.rt.db, now)[0]) == 1
    with local.rt.db.tx() as conn:
        assert cron._fire_one(conn, stale, now) is None
    assert len(local.executions("cron_stale")) == 1


def test_due_query_locks_and_skips_locked_rows_on_postgresql():
    q = sa.select(store.CT).where(store.CT.c.next_execution_time <= 1.0).with_for_update(skip_locked=True)
    sql = str(q.compile(dialect=postgresql.dialect()))
    assert "FOR UPDATE SKIP LOCKED" in sql
    # and the store asks for it whenever the caller says so
    captured = []

    class Conn:
        def execute(self, stmt):
            captured.append(str(stmt.compile(dialect=postgresql.dialect())))

            class R:
                def fetchall(self):
                    return []
            return R()

    store.due_cron(Conn(), 1.0, 10, skip_locked=True)
    assert "FOR UPDATE SKIP LOCKED" in captured[0]


def test_two_schedulers_on_postgresql_never_double_fire(pg_url):
    url = pg_url
    from levante.cli.server import build_runtime
    from fastapi.testclient import TestClient
    from levante.api.app import create_app

    rt = build_runtime(url)
    try:
        api = TestClient(create_app(rt))
        name = f"cron_pg_{uuid.uuid4().hex[:8]}"
        r = api.post("/v2/workflows", content=f"version: '2.0'\n{name}:\n  tasks:\n    t:\n"
                                              "      action: std.noop\n",
                     headers={"content-type": "text/plain"})
        assert r.status_code == 201, r.text
        wf = r.json()["workflows"][0]
        now = time.time()
        ids = [_trigger(rt.db, wf, due=now - 1, pattern="* * * * * */1") for _ in range(30)]
        dbs = [Database(url) for _ in range(3)]
        out: list[str] = []
        lock = threading.Lock()
        barrier = threading.Barrier(len(dbs))

        def scheduler(db):
            barrier.wait()
            for _ in range(6):
                got = cron.fire_due(db, now, limit=5)[0]
                with lock:
                    out.extend(got)

        threads = [threading.Thread(target=scheduler, args=(db,)) for db in dbs]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert len(out) == len(set(out)) == len(ids)
        with rt.db.tx() as conn:
            conn.execute(store.CT.delete().where(store.CT.c.id.in_(ids)))
        for db in dbs:
            db.dispose()
    finally:
        rt.db.dispose()


def test_a_trigger_whose_workflow_is_gone_leaves_an_error_execution(local):
    wf = local.echo("cron_gone")
    now = time.time()
    tid = _trigger(local.rt.db, wf, due=now - 1)
    # As in Mistral, the API refuses to delete a workflow that triggers use...
    r = local.api.delete(f"/v2/workflows/{wf['id']}")
    assert r.status_code == 400, r.text
    assert "Can't delete workflow that has cron triggers associated" in r.json()["faultstring"]
    # ...but the definition can still vanish underneath (e.g. removed in the
    # database by hand): the trigger then leaves an execution saying why.
    with local.rt.db.tx() as conn:
        conn.execute(sa.text("DELETE FROM workflow_definitions WHERE id = :i"), {"i": wf["id"]})
    started, _ = cron.fire_due(local.rt.db, now)
    assert len(started) == 1
    (ex,) = local.executions("cron_gone")
    assert ex.state == "ERROR" and "Workflow not found" in ex.state_info
    assert _row(local.rt.db, tid).next_execution_time > now


def test_trigger_params_reach_the_execution(local):
    wf = local.echo("cron_params")
    body = {"name": "p1", "workflow_id": wf["id"], "pattern": "* * * * *",
            "workflow_params": json.dumps({"env": {"k": "v"}, "execution_id": "must-not-stick"})}
    r = local.api.post("/v2/cron_triggers", json=body)
    assert r.status_code == 201, r.text
    row = _row(local.rt.db, r.json()["id"])
    started, _ = cron.fire_due(local.rt.db, row.next_execution_time)
    (ex,) = local.executions("cron_params")
    assert ex.id == started[0] != "must-not-stick"
    assert params(ex)["env"] == {"k": "v"}


def test_fired_executions_run_with_the_runtime(local):
    wf = local.echo("cron_run")
    local.start()
    now = time.time()
    _trigger(local.rt.db, wf, due=now - 1, remaining=1, wf_input={"x": 3})
    local.rt.scheduler.wake.set()
    deadline = time.time() + 10
    while not local.executions("cron_run"):
        assert time.time() < deadline, "the scheduler did not fire the due trigger"
        time.sleep(0.05)
    (ex,) = local.executions("cron_run")
    done = local.wait_final(ex.id)
    assert done.state == "SUCCESS"
