"""docs/interactive.md runs as the page says: queues, human in the loop,
triggers, notifications and live progress, on a real server.

The page marks its YAML workflows with ``<!-- example: NAME -->`` and its
Python snippets with ``<!-- snippet: NAME -->``; the tests below take them
from the page itself (workflow names and queue names get a unique suffix so
that the tests share the session's server with the rest of the suite) and
drive them the way the page tells a reader to: with the ``levante`` CLI, with
python-mistralclient, with plain HTTP.
"""
from __future__ import annotations

import datetime
import http.server
import io
import json
import re
import subprocess
import sys
import threading
import time
import uuid
from contextlib import redirect_stdout
from pathlib import Path

import httpx
import pytest

from tests.triggers.helpers import bring_forward

DOC = Path(__file__).resolve().parents[2] / "docs" / "interactive.md"
TEXT = DOC.read_text(encoding="utf-8")

_EXAMPLE = re.compile(r"<!--\s*example:\s*(\S+)\s*-->\s*\n```yaml\n(.*?)^```", re.S | re.M)
_SNIPPET = re.compile(r"<!--\s*snippet:\s*(\S+)\s*-->\s*\n```python\n(.*?)^```", re.S | re.M)
EXAMPLES = {m.group(1): m.group(2) for m in _EXAMPLE.finditer(TEXT)}
SNIPPETS = {m.group(1): m.group(2) for m in _SNIPPET.finditer(TEXT)}
ENDED = ("SUCCESS", "ERROR", "CANCELLED")


# ---------------------------------------------------------------- helpers

def unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:8]}"


def workflow_from_doc(url: str, example: str, replace: dict[str, str] | None = None) -> str:
    """Create the page's workflow ``example`` under a fresh name; returns the name."""
    body = EXAMPLES[example]
    name = unique(example)
    body = re.sub(rf"(?m)^{re.escape(example)}:", f"{name}:", body, count=1)
    for old, new in (replace or {}).items():
        assert old in body, f"{old!r} is not in example {example}"
        body = body.replace(old, new)
    create_workflow(url, body)
    return name


def create_workflow(url: str, body: str) -> None:
    r = httpx.post(f"{url}/workflows", content=body.encode(), headers={"content-type": "text/plain"})
    assert r.status_code == 201, r.text


def execution(url: str, exec_id: str) -> dict:
    r = httpx.get(f"{url}/executions/{exec_id}")
    assert r.status_code == 200, r.text
    return r.json()


def wait_state(url: str, exec_id: str, want: tuple[str, ...], timeout: float = 30.0) -> dict:
    deadline = time.time() + timeout
    while True:
        ex = execution(url, exec_id)
        if ex["state"] in want:
            return ex
        assert ex["state"] not in ENDED, f"{exec_id} ended {ex['state']}: {ex.get('state_info')}"
        assert time.time() < deadline, f"{exec_id} still {ex['state']} after {timeout}s"
        time.sleep(0.05)


def output(url: str, exec_id: str) -> dict:
    return json.loads(execution(url, exec_id)["output"])


def start(url: str, workflow: str, wf_input: dict | None = None, params: dict | None = None) -> str:
    r = httpx.post(f"{url}/executions", json={"workflow_name": workflow,
                                             "input": json.dumps(wf_input or {}),
                                             "params": json.dumps(params or {})})
    assert r.status_code == 201, r.text
    return r.json()["id"]


def cli(url: str, *args: str, cwd: Path | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "levante", "--url", url, *args], cwd=cwd,
                          capture_output=True, text=True, timeout=timeout)


def ok(url: str, *args: str, cwd: Path | None = None) -> str:
    proc = cli(url, *args, cwd=cwd)
    assert proc.returncode == 0, f"levante {' '.join(args)}: {proc.stderr}"
    return proc.stdout


def pop_bodies(url: str, queue: str, count: int = 1) -> list:
    """``levante queue-pop QUEUE -f json``: the bodies, decoded as the page shows them."""
    rows = json.loads(ok(url, "queue-pop", queue, "--count", str(count), "-f", "json"))
    return [json.loads(r["Body"]) if r["Body"][:1] in "{[\"" else r["Body"] for r in rows if r["ID"]]


