"""Zaqar's v2 messages API on a real Levante server, over HTTP."""
from __future__ import annotations

import uuid

import httpx
import pytest


def qname(prefix: str = "q") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="module")
def http(server):
    with httpx.Client(base_url=server.url, timeout=30) as client:
        yield client


def post(http, queue, *messages, client_id=None):
    headers = {"Client-ID": client_id} if client_id else {}
    r = http.post(f"/queues/{queue}/messages", json={"messages": list(messages)}, headers=headers)
    assert r.status_code == 201, r.text
    return r.json()["resources"]


def ids_of(resources):
    return [href.rsplit("/", 1)[-1] for href in resources]


# ---------------------------------------------------------------- queues

def test_queue_create_get_update_list_delete(http):
    name = qname("life")
    r = http.put(f"/queues/{name}", json={"description": "for tests", "_default_message_ttl": 120})
    assert r.status_code == 201
    assert r.headers["location"] == f"/v2/queues/{name}"
    assert http.put(f"/queues/{name}").status_code == 204          # already there
    meta = http.get(f"/queues/{name}").json()
    assert meta == {"description": "for tests", "_default_message_ttl": 120, "_max_messages_post_size": 262144}

    r = http.patch(f"/queues/{name}", json=[{"op": "add", "path": "/metadata/k", "value": [1]},
                                            {"op": "remove", "path": "/metadata/description"}],
                   headers={"content-type": "application/openstack-messaging-v2.0-json-patch"})
    assert r.status_code == 200
    assert r.json()["k"] == [1] and "description" not in r.json()

    listed = http.get("/queues", params={"detailed": "true", "limit": 1000}).json()
    mine = [q for q in listed["queues"] if q["name"] == name]
    assert mine == [{"name": name, "metadata": {"_default_message_ttl": 120, "k": [1]},
                     "href": f"/v2/queues/{name}"}]
    assert "links" in listed
    (m,) = ids_of(post(http, name, {"body": "x"}))
    assert http.get(f"/queues/{name}/messages/{m}").json()["ttl"] == 120   # the queue's default TTL

    assert http.delete(f"/queues/{name}").status_code == 204
    assert http.get(f"/queues/{name}").status_code == 404
    assert http.get(f"/queues/{name}/messages/{m}").status_code == 404
    assert http.delete(f"/queues/{name}").status_code == 204          # idempotent


def test_queue_list_pages_with_links_and_count(http):
    prefix = qname("page")
    names = sorted(f"{prefix}-{i}" for i in range(3))
    for n in names:
        assert http.put(f"/queues/{n}").status_code == 201
    seen, url, params = [], "/queues", {"limit": 2}
    for _ in range(1000):
        body = http.get(url, params=params).json()
        seen += [q["name"] for q in body["queues"]]
        nxt = [link["href"] for link in body["links"] if link["rel"] == "next"]
        if not nxt:
            break
        assert nxt[0].startswith("/v2/queues?")
        url, params = nxt[0][len("/v2"):], None
    assert [n for n in seen if n.startswith(prefix)] == names
    assert http.get("/queues", params={"with_count": "true"}).json()["count"] >= 3


# ---------------------------------------------------------------- messages

def test_post_list_get_and_delete_messages(http):
    name = qname()
    r = http.post(f"/queues/{name}/messages",
                  json={"messages": [{"ttl": 300, "body": {"event": "start"}}, {"body": "plain"}]})
    assert r.status_code == 201
    resources = r.json()["resources"]
    assert all(h.startswith(f"/v2/queues/{name}/messages/") for h in resources)
    first, second = ids_of(resources)

    body = http.get(f"/queues/{name}/messages", params={"echo": "true"}).json()
    assert [m["body"] for m in body["messages"]] == [{"event": "start"}, "plain"]
    m0 = body["messages"][0]
    assert set(m0) >= {"id", "href", "ttl", "age", "body"}
    assert (m0["id"], m0["href"], m0["ttl"]) == (first, resources[0], 300)
    assert body["messages"][1]["ttl"] == 3600

    one = http.get(f"/queues/{name}/messages/{second}").json()
    assert (one["id"], one["body"]) == (second, "plain")
    some = http.get(f"/queues/{name}/messages", params={"ids": f"{second},{first}"}).json()
    assert [m["id"] for m in some["messages"]] == [first, second]

    assert http.delete(f"/queues/{name}/messages/{first}").status_code == 204
    assert http.get(f"/queues/{name}/messages/{first}").status_code == 404
    assert http.delete(f"/queues/{name}/messages", params={"ids": second}).status_code == 204
    assert http.get(f"/queues/{name}/messages").json()["messages"] == []


