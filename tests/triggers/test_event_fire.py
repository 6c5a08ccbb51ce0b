"""Event triggers in process: fire_event (the queues' entry point) and the
execution event listener."""
from __future__ import annotations

import json
import os
import time

import pytest

from levante.triggers import MAX_DEPTH, execution_depth, fire_event
from tests.triggers.helpers import Local, params

READER = """---
version: '2.0'
{name}:
  tasks:
    t1:
      action: std.echo output=<% execution().params.event_params %>
      publish:
        event: <% task().result %>
  output:
    event: <% $.event %>
"""


@pytest.fixture
def local(tmp_path):
    loc = Local(os.path.join(tmp_path, "levante.sqlite"))
    yield loc
    loc.stop()


def _event_trigger(local: Local, wf: dict, exchange: str, topic: str, event: str, **extra) -> dict:
    body = {"name": f"on_{topic}_{event}", "workflow_id": wf["id"], "exchange": exchange,
            "topic": topic, "event": event, **extra}
    r = local.api.post("/v2/event_triggers", json=body)
    assert r.status_code == 201, r.text
    return r.json()


def test_fire_event_starts_the_workflow_with_the_payload(local):
    wf = local.workflow(READER.format(name="on_order"))
    trig = _event_trigger(local, wf, "queues", "orders", "MESSAGE_POSTED")
    payload = {"queue": "orders", "message_id": "m1", "body": {"item": "tea", "qty": 2}}
    with local.rt.db.tx() as conn:
        started = fire_event(conn, "queues", "orders", "MESSAGE_POSTED", payload)
    assert len(started) == 1
    (ex,) = local.executions("on_order")
    assert ex.id == started[0]
    assert params(ex)["event_params"] == payload
    assert params(ex)["trigger_depth"] == 1
    assert json.loads(ex.description)["triggered_by"] == {
        "type": "event_trigger", "id": trig["id"], "name": trig["name"]}
    local.start()
    done = local.wait_final(ex.id)
    assert done.state == "SUCCESS", done.state_info
    assert json.loads(done.output) == {"event": payload}


def test_fire_event_matches_exchange_topic_and_event_only(local):
    wf = local.echo("on_other")
    _event_trigger(local, wf, "queues", "orders", "MESSAGE_POSTED")
    with local.rt.db.tx() as conn:
        assert fire_event(conn, "queues", "invoices", "MESSAGE_POSTED", {}) == []
        assert fire_event(conn, "queues", "orders", "SOMETHING_ELSE", {}) == []
        assert fire_event(conn, "levante", "orders", "MESSAGE_POSTED", {}) == []
    assert local.executions("on_other") == []


def test_a_star_trigger_gets_every_event_of_its_topic(local):
    wf = local.echo("on_any")
    _event_trigger(local, wf, "queues", "jobs", "*")
    with local.rt.db.tx() as conn:
        assert len(fire_event(conn, "queues", "jobs", "A", {})) == 1
        assert len(fire_event(conn, "queues", "jobs", "B", {})) == 1
    assert len(local.executions("on_any")) == 2


def test_fire_event_rolls_back_with_the_caller(local):
    wf = local.echo("on_rollback")
    _event_trigger(local, wf, "queues", "q1", "MESSAGE_POSTED")
    with pytest.raises(RuntimeError):
        with local.rt.db.tx() as conn:
            assert len(fire_event(conn, "queues", "q1", "MESSAGE_POSTED", {})) == 1
            raise RuntimeError("the message was not stored after all")
    assert local.executions("on_rollback") == []


def test_fire_event_stops_deep_chains(local):
    wf = local.echo("on_deep")
    _event_trigger(local, wf, "queues", "q2", "MESSAGE_POSTED")
    with local.rt.db.tx() as conn:
        assert fire_event(conn, "queues", "q2", "MESSAGE_POSTED", {}, depth=MAX_DEPTH) == []
        (started,) = fire_event(conn, "queues", "q2", "MESSAGE_POSTED", {}, depth=MAX_DEPTH - 1)
        assert execution_depth(conn, started) == MAX_DEPTH
        assert execution_depth(conn, "no-such-execution") == 0


def test_a_bad_input_gives_an_error_execution_not_a_lost_event(local):
    wf = local.workflow("---\nversion: '2.0'\nstrict:\n  input: [needed]\n  tasks:\n    t:\n"
                        "      action: std.noop\n")
    _event_trigger(local, wf, "queues", "q3", "MESSAGE_POSTED", workflow_input=json.dumps({"needed": 1}))
    # The workflow changes under the trigger: its input no longer fits.
    r = local.api.put("/v2/workflows", content="---\nversion: '2.0'\nstrict:\n  input: [other]\n"
                      "  tasks:\n    t:\n      action: std.noop\n", headers={"content-type": "text/plain"})
    assert r.status_code == 200, r.text
    with local.rt.db.tx() as conn:
        (started,) = fire_event(conn, "queues", "q3", "MESSAGE_POSTED", {})
    (ex,) = local.executions("strict")
    assert ex.id == started and ex.state == "ERROR" and "Invalid input" in ex.state_info


