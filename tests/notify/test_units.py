"""The pieces without a server: targets, the stream tracker, after-commit, claiming."""
from __future__ import annotations

import json
import time

import pytest

from levante.notify import aftercommit, live, targets
from levante.store import jobs
from levante.store import notifications as store
from levante.store.db import Database


# ------------------------------------------------------------------ targets

def test_targets_accept_mistral_publishers():
    value = [{"type": "webhook", "url": "https://example.com/h", "headers": {"X-A": "1"},
              "event_types": ["WORKFLOW_SUCCEEDED", "TASK_FAILED", "WORKFLOW_RERUN"]},
             {"type": "noop"}]
    assert targets.check(value) is value
    assert targets.check(None) == []


def test_server_default_parsing():
    assert targets.parse_default(None) == []
    assert targets.parse_default('{"type": "webhook", "url": "http://h"}') == [
        {"type": "webhook", "url": "http://h"}]
    with pytest.raises(targets.TargetError, match="not valid JSON"):
        targets.parse_default("[{")


def test_event_types_filter():
    assert targets.wants({"type": "webhook"}, "TASK_LAUNCHED")
    assert targets.wants({"event_types": []}, "TASK_LAUNCHED")
    assert not targets.wants({"event_types": ["WORKFLOW_FAILED"]}, "TASK_LAUNCHED")
    assert not targets.wants({"event_types": "TASK_LAUNCHED"}, "TASK_LAUNCHED")   # stored junk: no


# ------------------------------------------------------------------ tracker

def snapshot(state="RUNNING", tasks=(), version=1):
    return {"id": "ex", "workflow_name": "wf", "state": state, "state_info": None,
            "root_execution_id": None, "task_execution_id": None, "created_at": None,
            "updated_at": None, "version": version, "_updated": 0.0,
            "tasks": [{"id": i, "name": n, "state": s, "state_info": None, "_updated": 0.0}
                      for i, n, s in tasks]}


def ev(kind, state, task=None):
    d = {"event": kind, "execution_id": "ex", "workflow_name": "wf", "state": state}
    if task:
        d.update(task_id=task, task_name=task)
    return d


def test_tracker_sends_each_change_once_from_either_source():
    tr = live.Tracker(snapshot(tasks=[("a", "a", "RUNNING")]))
    assert "version" not in tr.first and "_updated" not in tr.first["tasks"][0]
    assert tr.accept(ev("TASK_LAUNCHED", "RUNNING", "a")) == []          # in the snapshot already
    out = tr.reconcile(snapshot(tasks=[("a", "a", "SUCCESS"), ("b", "b", "RUNNING")], version=3))
    assert [(e["event"], e["task_name"]) for e in out] == [("TASK_SUCCEEDED", "a"), ("TASK_LAUNCHED", "b")]
    # The hub delivers the same changes late: nothing new.
    assert tr.accept(ev("TASK_SUCCEEDED", "SUCCESS", "a")) == []
    assert tr.accept(ev("TASK_LAUNCHED", "RUNNING", "b")) == []
    assert tr.accept(ev("TASK_SUCCEEDED", "SUCCESS", "b"))
    assert not tr.done
    assert tr.accept(ev("WORKFLOW_SUCCEEDED", "SUCCESS"))
    assert tr.done
    assert tr.reconcile(snapshot("SUCCESS", [("a", "a", "SUCCESS"), ("b", "b", "SUCCESS")])) == []


def test_tracker_orders_a_polled_workflow_end_after_its_tasks():
    tr = live.Tracker(snapshot("IDLE"))
    out = tr.reconcile(snapshot("SUCCESS", [("a", "a", "SUCCESS")]))
    assert [e["event"] for e in out] == ["TASK_SUCCEEDED", "WORKFLOW_SUCCEEDED"]
    tr = live.Tracker(snapshot("IDLE"))
    out = tr.reconcile(snapshot("RUNNING", [("a", "a", "RUNNING")]))
    assert [e["event"] for e in out] == ["WORKFLOW_LAUNCHED", "TASK_LAUNCHED"]


def test_tracker_ignores_other_executions_and_waiting_tasks_launch():
    tr = live.Tracker(snapshot(tasks=[("j", "join", "WAITING")]))
    assert tr.accept(dict(ev("TASK_SUCCEEDED", "SUCCESS", "x"), execution_id="other")) == []
    assert tr.accept(ev("TASK_LAUNCHED", "RUNNING", "j"))


# ------------------------------------------------------------------ after commit

@pytest.fixture
def db(tmp_path):
    d = Database(f"sqlite:///{tmp_path / 'n.sqlite'}")
    d.upgrade()
    aftercommit.install(d)
    yield d
    d.dispose()


def test_after_commit_runs_only_what_committed(db):
    ran = []
    with db.tx() as conn:
        aftercommit.defer(conn, lambda: ran.append("kept"))
        sp = conn.begin_nested()
        aftercommit.defer(conn, lambda: ran.append("savepoint rolled back"))
        sp.rollback()
        sp = conn.begin_nested()
        aftercommit.defer(conn, lambda: ran.append("savepoint released"))
        sp.commit()
        assert ran == []        # not before the commit
    assert ran == ["kept", "savepoint released"]
    ran.clear()
    with pytest.raises(RuntimeError):
        with db.tx() as conn:
            aftercommit.defer(conn, lambda: ran.append("rolled back"))
            raise RuntimeError
    with db.tx() as conn:
        pass
    assert ran == []


# ------------------------------------------------------------------ claiming

def test_claim_keeps_each_key_in_order(db):
    now = time.time()
    a = store.stream_key("ex1", {"type": "webhook", "url": "http://a"})
    b = store.stream_key("ex1", {"type": "webhook", "url": "http://b"})
    assert a != b and a == store.stream_key("ex1", {"url": "http://a", "type": "webhook"})
    with db.tx() as conn:
        jobs.enqueue_many(conn, [(store.NOTIFY, k, {"n": i}, 0.0) for i, k in enumerate([a, b, a, b, a])],
                          now=now)
        chains = store.claim(conn, now, limit=100, max_chain=10, skip_locked=False)
        assert {k: [json.loads(r.payload)["n"] for r in rows] for k, rows in chains.items()} == {
            a: [0, 2, 4], b: [1, 3]}
        # The head of ``a`` waits for a retry: nothing of ``a`` may go, ``b`` still may.
        store.retry_at(conn, chains[a][0].id, now + 5)
        chains = store.claim(conn, now, limit=100, max_chain=10, skip_locked=False)
        assert list(chains) == [b]
        assert store.next_due(conn, now) == pytest.approx(now)      # b is due
        store.lease(conn, [r.id for r in chains[b]], "me", now + 60)
        assert store.claim(conn, now, limit=100, max_chain=10, skip_locked=False) == {}
        assert store.next_due(conn, now) == pytest.approx(now + 5)  # only a's head counts
        # A limited claim never takes a job without the ones before it.
        store.release(conn, [r.id for r in chains[b]])
        chains = store.claim(conn, now, limit=1, max_chain=10, skip_locked=False)
        assert [json.loads(r.payload)["n"] for r in chains[b]] == [1]
        assert store.pending(conn) == 5
