"""Webhook notifications of a real server: the ``notify`` parameter and the server default."""
from __future__ import annotations

import json
import subprocess
import sys
import time

import httpx
import pytest

from tests.conftest import Server, free_port
from tests.notify.helpers import Receiver, create_workflow, events_of, finish, start, unique


OPEN = {"LEVANTE_HTTP_DENIED_CIDRS": ""}     # the receivers are on loopback, denied by default


def open_server(workdir, **kwargs) -> Server:
    """A server whose egress policy lets webhooks reach the loopback receivers."""
    with pytest.MonkeyPatch.context() as mp:
        for k, v in OPEN.items():
            mp.setenv(k, v)
        return Server(workdir, **kwargs).start()


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    s = open_server(tmp_path_factory.mktemp("notify-server"))
    yield s
    s.stop()


@pytest.fixture
def rcv():
    with Receiver() as r:
        yield r


def two_steps(name: str) -> str:
    return f"""
version: '2.0'
{name}:
  tasks:
    first:
      action: std.echo output=1
      on-success: second
    second:
      action: std.echo output=2
"""


def expected(name: str) -> list[tuple[str, str]]:
    return [("WORKFLOW_LAUNCHED", name), ("TASK_LAUNCHED", "first"), ("TASK_SUCCEEDED", "first"),
            ("TASK_LAUNCHED", "second"), ("TASK_SUCCEEDED", "second"), ("WORKFLOW_SUCCEEDED", name)]


def test_webhook_gets_every_event_in_order_with_mistral_fields_and_headers(srv, rcv):
    name = unique()
    create_workflow(srv.url, two_steps(name))
    ex = start(srv.url, name, {"notify": [{"type": "webhook", "url": rcv.url + "/all",
                                           "headers": {"X-Token": "s3cret"}}]})
    assert finish(srv.url, ex["id"])["state"] == "SUCCESS"
    rcv.wait_for(lambda: len(rcv.bodies("/all")) >= 6)
    time.sleep(0.3)
    bodies = rcv.bodies("/all")
    assert events_of(bodies) == expected(name)

    wf = bodies[-1]
    assert wf["id"] == ex["id"] and wf["state"] == "SUCCESS" and wf["workflow_name"] == name
    for key in ("name", "workflow_namespace", "workflow_id", "state_info", "project_id",
                "task_execution_id", "root_execution_id", "created_at", "updated_at"):
        assert key in wf, key
    assert wf["workflow_id"] == ex["workflow_id"] and wf["root_execution_id"] is None

    task = bodies[2]
    assert task["name"] == "first" and task["state"] == "SUCCESS"
    assert task["workflow_execution_id"] == ex["id"] and task["type"] == "ACTION"
    for key in ("id", "workflow_name", "workflow_namespace", "workflow_id", "state_info",
                "project_id", "created_at", "updated_at", "started_at", "finished_at"):
        assert key in task, key
    assert task["finished_at"] is not None

    for call in rcv.calls:
        assert call["headers"].get("X-Token") == "s3cret"
        assert call["headers"].get("Content-Type") == "application/json"


def test_event_types_filter(srv, rcv):
    name = unique()
    create_workflow(srv.url, two_steps(name))
    ex = start(srv.url, name, {"notify": [
        {"type": "webhook", "url": rcv.url + "/end", "event_types": ["WORKFLOW_SUCCEEDED"]},
        {"type": "webhook", "url": rcv.url + "/tasks", "event_types": ["TASK_SUCCEEDED"]},
        {"type": "noop"}]})
    finish(srv.url, ex["id"])
    rcv.wait_for(lambda: len(rcv.bodies("/end")) == 1 and len(rcv.bodies("/tasks")) == 2)
    time.sleep(0.5)
    assert events_of(rcv.bodies("/end")) == [("WORKFLOW_SUCCEEDED", name)]
    assert events_of(rcv.bodies("/tasks")) == [("TASK_SUCCEEDED", "first"), ("TASK_SUCCEEDED", "second")]


def test_failing_receiver_gets_the_events_after_retries_in_order(srv, rcv):
    name = unique()
    create_workflow(srv.url, two_steps(name))
    rcv.fail_first["/flaky"] = 2
    ex = start(srv.url, name, {"notify": [{"type": "webhook", "url": rcv.url + "/flaky"}]})
    finish(srv.url, ex["id"])
    rcv.wait_for(lambda: len(rcv.bodies("/flaky")) >= 6, timeout=30)
    assert rcv.tries["/flaky"] == 8
    assert events_of(rcv.bodies("/flaky")) == expected(name)
    # The first delivery waited for its retries (1 s, then 2 s) and the others behind it.
    got = [c["at"] for c in rcv.calls if c["path"] == "/flaky"]
    assert got[0] - ex_created(srv, ex) >= 2.5