def queue_exists(url: str, queue: str) -> bool:
    names, marker = [], None
    while True:
        params = {"limit": 1000, **({"marker": marker} if marker else {})}
        body = httpx.get(f"{url}/queues", params=params).json()
        names += [q["name"] for q in body["queues"]]
        if not body["links"]:
            return queue in names
        marker = body["queues"][-1]["name"]


def task_id(url: str, exec_id: str, name: str) -> str:
    tasks = httpx.get(f"{url}/executions/{exec_id}/tasks").json()["tasks"]
    (task,) = [t for t in tasks if t["name"] == name]
    return task["id"]


# ---------------------------------------------------------------- the page itself

def test_every_block_is_marked():
    assert len(re.findall(r"(?m)^```yaml$", TEXT)) == len(EXAMPLES) >= 3
    assert len(re.findall(r"(?m)^```python$", TEXT)) == len(SNIPPETS) >= 2
    assert "/work/" not in TEXT and "/tmp/" not in TEXT


def test_queue_defaults_match_the_page():
    from levante.queues import service as s

    assert (s.DEFAULT_MESSAGE_TTL, s.MAX_MESSAGE_TTL, s.DEFAULT_CLAIM_TTL, s.DEFAULT_CLAIM_GRACE,
            s.DEFAULT_LIMIT, s.MAX_LIMIT, s.MAX_MESSAGES_POST_SIZE) == (3600, 1209600, 300, 60, 10, 1000, 262144)
    from levante.triggers import MAX_DEPTH
    assert MAX_DEPTH == 10


# ---------------------------------------------------------------- queues

def test_queue_commands(server):
    q = unique("approvals")
    assert ok(server.url, "queue-create", q, "--metadata", '{"_default_message_ttl": 86400}') == \
        f"Queue {q} is ready.\n"
    posted = json.loads(ok(server.url, "queue-post", q, '{"ticket": 4711}', "-f", "json"))
    assert posted[0]["Href"] == f"/v2/queues/{q}/messages/{posted[0]['ID']}"
    ok(server.url, "queue-post", q, "plain text", "--ttl", "60")
    listed = json.loads(ok(server.url, "queue-list", q, "-f", "json"))
    assert [(m["Body"], m["TTL"], m["Claimed"]) for m in listed] == \
        [('{"ticket": 4711}', 86400, False), ("plain text", 60, False)]
    stats = json.loads(ok(server.url, "queue-stats", q, "-f", "json"))
    assert (stats["Free"], stats["Claimed"], stats["Total"]) == (2, 0, 2)
    assert ok(server.url, "queue-pop", q, "-f", "value", "-c", "Body") == '{"ticket": 4711}\n'
    assert pop_bodies(server.url, q, 5) == ["plain text"]
    ok(server.url, "queue-delete", q)
    assert not queue_exists(server.url, q)


def test_zaqar_actions_from_run_action(server):
    q = unique("approvals")
    posted = json.loads(ok(server.url, "run-action", "zaqar.queue_post",
                           json.dumps({"queue_name": q, "messages": {"body": "hello"}})))
    (href,) = posted["result"]["resources"]
    (msg,) = json.loads(ok(server.url, "run-action", "zaqar.queue_pop",
                           json.dumps({"queue_name": q})))["result"]
    assert msg["body"] == "hello" and msg["href"] is None and msg["ttl"] == 3600
    assert msg["queue"] == {"_metadata": None, "client": None, "_name": q}
    assert href.endswith("/" + msg["_id"])


def test_http_walk_through(server):
    q = f"{server.url}/queues/{unique('jobs')}"
    r = httpx.post(f"{q}/messages", json={"messages": [{"body": {"job": 1}}, {"body": {"job": 2}, "ttl": 600}]})
    assert r.status_code == 201 and len(r.json()["resources"]) == 2

    r = httpx.post(f"{q}/claims", params={"limit": 1}, json={"ttl": 120})
    assert r.status_code == 201 and "/claims/" in r.headers["location"]
    (msg,) = r.json()["messages"]
    assert msg["body"] == {"job": 1} and msg["ttl"] == 3600 and msg["age"] >= 0
    claim_id = msg["claim_id"]
    assert msg["href"].endswith(f"?claim_id={claim_id}")

    # Without the claim's id a claimed message stays; with it, it goes.
    refused = httpx.delete(f"{q}/messages/{msg['id']}")
    assert refused.status_code == 403
    assert refused.json()["title"] == "Forbidden" and refused.json()["faultstring"]
    assert httpx.delete(f"{q}/messages/{msg['id']}", params={"claim_id": claim_id}).status_code == 204

    popped = httpx.delete(f"{q}/messages", params={"pop": 10}).json()["messages"]
    assert [(m["body"], m["ttl"]) for m in popped] == [({"job": 2}, 600)]
    assert httpx.get(f"{q}/stats").json() == {"messages": {"claimed": 0, "free": 0, "total": 0}}
    assert httpx.post(f"{q}/claims", json={}).status_code == 204          # nothing to claim


