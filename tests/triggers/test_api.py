"""Cron and event triggers through python-mistralclient against a live server."""
from __future__ import annotations

import datetime
import json
import time

import pytest

from tests.api.helpers import api_error, as_json, create_wf, finish, unique, wait_for
from tests.triggers.helpers import bring_forward

ECHO = """
input:
  - x: 0
tasks:
  t1:
    action: std.echo output=<% $.x %>
    publish:
      got: <% task().result %>
"""

READER = """
tasks:
  t1:
    action: std.echo output=<% execution().params.event_params %>
    publish:
      event: <% task().result %>
"""


def _utc(delta_s: float, fmt: str = "%Y-%m-%d %H:%M") -> str:
    t = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=delta_s)
    return t.strftime(fmt)


# ---------------------------------------------------------------- cron triggers: resource

def test_cron_trigger_crud(mistral):
    wf = unique()
    create_wf(mistral, wf, ECHO)
    name = unique("cron")
    first = _utc(3 * 3600)
    t = mistral.cron_triggers.create(name, wf, {"x": 5}, {"env": {"a": 1}}, "*/5 * * * *", first, 3)
    assert t.name == name and t.workflow_name == wf and t.pattern == "*/5 * * * *"
    assert as_json(t.workflow_input) == {"x": 5}
    assert as_json(t.workflow_params) == {"env": {"a": 1}}
    assert t.remaining_executions == 3
    assert t.first_execution_time == first + ":00"
    assert t.next_execution_time == first + ":00"
    assert t.scope == "private" and t.project_id and t.created_at
    assert len(t.workflow_id) == 36

    got = mistral.cron_triggers.get(name)
    assert got.id == t.id and got.next_execution_time == t.next_execution_time
    assert mistral.cron_triggers.get(t.id).name == name          # by id too
    listed = {x.name: x for x in mistral.cron_triggers.list()}
    assert listed[name].id == t.id
    only = mistral.cron_triggers.list(fields=["name", "pattern"], name=name)
    assert [x.name for x in only] == [name]

    mistral.cron_triggers.delete(name)
    assert api_error(mistral.cron_triggers.get, name).error_code == 404
    err = api_error(mistral.cron_triggers.delete, name)
    assert err.error_code == 404 and "Cron trigger not found" in err.error_message


def test_cron_trigger_by_workflow_id_and_pattern_only(mistral):
    wf = create_wf(mistral, unique(), ECHO)
    t = mistral.cron_triggers.create(unique("cron"), wf.id, pattern="0 0 1 1 *")
    try:
        assert t.workflow_id == wf.id and t.workflow_name == wf.name
        assert t.first_execution_time is None and t.remaining_executions is None
        assert t.next_execution_time.endswith("-01-01 00:00:00")
    finally:
        mistral.cron_triggers.delete(t.name)


def test_cron_trigger_first_time_only_runs_once(mistral):
    wf = unique()
    create_wf(mistral, wf, ECHO)
    t = mistral.cron_triggers.create(unique("cron"), wf, first_time=_utc(7200))
    try:
        assert t.pattern is None and t.remaining_executions == 1
    finally:
        mistral.cron_triggers.delete(t.name)


@pytest.mark.parametrize("kwargs, status, words", [
    (dict(pattern="not a pattern"), 400, "The specified pattern is not valid: not a pattern"),
    (dict(pattern="61 * * * *"), 400, "The specified pattern is not valid"),
    (dict(), 400, "Pattern or first_execution_time must be specified."),
    (dict(first_time="tomorrow"), 400, "does not match format '%Y-%m-%d %H:%M'"),
    (dict(first_time="2001-01-01 00:00"), 400, "first_execution_time must be at least 1 minute in the future."),
    # Mistral 23 wants a first time at least a minute ahead, to the minute, and a count
    # that fits its integer column.
    (dict(first_time=_utc(0)), 400, "first_execution_time must be at least 1 minute in the future."),
    (dict(first_time="2999-01-01 00:00:00"), 400, "unconverted data remains: :00"),
    (dict(first_time="2999-01-01"), 400, "does not match format '%Y-%m-%d %H:%M'"),
    (dict(pattern="* * * * *", count=10**30), 400,
     "Value should be lower or equal to 2147483647"),
    (dict(first_time="2999-01-01 00:00", count=2), 400,
     "Pattern must be provided if count is superior to 1."),
    (dict(pattern="* * * * *", count=0), 400, "remaining_executions"),
    (dict(pattern="0 0 30 2 *"), 400, "never matches"),
])
def test_cron_trigger_validation(mistral, kwargs, status, words):
    wf = unique()
    create_wf(mistral, wf, ECHO)
    err = api_error(mistral.cron_triggers.create, unique("cron"), wf, **kwargs)
    assert err.error_code == status
    assert words in err.error_message


