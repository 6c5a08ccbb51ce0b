"""Queues are per project, as in Zaqar: a queue is (project, name), so another
project neither lists, reads, posts to, claims from nor deletes a project's
queue, through the API or through zaqar.* actions of its executions; it has
its own queue of that name instead."""
from __future__ import annotations

import json

import pytest

from tests.api.helpers import finish, unique, wf_yaml
from tests.auth.helpers import TokenServer


@pytest.fixture(scope="module")
def ts(tmp_path_factory):
    s = TokenServer(tmp_path_factory.mktemp("queues")).start()
    yield s
    s.stop()


@pytest.fixture(scope="module")
def tokens(ts):
    return {p: ts.create_token(p, p) for p in ("qa", "qb")}


def test_two_projects_have_their_own_queue_of_the_same_name(ts, tokens):
    """Queues are per project, as in Zaqar: A and B each create, post to, list,
    claim and delete a queue ``name`` and never see the other's messages."""
    a, b = ts.http(tokens["qa"]), ts.http(tokens["qb"])
    name = unique("q").replace("_", "-")
    assert a.put(f"/queues/{name}", json={"note": "a"}).status_code == 201
    r = a.post(f"/queues/{name}/messages", json={"messages": [{"body": {"secret": 1}, "ttl": 300}]})
    assert r.status_code == 201, r.text

    # B does not see A's queue: not listed, not found, empty where Zaqar answers for any name.
    assert name not in {q["name"] for q in b.get("/queues").json()["queues"]}
    assert name in {q["name"] for q in a.get("/queues").json()["queues"]}
    assert b.get(f"/queues/{name}").status_code == 404
    assert b.get(f"/queues/{name}/stats").json()["messages"]["total"] == 0
    assert b.get(f"/queues/{name}/messages", params={"echo": "true"}).json()["messages"] == []
    assert b.post(f"/queues/{name}/claims", json={"ttl": 60, "grace": 60}).status_code == 204
    assert b.delete(f"/queues/{name}/messages", params={"pop": "1"}).json()["messages"] == []
    (a_id,) = [m["id"] for m in a.get(f"/queues/{name}/messages", params={"echo": "true"}).json()["messages"]]
    assert b.get(f"/queues/{name}/messages/{a_id}").status_code == 404
    assert b.delete(f"/queues/{name}/messages/{a_id}").status_code == 204     # a no-op for B
    assert b.delete(f"/queues/{name}").status_code == 204                     # B's (missing) queue

    # B makes its own queue of that name, with its own messages, metadata and claims.
    assert b.put(f"/queues/{name}", json={"note": "b"}).status_code == 201
    r = b.post(f"/queues/{name}/messages", json={"messages": [{"body": "b1"}, {"body": "b2"}]})
    assert r.status_code == 201, r.text
    assert a.get(f"/queues/{name}").json()["note"] == "a"
    assert b.get(f"/queues/{name}").json()["note"] == "b"
    claim = b.post(f"/queues/{name}/claims", json={"ttl": 60, "grace": 60})
    assert claim.status_code == 201
    assert [m["body"] for m in claim.json()["messages"]] == ["b1", "b2"]
    claim_path = claim.headers["location"].split("/v2", 1)[1]
    assert a.get(claim_path).status_code == 404                               # B's claim is not A's
    assert b.get(claim_path).status_code == 200
    a_claim = a.post(f"/queues/{name}/claims", json={"ttl": 60, "grace": 60})
    assert [m["body"] for m in a_claim.json()["messages"]] == [{"secret": 1}]
    assert a.get(f"/queues/{name}/stats").json()["messages"]["total"] == 1
    assert b.get(f"/queues/{name}/stats").json()["messages"]["total"] == 2
    # Deleting B's queue leaves A's.
    assert b.delete(f"/queues/{name}").status_code == 204
    assert b.get(f"/queues/{name}").status_code == 404
    msgs = a.get(f"/queues/{name}/messages", params={"echo": "true", "include_claimed": "true"}).json()
    assert [m["body"] for m in msgs["messages"]] == [{"secret": 1}]


def test_zaqar_actions_act_for_the_executions_project(ts, tokens):
    a, b = ts.http(tokens["qa"]), ts.mistral(tokens["qb"])
    name = unique("q").replace("_", "-")
    a.post(f"/queues/{name}/messages", json={"messages": [{"body": "for a only", "ttl": 300}]})
    wf = unique()
    b.workflows.create(wf_yaml(wf, f"""
tasks:
  post:
    action: zaqar.queue_post
    input:
      queue_name: {name}
      messages:
        body: for b
    on-success: pop
  pop:
    action: zaqar.queue_pop queue_name={name} count=5
    publish:
      got: <% task().result.select($.body) %>
"""))
    ex = finish(b, b.executions.create(wf).id)
    assert ex.state == "SUCCESS", ex.state_info
    # B's execution posted to and popped from B's queue of that name: A's message is untouched.
    assert json.loads(ex.output) == {"got": ["for b"]}
    assert name in {q["name"] for q in ts.http(tokens["qb"]).get("/queues").json()["queues"]}
    assert [m["body"] for m in a.get(f"/queues/{name}/messages", params={"echo": "true"}).json()["messages"]] \
        == ["for a only"]


def test_two_projects_run_the_interactive_example_at_once(ts, tokens, tmp_path):
    """examples/interactive-workflow.yaml (fixed queue names workflow-input and
    workflow-output) run by two projects side by side with the levante CLI, as
    examples/README.md runs it: each gets its own request and its own reply."""
    import os
    import shutil
    import subprocess
    import sys
    import time

    from tests.conftest import EXAMPLES

    shutil.copy(EXAMPLES / "interactive-workflow.yaml", tmp_path / "interactive-workflow.yaml")

    def cli(project: str, *args: str) -> str:
        env = dict(os.environ, LEVANTE_TOKEN=tokens[project])
        proc = subprocess.run([sys.executable, "-m", "levante", "--url", ts.url, *args], cwd=tmp_path,
                              env=env, capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0, f"{project}: levante {' '.join(args)}: {proc.stderr}"
        return proc.stdout.strip()

    def wait_state(project: str, ex: str, want: str) -> None:
        deadline = time.time() + 60
        while cli(project, "execution-get", ex, "-f", "value", "-c", "State") != want:
            assert time.time() < deadline, f"{project}'s execution never reached {want}"
            time.sleep(0.2)

    ids = {}
    for p in ("qa", "qb"):
        assert cli(p, "workflow-create", "interactive-workflow.yaml", "-f", "value", "-c", "Name") \
            == "interactive-workflow"
        ids[p] = cli(p, "execution-create", "interactive-workflow", "-f", "value", "-c", "ID")
    for p in ("qa", "qb"):
        wait_state(p, ids[p], "PAUSED")
    for p in ("qa", "qb"):
        # Each project's request, once: the other project's is in its own queue.
        assert cli(p, "queue-pop", "workflow-output", "-f", "value", "-c", "Body") \
            == "Send some input to 'workflow-input'"
        assert cli(p, "queue-pop", "workflow-output", "-f", "value", "-c", "Body") == ""
        cli(p, "queue-post", "workflow-input", json.dumps({"from": p}), "-f", "value", "-c", "ID")
    for p in ("qa", "qb"):
        cli(p, "execution-update", ids[p], "-s", "RUNNING", "-f", "value", "-c", "State")
    for p in ("qa", "qb"):
        wait_state(p, ids[p], "SUCCESS")
        assert cli(p, "queue-pop", "workflow-output", "-f", "value", "-c", "Body") \
            == f"You sent: '{{'from': '{p}'}}'"