def test_client_id_and_paging(server):
    q = f"{server.url}/queues/{unique('echo')}"
    me = {"Client-ID": str(uuid.uuid4())}
    httpx.post(f"{q}/messages", json={"messages": [{"body": i} for i in range(3)]}, headers=me)
    assert httpx.get(f"{q}/messages", headers=me).json()["messages"] == []
    assert len(httpx.get(f"{q}/messages").json()["messages"]) == 3
    page = httpx.get(f"{q}/messages", params={"echo": "true", "limit": 2}, headers=me).json()
    assert [m["body"] for m in page["messages"]] == [0, 1]
    (link,) = page["links"]
    assert link["rel"] == "next" and "marker=" in link["href"]
    rest = httpx.get(server.url[: -len("/v2")] + link["href"], headers=me).json()
    assert [m["body"] for m in rest["messages"]] == [2]
    bad = httpx.post(f"{server.url}/queues/no.dots/messages", json={"messages": [{"body": 1}]})
    assert bad.status_code == 400 and bad.json()["title"] == "Invalid API request"


def test_zaqarclient_snippet(server):
    q = unique("reports")
    code = SNIPPETS["zaqarclient"]
    code = code.replace('"http://127.0.0.1:8989"', repr(server.url[: -len("/v2")]))
    code = code.replace('"reports"', repr(q))
    out = io.StringIO()
    with redirect_stdout(out):
        exec(compile(code, "interactive.md:zaqarclient", "exec"), {})
    assert out.getvalue() == "{'report': 'daily'}\n"
    assert httpx.get(f"{server.url}/queues/{q}/stats").json()["messages"]["total"] == 0


# ---------------------------------------------------------------- human in the loop

@pytest.mark.parametrize("answer, approved, outcome", [
    ({"approved": True, "note": "go ahead"}, True, "applied"),
    ({"approved": False, "note": "not today"}, False, "left alone"),
    ({"note": "no decision"}, False, "left alone"),
])
def test_approval_with_pause_before_levante_cli(server, tmp_path, answer, approved, outcome):
    name = workflow_from_doc(server.url, "approve_change")
    outbox = unique("approvals")
    exec_id = ok(server.url, "execution-create", name,
                 json.dumps({"change": "restart the web tier", "outbox": outbox}),
                 "-f", "value", "-c", "ID").strip()
    wait_state(server.url, exec_id, ("PAUSED",))
    assert ok(server.url, "execution-get", exec_id, "-f", "value", "-c", "State") == "PAUSED\n"

    # The person reads the question ...
    (question,) = pop_bodies(server.url, outbox)
    assert question == {"question": "May I restart the web tier?", "execution_id": exec_id,
                        "reply_to": f"answer-{exec_id}"}
    # ... answers, and resumes the execution.
    ok(server.url, "queue-post", question["reply_to"], json.dumps(answer))
    ok(server.url, "execution-update", exec_id, "-s", "RUNNING")
    wait_state(server.url, exec_id, ("SUCCESS",))

    (reply,) = pop_bodies(server.url, outbox)
    assert reply == {"execution_id": exec_id, "outcome": f"{outcome} restart the web tier"}
    assert output(server.url, exec_id) == {"approved": approved, "note": answer["note"]}
    assert not queue_exists(server.url, question["reply_to"])      # clean_up
    assert pop_bodies(server.url, outbox) == []