def test_cron_trigger_unknown_workflow_bad_input_and_duplicates(mistral):
    err = api_error(mistral.cron_triggers.create, unique("cron"), unique("missing"), pattern="* * * * *")
    assert err.error_code == 404 and "Workflow not found" in err.error_message

    wf = unique()
    create_wf(mistral, wf, "input: [needed]\ntasks:\n  t:\n    action: std.noop\n")
    err = api_error(mistral.cron_triggers.create, unique("cron"), wf, {"wrong": 1}, pattern="* * * * *")
    assert err.error_code == 400 and "Invalid input" in err.error_message

    name = unique("cron")
    mistral.cron_triggers.create(name, wf, {"needed": 1}, pattern="0 * * * *")
    try:
        err = api_error(mistral.cron_triggers.create, name, wf, {"needed": 2}, pattern="1 * * * *")
        assert err.error_code == 409 and "Duplicate entry for cron trigger" in err.error_message
        # Mistral also refuses the same workflow, input, params and schedule under another name.
        err = api_error(mistral.cron_triggers.create, unique("cron"), wf, {"needed": 1},
                        pattern="0 * * * *")
        assert err.error_code == 409
    finally:
        mistral.cron_triggers.delete(name)


# ---------------------------------------------------------------- cron triggers: firing

@pytest.fixture
def quick_server(fresh_server, monkeypatch):
    """A server whose scheduler looks at the cron triggers every 0.2 s."""
    monkeypatch.setenv("LEVANTE_CRON_TICK", "0.2")
    fresh_server.start()
    from mistralclient.api import client

    return client.client(mistral_url=fresh_server.url)


def test_cron_trigger_fires_at_its_first_time_then_follows_its_pattern(quick_server, fresh_server):
    m = quick_server
    wf = unique()
    create_wf(m, wf, ECHO)
    name = unique("cron")
    at = _utc(120)
    t = m.cron_triggers.create(name, wf, {"x": 42}, None, "* * * * *", at, 2)
    assert t.next_execution_time == at + ":00"
    first = bring_forward(fresh_server, name)
    execs = wait_for(lambda: [e for e in m.executions.list() if e.workflow_name == wf], timeout=15)
    assert len(execs) == 1
    ex = finish(m, execs[0].id)
    assert ex.state == "SUCCESS"
    assert as_json(ex.output) == {"got": 42}
    desc = json.loads(ex.description)
    assert desc["triggered_by"]["type"] == "cron_trigger" and desc["triggered_by"]["id"] == t.id
    # One execution left, at the next whole minute.
    left = m.cron_triggers.get(name)
    assert left.remaining_executions == 1
    assert left.next_execution_time.endswith(":00") and left.next_execution_time > first
    m.cron_triggers.delete(name)


def test_cron_trigger_counts_down_and_disappears(quick_server):
    m = quick_server
    wf = unique()
    create_wf(m, wf, ECHO)
    name = unique("cron")
    m.cron_triggers.create(name, wf, pattern="* * * * * */1", count=3)     # every second, 3 times
    wait_for(lambda: name not in [x.name for x in m.cron_triggers.list()], timeout=15)
    time.sleep(1.5)
    execs = [e for e in m.executions.list() if e.workflow_name == wf]
    assert len(execs) == 3
    for e in execs:
        assert finish(m, e.id).state == "SUCCESS"
    assert api_error(m.cron_triggers.get, name).error_code == 404


# ---------------------------------------------------------------- event triggers