def ex_created(srv, ex) -> float:
    import calendar

    return calendar.timegm(time.strptime(ex["created_at"], "%Y-%m-%d %H:%M:%S"))


def test_dead_receiver_does_not_slow_the_workflow(srv):
    name = unique()
    create_workflow(srv.url, two_steps(name))
    dead = f"http://127.0.0.1:{free_port()}/nobody"
    t0 = time.time()
    ex = start(srv.url, name, {"notify": [{"type": "webhook", "url": dead}]})
    assert finish(srv.url, ex["id"])["state"] == "SUCCESS"
    assert time.time() - t0 < 3


def test_failed_workflow_reports_failure_with_state_info(srv, rcv):
    name = unique()
    create_workflow(srv.url, f"""
version: '2.0'
{name}:
  tasks:
    boom:
      action: std.fail
""")
    ex = start(srv.url, name, {"notify": [{"type": "webhook", "url": rcv.url + "/fail"}]})
    assert finish(srv.url, ex["id"])["state"] == "ERROR"
    rcv.wait_for(lambda: any(b["event"] == "WORKFLOW_FAILED" for b in rcv.bodies("/fail")))
    bodies = rcv.bodies("/fail")
    assert [b["event"] for b in bodies] == ["WORKFLOW_LAUNCHED", "TASK_LAUNCHED", "TASK_FAILED",
                                            "WORKFLOW_FAILED"]
    assert bodies[2]["state"] == "ERROR" and bodies[2]["state_info"]
    assert "boom" in bodies[3]["state_info"]


def test_sub_workflow_inherits_notify(srv, rcv):
    parent, child = unique("parent"), unique("child")
    create_workflow(srv.url, f"""
version: '2.0'
{child}:
  tasks:
    inner:
      action: std.echo output=1
{parent}:
  tasks:
    call:
      workflow: {child}
""")
    ex = start(srv.url, parent, {"notify": [{"type": "webhook", "url": rcv.url + "/tree"}]})
    assert finish(srv.url, ex["id"])["state"] == "SUCCESS"
    rcv.wait_for(lambda: any(b["event"] == "WORKFLOW_SUCCEEDED" and b["id"] == ex["id"]
                             for b in rcv.bodies("/tree")))
    bodies = rcv.bodies("/tree")
    sub = [b for b in bodies if b.get("workflow_name") == child and "workflow_execution_id" not in b]
    assert [b["event"] for b in sub] == ["WORKFLOW_LAUNCHED", "WORKFLOW_SUCCEEDED"]
    assert sub[0]["root_execution_id"] == ex["id"] and sub[0]["task_execution_id"]
    inner = [b for b in bodies if b.get("name") == "inner"]
    assert [b["event"] for b in inner] == ["TASK_LAUNCHED", "TASK_SUCCEEDED"]
    assert inner[0]["workflow_execution_id"] == sub[0]["id"]


@pytest.mark.parametrize("notify, message", [
    ({"type": "webhook"}, "must be a list"),
    ([{"type": "email", "url": "http://x"}], "'params.notify[0].type' must be one of"),
    ([{"type": "webhook", "url": "ftp://x"}], "'params.notify[0].url'"),
    ([{"type": "webhook", "url": "http://x", "event_types": ["TASK_DONE"]}], "unknown event"),
    ([{"type": "webhook", "url": "http://x", "headers": {"A": 1}}], "headers"),
])
def test_bad_notify_is_refused(srv, notify, message):
    name = unique()
    create_workflow(srv.url, two_steps(name))
    r = httpx.post(f"{srv.url}/executions", json={"workflow_name": name,
                                                  "params": json.dumps({"notify": notify})})
    assert r.status_code == 400, r.text
    assert message in r.json()["faultstring"]