def test_workflow_success_starts_the_triggered_workflow(local):
    local.echo("wf_a")
    b = local.workflow(READER.format(name="wf_b"))
    trig = _event_trigger(local, b, "levante", "executions.wf_a", "WORKFLOW_SUCCEEDED")
    local.start()
    r = local.api.post("/v2/executions", json={"workflow_name": "wf_a"})
    assert r.status_code == 201, r.text
    a_id = r.json()["id"]
    assert local.wait_final(a_id).state == "SUCCESS"
    deadline = time.time() + 10
    while not local.executions("wf_b"):
        assert time.time() < deadline, "wf_b was not started"
        time.sleep(0.05)
    (bx,) = local.executions("wf_b")
    done = local.wait_final(bx.id)
    assert done.state == "SUCCESS", done.state_info
    event = json.loads(done.output)["event"]
    assert event["event"] == "WORKFLOW_SUCCEEDED"
    assert event["execution_id"] == a_id and event["workflow_name"] == "wf_a"
    assert json.loads(bx.description)["triggered_by"]["id"] == trig["id"]
    # wf_b's own success does not match topic executions.wf_a: nothing more.
    time.sleep(0.5)
    assert len(local.executions("wf_b")) == 1


def test_a_self_triggering_workflow_stops_at_the_depth_limit(local):
    wf = local.echo("wf_loop")
    _event_trigger(local, wf, "mistral", "executions.wf_loop", "WORKFLOW_SUCCEEDED")
    local.start()
    r = local.api.post("/v2/executions", json={"workflow_name": "wf_loop"})
    assert r.status_code == 201, r.text
    deadline = time.time() + 60
    while True:
        rows = local.executions("wf_loop")
        if len(rows) == MAX_DEPTH + 1 and all(x.state == "SUCCESS" for x in rows):
            break
        assert time.time() < deadline, f"{len(rows)} executions"
        time.sleep(0.1)
    time.sleep(0.5)
    rows = local.executions("wf_loop")
    assert len(rows) == MAX_DEPTH + 1
    assert sorted(params(x).get("trigger_depth", 0) for x in rows) == list(range(MAX_DEPTH + 1))


def test_task_events_and_sub_workflows_fire_too(local):
    local.echo("child")
    local.workflow("---\nversion: '2.0'\nparent:\n  tasks:\n    call:\n      workflow: child\n")
    target = local.echo("counted")
    _event_trigger(local, target, "levante", "executions.child", "WORKFLOW_SUCCEEDED")
    _event_trigger(local, target, "levante", "executions.parent", "TASK_SUCCEEDED")
    local.start()
    r = local.api.post("/v2/executions", json={"workflow_name": "parent"})
    assert local.wait_final(r.json()["id"]).state == "SUCCESS"
    deadline = time.time() + 10
    while len(local.executions("counted")) < 2:
        assert time.time() < deadline, "expected one execution per matching event"
        time.sleep(0.05)
    time.sleep(0.3)
    rows = local.executions("counted")
    assert len(rows) == 2
    kinds = sorted(params(x)["event_params"]["event"] for x in rows)
    assert kinds == ["TASK_SUCCEEDED", "WORKFLOW_SUCCEEDED"]


def test_workflows_with_triggers_are_reported_not_deletable(local):
    from levante.errors import BadRequest
    from levante.triggers import check_workflow_deletable

    wf = local.echo("guarded")
    with local.rt.db.read() as conn:
        check_workflow_deletable(conn, wf["id"], "guarded")       # no trigger yet: fine
    trig = _event_trigger(local, wf, "queues", "gq", "MESSAGE_POSTED")
    with local.rt.db.read() as conn:
        with pytest.raises(BadRequest) as info:
            check_workflow_deletable(conn, wf["id"], "guarded")
    assert "event triggers associated" in str(info.value) and trig["id"] in str(info.value)
    r = local.api.post("/v2/cron_triggers", json={"name": "g", "workflow_id": wf["id"],
                                                  "pattern": "* * * * *"})
    assert r.status_code == 201, r.text
    with local.rt.db.read() as conn:
        with pytest.raises(BadRequest) as info:
            check_workflow_deletable(conn, wf["id"], "guarded")
    assert "cron triggers associated" in str(info.value) and r.json()["id"] in str(info.value)


def test_a_message_posted_to_a_queue_starts_the_triggered_workflow(local):
    wf = local.workflow(READER.format(name="on_ticket"))
    _event_trigger(local, wf, "queues", "tickets", "MESSAGE_POSTED")
    local.start()
    r = local.api.post("/v2/queues/tickets/messages", json={"messages": [{"body": {"id": 7}, "ttl": 60}]})
    assert r.status_code == 201, r.text
    (ex,) = local.executions("on_ticket")
    done = local.wait_final(ex.id)
    assert done.state == "SUCCESS", done.state_info
    event = json.loads(done.output)["event"]
    assert event["queue"] == "tickets" and event["body"] == {"id": 7}
    assert event["message_id"] == r.json()["resources"][0].rsplit("/", 1)[1]
    # A message in another queue starts nothing.
    local.api.post("/v2/queues/other/messages", json={"messages": [{"body": 1}]})
    assert len(local.executions("on_ticket")) == 1