def test_event_trigger_crud(mistral):
    wf = create_wf(mistral, unique(), ECHO)
    topic = f"executions.{wf.name}"
    t = mistral.event_triggers.create(unique("evt"), wf.id, "levante", topic, "WORKFLOW_FAILED",
                                      {"x": 1}, {"env": {"k": "v"}})
    assert (t.exchange, t.topic, t.event, t.workflow_id) == ("levante", topic, "WORKFLOW_FAILED", wf.id)
    assert as_json(t.workflow_input) == {"x": 1}
    assert as_json(t.workflow_params) == {"env": {"k": "v"}}
    assert t.scope == "private" and t.created_at and t.project_id
    got = mistral.event_triggers.get(t.id)
    assert got.name == t.name and got.topic == topic
    assert t.id in [x.id for x in mistral.event_triggers.list()]
    assert [x.id for x in mistral.event_triggers.list(topic=topic)] == [t.id]

    err = api_error(mistral.event_triggers.create, unique("evt"), wf.id, "levante", topic,
                    "WORKFLOW_FAILED", {"x": 1})
    assert err.error_code == 409

    mistral.event_triggers.delete(t.id)
    assert api_error(mistral.event_triggers.get, t.id).error_code == 404
    err = api_error(mistral.event_triggers.delete, t.id)
    assert err.error_code == 404 and "Event trigger not found" in err.error_message


@pytest.mark.parametrize("exchange, topic, event, status, words", [
    ("levante", "workflows", "WORKFLOW_SUCCEEDED", 400, "use 'executions'"),
    ("levante", "executions", "WORKFLOW_EXPLODED", 400, "is not an execution event"),
    ("queues", "", "MESSAGE_POSTED", 400, "must be provided for creating event trigger"),
])
def test_event_trigger_validation(mistral, exchange, topic, event, status, words):
    wf = create_wf(mistral, unique(), ECHO)
    err = api_error(mistral.event_triggers.create, unique("evt"), wf.id, exchange, topic, event)
    assert err.error_code == status
    assert words in err.error_message


def test_event_trigger_unknown_workflow_and_bad_input(mistral):
    err = api_error(mistral.event_triggers.create, unique("evt"), "123e4567-e89b-12d3-a456-426655440000",
                    "levante", "executions", "WORKFLOW_SUCCEEDED")
    assert err.error_code == 404 and "Workflow not found" in err.error_message
    wf = create_wf(mistral, unique(), ECHO)
    err = api_error(mistral.event_triggers.create, unique("evt"), wf.id, "levante", "executions",
                    "WORKFLOW_SUCCEEDED", {"nope": 1})
    assert err.error_code == 400 and "Invalid input" in err.error_message


def test_event_trigger_update(mistral):
    wf = create_wf(mistral, unique(), ECHO)
    t = mistral.event_triggers.create(unique("evt"), wf.id, "queues", unique("q"), "MESSAGE_POSTED")
    try:
        http = mistral.event_triggers.http_client
        resp = http.put(f"/event_triggers/{t.id}", json.dumps({"name": "renamed",
                                                               "workflow_input": '{"x": 9}'}))
        assert resp.status_code == 200, resp.text
        assert resp.json()["name"] == "renamed" and json.loads(resp.json()["workflow_input"]) == {"x": 9}
        resp = http.put(f"/event_triggers/{t.id}", json.dumps({"topic": "other"}))
        assert resp.status_code == 400 and "Can not update fields" in resp.json()["faultstring"]
    finally:
        mistral.event_triggers.delete(t.id)


def test_success_of_workflow_a_starts_workflow_b(mistral):
    a = create_wf(mistral, unique("a"), ECHO)
    b = create_wf(mistral, unique("b"), READER)
    t = mistral.event_triggers.create(unique("evt"), b.id, "levante", f"executions.{a.name}",
                                      "WORKFLOW_SUCCEEDED")
    try:
        ex_a = finish(mistral, mistral.executions.create(a.name, workflow_input={"x": 1}).id)
        assert ex_a.state == "SUCCESS"
        (ex_b,) = wait_for(lambda: [e for e in mistral.executions.list() if e.workflow_name == b.name])
        ex_b = finish(mistral, ex_b.id)
        assert ex_b.state == "SUCCESS", ex_b.state_info
        event = as_json(ex_b.output)["event"]
        assert event["event"] == "WORKFLOW_SUCCEEDED"
        assert event["execution_id"] == ex_a.id and event["workflow_name"] == a.name
        assert as_json(ex_b.params)["event_params"]["execution_id"] == ex_a.id
        assert json.loads(ex_b.description)["triggered_by"] == {
            "type": "event_trigger", "id": t.id, "name": t.name}
        # A failure of A is another event: B is not started for it.
        assert len([e for e in mistral.executions.list() if e.workflow_name == b.name]) == 1
    finally:
        mistral.event_triggers.delete(t.id)
