"""Queues belong to the project that created them: another project neither
lists, reads, posts to, claims from nor deletes them, through the API or
through zaqar.* actions of its executions."""
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


def test_another_projects_queue_is_out_of_reach(ts, tokens):
    a, b = ts.http(tokens["qa"]), ts.http(tokens["qb"])
    name = unique("q").replace("_", "-")
    assert a.put(f"/queues/{name}", json={"note": "a"}).status_code == 201
    r = a.post(f"/queues/{name}/messages", json={"messages": [{"body": {"secret": 1}, "ttl": 300}]})
    assert r.status_code == 201, r.text

    assert name not in {q["name"] for q in b.get("/queues").json()["queues"]}
    assert name in {q["name"] for q in a.get("/queues").json()["queues"]}
    assert b.get(f"/queues/{name}").status_code == 404
    assert b.get(f"/queues/{name}/stats").status_code == 404
    assert b.get(f"/queues/{name}/messages", params={"echo": "true"}).status_code == 404
    assert b.post(f"/queues/{name}/claims", json={"ttl": 60, "grace": 60}).status_code == 404
    assert b.delete(f"/queues/{name}/messages", params={"pop": "1"}).status_code == 404
    assert b.delete(f"/queues/{name}").status_code == 404
    # Names are unique across projects: B cannot take this one over.
    assert b.put(f"/queues/{name}").status_code == 409
    assert b.post(f"/queues/{name}/messages", json={"messages": [{"body": 1}]}).status_code == 409
    # A's message is still there, unclaimed.
    msgs = a.get(f"/queues/{name}/messages", params={"echo": "true"}).json()["messages"]
    assert [m["body"] for m in msgs] == [{"secret": 1}]


def test_zaqar_actions_act_for_the_executions_project(ts, tokens):
    a, b = ts.http(tokens["qa"]), ts.mistral(tokens["qb"])
    name = unique("q").replace("_", "-")
    a.post(f"/queues/{name}/messages", json={"messages": [{"body": "for a only", "ttl": 300}]})
    wf = unique()
    b.workflows.create(wf_yaml(wf, f"""
tasks:
  steal:
    action: zaqar.queue_pop queue_name={name}
"""))
    ex = finish(b, b.executions.create(wf).id)
    assert ex.state == "ERROR"
    info = json.dumps([t.state_info for t in b.tasks.list(workflow_execution_id=ex.id)])
    assert "used by another project" in info     # zaqar.queue_pop creates a missing queue first
    own = unique("q").replace("_", "-")
    wf2 = unique()
    b.workflows.create(wf_yaml(wf2, f"""
tasks:
  post:
    action: zaqar.queue_post
    input:
      queue_name: {own}
      messages:
        body: mine
"""))
    assert finish(b, b.executions.create(wf2).id).state == "SUCCESS"
    assert own in {q["name"] for q in ts.http(tokens["qb"]).get("/queues").json()["queues"]}
    assert own not in {q["name"] for q in a.get("/queues").json()["queues"]}
    assert [m["body"] for m in a.get(f"/queues/{name}/messages", params={"echo": "true"}).json()["messages"]] \
        == ["for a only"]