def test_approval_with_pause_before_mistralclient(server, mistral):
    """The same session through python-mistralclient, as the mistral CLI would."""
    name = workflow_from_doc(server.url, "approve_change")
    outbox = unique("approvals")
    ex = mistral.executions.create(name, workflow_input={"change": "rotate the logs", "outbox": outbox})
    wait_state(server.url, ex.id, ("PAUSED",))

    def run(action: str, given: dict):
        return json.loads(mistral.action_executions.create(action, given).output)["result"]

    (question,) = run("zaqar.queue_pop", {"queue_name": outbox})
    run("zaqar.queue_post", {"queue_name": question["body"]["reply_to"],
                             "messages": {"body": {"approved": True}}})
    mistral.executions.update(ex.id, "RUNNING")
    wait_state(server.url, ex.id, ("SUCCESS",))
    (reply,) = run("zaqar.queue_pop", {"queue_name": outbox})
    assert reply["body"] == {"execution_id": ex.id, "outcome": "applied rotate the logs"}
    assert json.loads(mistral.executions.get(ex.id).output) == {"approved": True, "note": None}


def test_resume_before_the_answer_then_rerun(server):
    """The page's recovery: post the answer, rerun the task, resume again."""
    name = workflow_from_doc(server.url, "approve_change")
    outbox = unique("approvals")
    exec_id = start(server.url, name, {"change": "x", "outbox": outbox})
    wait_state(server.url, exec_id, ("PAUSED",))
    ok(server.url, "execution-update", exec_id, "-s", "RUNNING")      # too early: no answer yet
    failed = wait_state(server.url, exec_id, ("ERROR",))
    assert "Failed to publish variables of task 'read_answer'" in failed["state_info"]
    assert "index out of range" in failed["state_info"]

    ok(server.url, "queue-post", f"answer-{exec_id}", '{"approved": true}')
    ok(server.url, "task-rerun", task_id(server.url, exec_id, "read_answer"))
    wait_state(server.url, exec_id, ("PAUSED",))                        # held by pause-before again
    ok(server.url, "execution-update", exec_id, "-s", "RUNNING")
    wait_state(server.url, exec_id, ("SUCCESS",))
    assert output(server.url, exec_id)["approved"] is True


def test_a_text_answer_fails_read_answer(server):
    name = workflow_from_doc(server.url, "approve_change")
    exec_id = start(server.url, name, {"change": "x", "outbox": unique("approvals")})
    wait_state(server.url, exec_id, ("PAUSED",))
    ok(server.url, "queue-post", f"answer-{exec_id}", "yes please")
    ok(server.url, "execution-update", exec_id, "-s", "RUNNING")
    failed = wait_state(server.url, exec_id, ("ERROR",))
    assert "read_answer" in failed["state_info"]
    httpx.delete(f"{server.url}/queues/answer-{exec_id}")


def test_wait_for_answer_by_polling(server):
    name = workflow_from_doc(server.url, "wait_for_answer")
    outbox = unique("questions")
    exec_id = ok(server.url, "execution-create", name,
                 json.dumps({"question": "Which region?", "outbox": outbox, "poll_every": 0.2,
                             "polls": 100}), "-f", "value", "-c", "ID").strip()
    deadline = time.time() + 20
    while not (found := pop_bodies(server.url, outbox)):
        assert time.time() < deadline, "no question posted"
        time.sleep(0.1)
    (question,) = found
    assert question == {"question": "Which region?", "execution_id": exec_id,
                        "reply_to": f"answer-{exec_id}"}
    time.sleep(0.5)                                   # it is polling, not paused
    assert execution(server.url, exec_id)["state"] == "RUNNING"
    ok(server.url, "queue-post", question["reply_to"], '"eu-1"')
    wait_state(server.url, exec_id, ("SUCCESS",))
    assert json.loads(ok(server.url, "execution-get-output", exec_id)) == {"answer": "eu-1"}
    assert not queue_exists(server.url, question["reply_to"])


def test_wait_for_answer_gives_up_with_null(server):
    name = workflow_from_doc(server.url, "wait_for_answer")
    exec_id = start(server.url, name, {"question": "Anyone?", "outbox": unique("questions"),
                                       "poll_every": 0.1, "polls": 2})
    wait_state(server.url, exec_id, ("SUCCESS",))
    assert output(server.url, exec_id) == {"answer": None}
    polls = httpx.get(f"{server.url}/tasks/{task_id(server.url, exec_id, 'poll')}/action_executions")
    assert len(polls.json()["action_executions"]) == 3      # the first try and two more