def test_server_default_from_env_is_merged(tmp_path, monkeypatch, rcv):
    monkeypatch.setenv("LEVANTE_HTTP_DENIED_CIDRS", "")
    monkeypatch.setenv("LEVANTE_NOTIFY", json.dumps(
        [{"type": "webhook", "url": rcv.url + "/default", "event_types": ["WORKFLOW_SUCCEEDED"]}]))
    s = Server(tmp_path).start()
    try:
        name = unique()
        create_workflow(s.url, two_steps(name))
        plain = start(s.url, name)
        own = start(s.url, name, {"notify": [{"type": "webhook", "url": rcv.url + "/own",
                                              "event_types": ["WORKFLOW_LAUNCHED"]}]})
        finish(s.url, plain["id"])
        finish(s.url, own["id"])
        rcv.wait_for(lambda: len(rcv.bodies("/default")) == 2 and len(rcv.bodies("/own")) == 1)
        assert sorted(b["id"] for b in rcv.bodies("/default")) == sorted([plain["id"], own["id"]])
        assert rcv.bodies("/own")[0]["id"] == own["id"]
        # The default is the server's: it does not show in the execution's params.
        assert "notify" not in json.loads(httpx.get(f"{s.url}/executions/{plain['id']}").json()["params"])
    finally:
        s.stop()


def test_server_refuses_a_bad_default(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "levante", "server", "--port", str(free_port()),
                           "--db", f"sqlite:///{tmp_path / 'x.sqlite'}", "--notify", '[{"type": "web"}]'],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert "--notify (LEVANTE_NOTIFY)" in proc.stderr and "type" in proc.stderr


def test_pending_notifications_survive_a_crash(tmp_path):
    port = free_port()      # nobody listens there yet
    s = open_server(tmp_path)
    try:
        name = unique()
        create_workflow(s.url, two_steps(name))
        ex = start(s.url, name, {"notify": [{"type": "webhook", "url": f"http://127.0.0.1:{port}/late"}]})
        finish(s.url, ex["id"])
        time.sleep(0.3)
    finally:
        s.kill()
    with Receiver(port) as rcv:
        again = open_server(tmp_path, db_url=s.db_url)
        try:
            rcv.wait_for(lambda: len(rcv.bodies("/late")) >= 6, timeout=30)
            assert events_of(rcv.bodies("/late")) == expected(name)
        finally:
            again.stop()


# ---------------------------------------------------------------- egress policy

@pytest.fixture(scope="module")
def default_srv(tmp_path_factory):
    """A server with the default egress policy (loopback, link-local... denied)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("LEVANTE_HTTP_DENIED_CIDRS", raising=False)
        s = Server(tmp_path_factory.mktemp("notify-default")).start()
    yield s
    s.stop()


@pytest.mark.parametrize("url, denied", [
    ("http://127.0.0.1:{port}/hook", "127.0.0.0/8"),
    ("http://169.254.169.254/latest/meta-data/", "169.254.0.0/16"),
    ("http://0.0.0.0:{port}/hook", "0.0.0.0/8"),
    ("http://[::ffff:127.0.0.1]:{port}/hook", "127.0.0.0/8"),
    ("http://localhost:{port}/hook", "127.0.0.0/8"),
])
def test_webhook_to_a_denied_address_is_refused(default_srv, rcv, url, denied):
    """Reproducer: params.notify to loopback or the metadata service was POSTed."""
    name = unique()
    create_workflow(default_srv.url, two_steps(name))
    url = url.format(port=rcv.url.rsplit(":", 1)[1])
    r = httpx.post(f"{default_srv.url}/executions", json={
        "workflow_name": name, "params": json.dumps({"notify": [{"type": "webhook", "url": url}]})})
    assert r.status_code == 400, r.text
    msg = r.json()["faultstring"]
    assert "'params.notify[0].url': Refused to notify" in msg and f"denied range {denied}" in msg
    assert "http_denied_cidrs" in msg
    # Still serving; nothing reached the receiver.
    ex = start(default_srv.url, name)
    assert finish(default_srv.url, ex["id"])["state"] == "SUCCESS"
    assert rcv.calls == []


def test_server_default_webhook_to_a_denied_address_is_dropped_not_retried(tmp_path, monkeypatch, rcv):
    monkeypatch.delenv("LEVANTE_HTTP_DENIED_CIDRS", raising=False)
    monkeypatch.setenv("LEVANTE_NOTIFY", json.dumps({"type": "webhook", "url": rcv.url + "/all"}))
    s = Server(tmp_path).start()
    try:
        name = unique()
        create_workflow(s.url, two_steps(name))
        ex = start(s.url, name)
        assert finish(s.url, ex["id"])["state"] == "SUCCESS"
        log = s.log.read_text()
        deadline = time.time() + 10
        while log.count("dropped: Refused to notify") < 6 and time.time() < deadline:
            time.sleep(0.1)
            log = s.log.read_text()
        assert log.count("dropped: Refused to notify") == 6, log[-3000:]     # one per event, no retry
        assert "denied range 127.0.0.0/8" in log and "retry in" not in log
        assert rcv.calls == []
    finally:
        s.stop()