def test_listing_pages_in_fifo_order(http):
    name = qname()
    post(http, name, *({"body": i} for i in range(5)))
    seen, params = [], {"limit": 2}
    while True:
        body = http.get(f"/queues/{name}/messages", params=params).json()
        seen += [m["body"] for m in body["messages"]]
        nxt = [link["href"] for link in body["links"] if link["rel"] == "next"]
        if not nxt:
            break
        assert nxt[0].startswith(f"/v2/queues/{name}/messages?")
        params = dict(httpx.URL(nxt[0]).params)
    assert seen == [0, 1, 2, 3, 4]


def test_client_id_is_optional_and_decides_echo(http):
    name = qname()
    post(http, name, {"body": "from-a"}, client_id="client-a")
    post(http, name, {"body": "from-b"}, client_id="client-b")
    as_a = http.get(f"/queues/{name}/messages", headers={"Client-ID": "client-a"}).json()
    assert [m["body"] for m in as_a["messages"]] == ["from-b"]
    as_a_echo = http.get(f"/queues/{name}/messages", params={"echo": "true"},
                         headers={"Client-ID": "client-a"}).json()
    assert [m["body"] for m in as_a_echo["messages"]] == ["from-a", "from-b"]
    anonymous = http.get(f"/queues/{name}/messages").json()
    assert [m["body"] for m in anonymous["messages"]] == ["from-a", "from-b"]


def test_pop_returns_the_oldest_and_deletes_them(http):
    name = qname()
    post(http, name, *({"body": i} for i in range(3)))
    r = http.delete(f"/queues/{name}/messages", params={"pop": 2})
    assert r.status_code == 200
    popped = r.json()["messages"]
    assert [m["body"] for m in popped] == [0, 1]
    assert set(popped[0]) == {"id", "ttl", "age", "body"}
    assert [m["body"] for m in http.delete(f"/queues/{name}/messages", params={"pop": 5}).json()["messages"]] == [2]
    assert http.delete(f"/queues/{name}/messages", params={"pop": 1}).json() == {"messages": []}


# ---------------------------------------------------------------- claims

def test_claim_hides_messages_and_guards_deletes(http):
    name = qname()
    ids = ids_of(post(http, name, *({"body": i} for i in range(3))))
    r = http.post(f"/queues/{name}/claims", params={"limit": 2}, json={"ttl": 60, "grace": 30})
    assert r.status_code == 201
    claim_id = r.headers["location"].rsplit("/", 1)[-1]
    assert r.headers["location"] == f"/v2/queues/{name}/claims/{claim_id}"
    claimed = r.json()["messages"]
    assert [m["body"] for m in claimed] == [0, 1]
    # zaqarclient reads the claim id from the messages' hrefs
    assert all(m["href"].endswith(f"?claim_id={claim_id}") for m in claimed)

    assert [m["body"] for m in http.get(f"/queues/{name}/messages").json()["messages"]] == [2]
    all_ = http.get(f"/queues/{name}/messages", params={"include_claimed": "true"}).json()["messages"]
    assert [m.get("claim_id") for m in all_] == [claim_id, claim_id, None]

    got = http.get(f"/queues/{name}/claims/{claim_id}").json()
    assert (got["ttl"], got["href"]) == (60, f"/v2/queues/{name}/claims/{claim_id}")
    assert [m["body"] for m in got["messages"]] == [0, 1]
    assert http.patch(f"/queues/{name}/claims/{claim_id}", json={"ttl": 120}).status_code == 204
    assert http.get(f"/queues/{name}/claims/{claim_id}").json()["ttl"] == 120

    denied = http.delete(f"/queues/{name}/messages/{ids[0]}")
    assert denied.status_code == 403
    assert denied.json()["title"] and "claim" in denied.json()["description"]
    assert http.delete(f"/queues/{name}/messages/{ids[0]}", params={"claim_id": claim_id}).status_code == 204

    assert http.delete(f"/queues/{name}/claims/{claim_id}").status_code == 204     # release
    assert http.get(f"/queues/{name}/claims/{claim_id}").status_code == 404
    assert [m["body"] for m in http.get(f"/queues/{name}/messages").json()["messages"]] == [1, 2]