# ---------------------------------------------------------------- triggers

def test_cron_trigger_with_a_first_time_fires_once(server):
    name = workflow_from_doc(server.url, "wait_for_answer")
    trigger = unique("once")
    when = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(minutes=2)
    body = {"name": trigger, "workflow_name": name, "first_execution_time": when.strftime("%Y-%m-%d %H:%M"),
            "workflow_input": json.dumps({"question": "cron?", "outbox": unique("questions"),
                                          "poll_every": 0.1, "polls": 0})}
    r = httpx.post(f"{server.url}/cron_triggers", json=body)
    assert r.status_code == 201, r.text
    assert r.json()["remaining_executions"] == 1
    bring_forward(server, trigger)      # rather than wait up to two minutes
    deadline = time.time() + 20
    while True:
        started = [e for e in httpx.get(f"{server.url}/executions", params={"workflow_name": name}).json()["executions"]]
        if started:
            break
        assert time.time() < deadline, "the cron trigger did not fire"
        time.sleep(0.2)
    (ex,) = started
    description = json.loads(ex["description"])
    assert description["triggered_by"]["type"] == "cron_trigger"
    assert description["triggered_by"]["name"] == trigger
    wait_state(server.url, ex["id"], ("SUCCESS",))
    assert httpx.get(f"{server.url}/cron_triggers/{trigger}").status_code == 404   # its last one


def test_cron_trigger_commands(server):
    wf = workflow_from_doc(server.url, "wait_for_answer")
    inp = json.dumps({"question": "q"})
    year_end, warm_up = unique("year-end"), unique("warm-up")
    once = json.loads(ok(server.url, "cron-trigger-create", year_end, wf, inp,
                         "--first-time", "2030-12-31 23:00", "--utc", "-f", "json"))
    assert once["Next execution time"] == "2030-12-31 23:00:00" and once["Remaining executions"] == 1
    hourly = json.loads(ok(server.url, "cron-trigger-create", warm_up, wf, inp, "--first-time",
                           "2030-03-01 06:00", "--utc", "--pattern", "0 * * * *", "--count", "24",
                           "-f", "json"))
    assert hourly["Next execution time"] == "2030-03-01 06:00:00"
    assert hourly["Remaining executions"] == 24 and hourly["Pattern"] == "0 * * * *"
    again = cli(server.url, "cron-trigger-create", unique("copy"), wf, inp, "--first-time",
                "2030-03-01 06:00", "--utc", "--pattern", "0 * * * *", "--count", "24")
    assert again.returncode == 1 and "same input, params and schedule" in again.stderr
    ok(server.url, "cron-trigger-delete", year_end, warm_up)


def test_event_trigger_reports_a_failure(server):
    failures = unique("failures")
    reporter = workflow_from_doc(server.url, "report_failure",
                                 {"queue_name: failures": f"queue_name: {failures}"})
    deploy = unique("deploy")
    create_workflow(server.url, f"""
version: '2.0'
{deploy}:
  tasks:
    step:
      action: std.fail error_data="disk full"
""")
    made = json.loads(ok(server.url, "event-trigger-create", unique("on-failure"), reporter, "levante",
                         f"executions.{deploy}", "WORKFLOW_FAILED", "-f", "json"))
    try:
        failed_id = start(server.url, deploy)
        wait_state(server.url, failed_id, ("ERROR",))
        deadline = time.time() + 20
        while not (msgs := pop_bodies(server.url, failures)):
            assert time.time() < deadline, "the event trigger did not report the failure"
            time.sleep(0.1)
        (report,) = msgs
        assert report["workflow"] == deploy and report["execution_id"] == failed_id
        assert "disk full" in report["why"]

        (triggered,) = httpx.get(f"{server.url}/executions",
                                 params={"workflow_name": reporter}).json()["executions"]
        params = json.loads(triggered["params"])
        assert params["trigger_depth"] == 1
        assert set(params["event_params"]) == {"event", "execution_id", "workflow_name",
                                               "root_execution_id", "state", "state_info", "timestamp"}
        assert params["event_params"]["event"] == "WORKFLOW_FAILED"
        assert json.loads(triggered["description"])["triggered_by"]["id"] == made["ID"]
    finally:
        ok(server.url, "event-trigger-delete", made["ID"])


def test_event_trigger_refuses_what_cannot_fire(server):
    wf = workflow_from_doc(server.url, "report_failure")
    for exchange, topic, event, says in (
            ("levante", "other", "WORKFLOW_SUCCEEDED", "is not valid on exchange"),
            ("mistral", "executions", "WORKFLOW_DONE", "is not an execution event")):
        proc = cli(server.url, "event-trigger-create", unique("bad"), wf, exchange, topic, event)
        assert proc.returncode == 1 and says in proc.stderr


def test_a_self_triggering_workflow_stops_after_ten_rounds(server):
    loop = unique("loopy")
    create_workflow(server.url, f"version: '2.0'\n{loop}:\n  tasks:\n    t:\n      action: std.noop\n")
    made = json.loads(ok(server.url, "event-trigger-create", unique("self"), loop, "levante",
                         f"executions.{loop}", "WORKFLOW_SUCCEEDED", "-f", "json"))
    try:
        start(server.url, loop)
        deadline = time.time() + 30
        while True:
            runs = httpx.get(f"{server.url}/executions", params={"workflow_name": loop}).json()["executions"]
            if len(runs) >= 11 and all(r["state"] == "SUCCESS" for r in runs):
                break
            assert time.time() < deadline, f"{len(runs)} runs"
            time.sleep(0.1)
        time.sleep(1.0)
        runs = httpx.get(f"{server.url}/executions", params={"workflow_name": loop}).json()["executions"]
        assert len(runs) == 11
    finally:
        ok(server.url, "event-trigger-delete", made["ID"])


# ---------------------------------------------------------------- notifications

class Receiver:
    """A webhook receiver on loopback that records every POST."""

    def __init__(self, status: int = 200):
        self.calls: list[dict] = []
        calls = self.calls

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                calls.append({"path": self.path, "headers": dict(self.headers), "body": json.loads(body)})
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def wait_for(self, n: int, timeout: float = 20.0) -> list[dict]:
        deadline = time.time() + timeout
        while len(self.calls) < n:
            assert time.time() < deadline, f"{len(self.calls)} of {n} notifications"
            time.sleep(0.05)
        return self.calls

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


@pytest.fixture(scope="module")
def hook_server(tmp_path_factory):
    """A server whose egress policy lets webhooks reach the loopback receivers
    (denied by default, as the page says)."""
    from tests.conftest import Server

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LEVANTE_HTTP_DENIED_CIDRS", "")
        srv = Server(tmp_path_factory.mktemp("hooks")).start()
    yield srv
    srv.stop()


WORKFLOW_FIELDS = {"id", "name", "workflow_name", "workflow_namespace", "workflow_id", "state",
                   "state_info", "project_id", "task_execution_id", "root_execution_id", "created_at",
                   "updated_at", "event"}
TASK_FIELDS = {"id", "name", "workflow_execution_id", "workflow_name", "workflow_namespace",
               "workflow_id", "state", "state_info", "type", "project_id", "created_at", "updated_at",
               "started_at", "finished_at", "root_execution_id", "event"}