def test_claim_on_an_empty_queue_is_204(http):
    name = qname()
    assert http.post(f"/queues/{name}/claims", json={"ttl": 60}).status_code == 204
    post(http, name, {"body": 1})
    assert http.post(f"/queues/{name}/claims", json={}).status_code == 201      # defaults
    assert http.post(f"/queues/{name}/claims", json={"ttl": 60}).status_code == 204


def test_stats(http):
    name = qname()
    assert http.get(f"/queues/{name}/stats").json() == {"messages": {"claimed": 0, "free": 0, "total": 0}}
    ids = ids_of(post(http, name, {"body": 1}, {"body": 2}, {"body": 3}))
    http.post(f"/queues/{name}/claims", params={"limit": 1}, json={"ttl": 60})
    stats = http.get(f"/queues/{name}/stats").json()["messages"]
    assert (stats["free"], stats["claimed"], stats["total"]) == (2, 1, 3)
    assert stats["oldest"]["href"] == f"/v2/queues/{name}/messages/{ids[0]}"
    assert stats["newest"]["href"] == f"/v2/queues/{name}/messages/{ids[2]}"
    assert stats["oldest"]["created"].endswith("Z")


# ---------------------------------------------------------------- errors

@pytest.mark.parametrize("method,path,kwargs", [
    ("post", "/queues/bad.name/messages", {"json": {"messages": [{"body": 1}]}}),
    ("post", "/queues/{q}/messages", {"json": {"messages": [{"ttl": 60}]}}),
    ("post", "/queues/{q}/messages", {"json": {"nothing": []}}),
    ("post", "/queues/{q}/messages", {"content": b"{not json", "headers": {"content-type": "application/json"}}),
    ("post", "/queues/{q}/messages", {"json": {"messages": [{"body": 1, "ttl": 0}]}}),
    ("get", "/queues/{q}/messages", {"params": {"limit": "lots"}}),
    ("get", "/queues/{q}/messages", {"params": {"echo": "maybe"}}),
    ("delete", "/queues/{q}/messages", {}),
    ("delete", "/queues/{q}/messages", {"params": {"pop": 0}}),
    ("post", "/queues/{q}/claims", {"json": {"ttl": "long"}}),
    ("put", "/queues/{q}", {"json": [1, 2]}),
])
def test_bad_requests_get_400_with_zaqar_and_mistral_error_fields(http, method, path, kwargs):
    r = getattr(http, method)(path.format(q=qname()), **kwargs)
    assert r.status_code == 400, r.text
    body = r.json()
    assert body["title"] and body["description"]
    assert body["faultstring"] == body["description"]


def test_mistral_routes_are_untouched(http):
    assert http.get("/workflows").status_code == 200
    assert http.get("/executions").status_code == 200


# ---------------------------------------------------------------- the real Zaqar client

def test_python_zaqarclient_works_against_levante(server):
    from zaqarclient.queues import client as zclient
    base = server.url[: -len("/v2")]
    client = zclient.Client(base, version=2,
                            conf={"auth_opts": {"backend": "noauth", "options": {"os_project_id": "p"}}})
    name = qname("zc")
    queue = client.queue(name)
    result = queue.post([{"body": {"a": 1}, "ttl": 600}, {"body": "b"}])
    assert len(result["resources"]) == 2
    assert [(m.body, m.ttl) for m in queue.messages(echo=True)] == [({"a": 1}, 600), ("b", 3600)]

    claim = queue.claim(ttl=60, grace=60, limit=1)
    claimed = list(claim)
    assert [m.body for m in claimed] == [{"a": 1}]
    assert claimed[0].claim_id == claim.id
    assert queue.stats["messages"]["claimed"] == 1
    claimed[0].delete()                         # with its claim id
    assert queue.stats["messages"]["total"] == 1

    assert [m.body for m in queue.pop(5)] == ["b"]
    listed, _ = client.queues(limit=2)
    assert name in [q.name for q in listed.stream()]       # follows the "next" links
    queue.metadata(new_meta={"k": "v"})
    assert queue.metadata(force_reload=True)["k"] == "v"
    queue.delete()
    assert name not in [q.name for q in client.queues(limit=2)[0].stream()]