def test_notify_webhooks(hook_server, receiver):
    from mistralclient.api import client

    server, mistral = hook_server, client.client(mistral_url=hook_server.url)
    wf = unique("deploy")
    create_workflow(server.url, f"version: '2.0'\n{wf}:\n  tasks:\n    t:\n      action: std.echo output=1\n")
    notify = [{"type": "webhook", "url": receiver.url + "/only-ends", "headers": {"X-Token": "s3cret"},
               "event_types": ["WORKFLOW_SUCCEEDED", "WORKFLOW_FAILED"]},
              {"type": "webhook", "url": receiver.url + "/all"},
              {"type": "noop"}]
    exec_id = ok(server.url, "execution-create", wf, "{}", json.dumps({"notify": notify}),
                 "-f", "value", "-c", "ID").strip()
    calls = receiver.wait_for(5)
    time.sleep(0.3)
    ends = [c for c in calls if c["path"] == "/only-ends"]
    (end,) = ends
    assert end["headers"]["X-Token"] == "s3cret"
    assert end["headers"]["Content-Type"] == "application/json"
    assert set(end["body"]) == WORKFLOW_FIELDS
    assert (end["body"]["id"], end["body"]["event"], end["body"]["state"]) == (exec_id, "WORKFLOW_SUCCEEDED", "SUCCESS")
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", end["body"]["updated_at"])

    everything = [c["body"] for c in calls if c["path"] == "/all"]
    assert [b["event"] for b in everything] == ["WORKFLOW_LAUNCHED", "TASK_LAUNCHED", "TASK_SUCCEEDED",
                                                "WORKFLOW_SUCCEEDED"]
    assert set(everything[2]) == TASK_FIELDS and everything[2]["workflow_execution_id"] == exec_id

    # python-mistralclient passes notify as an execution parameter, as the page shows.
    receiver.calls.clear()
    ex = mistral.executions.create(wf, workflow_input={}, notify=[
        {"type": "webhook", "url": receiver.url + "/client", "event_types": ["WORKFLOW_SUCCEEDED"]}])
    (call,) = receiver.wait_for(1)
    assert (call["path"], call["body"]["id"]) == ("/client", ex.id)

    bad = cli(server.url, "execution-create", wf, "{}", '{"notify": [{"type": "webhook", "url": "ftp://x"}]}')
    assert bad.returncode == 1
    assert "'params.notify[0].url' must be an http:// or https:// URL" in bad.stderr


def test_notify_retries_until_the_receiver_answers(hook_server):
    server = hook_server
    answers = iter([500, 503])
    seen: list[tuple[float, str, int]] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))))
            code = next(answers, 200)
            seen.append((time.time(), body["event"], code))
            self.send_response(code)
            self.end_headers()

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        wf = unique("flaky_hook")
        create_workflow(server.url, f"version: '2.0'\n{wf}:\n  tasks:\n    t:\n      action: std.noop\n")
        start(server.url, wf, params={"notify": [{"type": "webhook",
                                                  "url": f"http://127.0.0.1:{httpd.server_address[1]}/"}]})
        deadline = time.time() + 30
        while len([s for s in seen if s[2] == 200]) < 4:
            assert time.time() < deadline, seen
            time.sleep(0.1)
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert [(e, c) for _, e, c in seen[:3]] == [("WORKFLOW_LAUNCHED", 500), ("WORKFLOW_LAUNCHED", 503),
                                                ("WORKFLOW_LAUNCHED", 200)]
    gaps = [seen[i + 1][0] - seen[i][0] for i in range(2)]
    assert 0.9 <= gaps[0] < 1.9 and 1.9 <= gaps[1] < 3.0, gaps      # 1 s, then 2 s
    assert [e for _, e, c in seen if c == 200] == ["WORKFLOW_LAUNCHED", "TASK_LAUNCHED", "TASK_SUCCEEDED",
                                                   "WORKFLOW_SUCCEEDED"]      # in order


def test_server_default_notify_reaches_sub_workflows(fresh_server, receiver, monkeypatch):
    monkeypatch.setenv("LEVANTE_HTTP_DENIED_CIDRS", "")
    monkeypatch.setenv("LEVANTE_NOTIFY", json.dumps(
        {"type": "webhook", "url": receiver.url + "/all", "event_types": ["WORKFLOW_SUCCEEDED"]}))
    fresh_server.start()
    monkeypatch.delenv("LEVANTE_NOTIFY")
    create_workflow(fresh_server.url, """
version: '2.0'
child:
  tasks:
    c:
      action: std.noop
parent:
  tasks:
    p:
      workflow: child
""")
    own = {"type": "webhook", "url": receiver.url + "/own", "event_types": ["WORKFLOW_SUCCEEDED"]}
    exec_id = start(fresh_server.url, "parent", params={"notify": [own]})
    calls = receiver.wait_for(4)
    got = sorted((c["path"], c["body"]["name"], c["body"]["root_execution_id"]) for c in calls)
    assert got == [("/all", "child", exec_id), ("/all", "parent", None),
                   ("/own", "child", exec_id), ("/own", "parent", None)]

    bad = subprocess.run([sys.executable, "-m", "levante", "server", "--port", "1", "--notify",
                          '[{"type": "webhook"}]'], capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "must be an http:// or https:// URL" in bad.stderr


# ---------------------------------------------------------------- live progress

def _sse_function():
    scope: dict = {}
    exec(compile(SNIPPETS["sse"], "interactive.md:sse", "exec"), scope)
    return scope["execution_events"]


SLOW = """
version: '2.0'
{name}:
  tasks:
    first:
      action: std.sleep seconds=0.5
      on-success: second
    second:
      action: std.echo output=done
"""


def test_event_stream_with_the_page_snippet(server):
    execution_events = _sse_function()
    wf = unique("slow")
    create_workflow(server.url, SLOW.format(name=wf))
    exec_id = start(server.url, wf)
    got = list(execution_events(server.url, exec_id))          # returns when the execution ends
    names = [n for n, _ in got]
    assert names[0] == "state" and names[-1] == "WORKFLOW_SUCCEEDED"
    first = got[0][1]
    assert set(first) == {"id", "workflow_name", "state", "state_info", "root_execution_id",
                          "task_execution_id", "created_at", "updated_at", "tasks"}
    assert first["id"] == exec_id and first["workflow_name"] == wf
    tasks = [(d["task_name"], d["state"]) for n, d in got if n.startswith("TASK_")]
    assert tasks[-3:] == [("first", "SUCCESS"), ("second", "RUNNING"), ("second", "SUCCESS")]
    for n, d in got[1:]:
        assert d["event"] == n and d["execution_id"] == exec_id

    # An execution that has ended: only its state.
    again = list(execution_events(server.url, exec_id))
    assert [n for n, _ in again] == ["state"] and again[0][1]["state"] == "SUCCESS"
    assert {t["name"]: t["state"] for t in again[0][1]["tasks"]} == {"first": "SUCCESS", "second": "SUCCESS"}

    r = httpx.get(f"{server.url}/executions/{uuid.uuid4()}/events")
    assert r.status_code == 404


def test_event_stream_headers(server):
    wf = unique("slow")
    create_workflow(server.url, SLOW.format(name=wf))
    exec_id = start(server.url, wf)
    with httpx.stream("GET", f"{server.url}/executions/{exec_id}/events", timeout=30) as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        assert r.headers["cache-control"] == "no-cache" and r.headers["x-accel-buffering"] == "no"
        lines = list(r.iter_lines())
    assert lines[0] == "event: state"


def test_watch_and_wait_exit_codes(server):
    wf = unique("slow")
    create_workflow(server.url, SLOW.format(name=wf))
    done = cli(server.url, "execution-create", wf, "--wait", "-f", "value", "-c", "State")
    assert done.returncode == 0 and done.stdout == "SUCCESS\n"
    assert "second SUCCESS" in done.stderr and f"workflow {wf} SUCCESS" in done.stderr

    broken = unique("broken")
    create_workflow(server.url, f"""
version: '2.0'
{broken}:
  tasks:
    prepare:
      action: std.noop
      on-success: break_it
    break_it:
      action: std.fail error_data="disk full"
""")
    failed = cli(server.url, "execution-create", broken, "--wait")
    # It exits 1, and still prints the execution, as it ended, on stdout.
    assert failed.returncode == 1 and "| ERROR " in failed.stdout and broken in failed.stdout
    assert "ended in state ERROR" in failed.stderr and "disk full" in failed.stderr

    exec_id = start(server.url, wf)
    watched = cli(server.url, "execution-watch", exec_id)
    assert watched.returncode == 0
    lines = watched.stdout.splitlines()
    assert lines[0].startswith(f"Execution {exec_id} ({wf}): ")
    assert lines[-1].endswith(f"2/2   workflow {wf} SUCCESS")
    polled = cli(server.url, "execution-watch", exec_id, "--poll")
    assert polled.returncode == 0 and f"({wf}): SUCCESS" in polled.stdout

    approval = workflow_from_doc(server.url, "approve_change")
    paused = start(server.url, approval, {"change": "x", "outbox": unique("approvals")})
    wait_state(server.url, paused, ("PAUSED",))
    waiting = cli(server.url, "execution-watch", paused, "--timeout", "1")
    assert waiting.returncode == 1 and "is still PAUSED after 1s" in waiting.stderr
    httpx.put(f"{server.url}/executions/{paused}", json={"state": "CANCELLED"})
    cancelled = cli(server.url, "execution-watch", paused)
    assert cancelled.returncode == 1 and "ended in state CANCELLED" in cancelled.stderr
