"""The JSON the server sends, checked with plain HTTP (what the client library hides)."""
from __future__ import annotations

import json

import httpx

from tests.api.helpers import ECHO, create_wf, finish, unique, wf_yaml


def _root(server) -> str:
    return server.url[: -len("/v2")]


def test_versions(server):
    r = httpx.get(_root(server) + "/")
    assert r.status_code == 200
    assert r.json() == {"versions": [{"id": "v2.0", "status": "CURRENT", "links": [
        {"href": server.url, "target": "v2", "rel": "self"}]}]}


def test_v2_root(server):
    r = httpx.get(server.url + "/")
    assert r.status_code == 200
    assert r.json() == {"uri": server.url}
    r = httpx.get(server.url, follow_redirects=False)
    assert r.status_code == 302
    assert r.headers["location"] == server.url + "/"


def test_execution_fields_are_json_strings(mistral, server):
    name = unique()
    create_wf(mistral, name, """
tags: [shape]
input:
  - who: "you"
tasks:
  t:
    action: std.echo output="hi <% $.who %>"
    publish:
      said: <% task().result %>
""")
    r = httpx.post(server.url + "/executions",
                   json={"description": "", "workflow_name": name, "input": json.dumps({"who": "me"})})
    assert r.status_code == 201
    created = r.json()
    # The state its start reached: an std.echo runs inside the start (mostly
    # ending it at once); Mistral answers RUNNING, its start being asynchronous.
    assert created["state"] in ("RUNNING", "SUCCESS")
    if created["state"] == "SUCCESS":
        assert json.loads(created["output"]) == {"said": "hi me"}
    assert "published_global" not in created
    assert json.loads(created["input"]) == {"who": "me"}
    assert json.loads(created["params"]) == {"namespace": "", "env": {}}
    assert created["output"] == "{}" or json.loads(created["output"]) == {"said": "hi me"}
    assert created["tags"] == ["shape"]
    assert created["workflow_namespace"] == ""
    assert created["task_execution_id"] is None
    assert created["root_execution_id"] is None
    assert created["project_id"] == "<default-project>"

    finish(mistral, created["id"])
    got = httpx.get(f"{server.url}/executions/{created['id']}").json()
    for key in ("input", "output", "params", "published_global"):
        assert isinstance(got[key], str), key
    assert json.loads(got["output"]) == {"said": "hi me"}
    assert json.loads(got["published_global"]) == {}
    assert got["updated_at"] and got["created_at"][4] == "-" and "T" not in got["created_at"]

    # an input given as a real JSON object is accepted too
    r = httpx.post(server.url + "/executions", json={"workflow_name": name, "input": {"who": "obj"}})
    assert r.status_code == 201
    assert json.loads(r.json()["input"]) == {"who": "obj"}

    listed = httpx.get(server.url + "/executions", params={"workflow_name": name}).json()["executions"]
    assert len(listed) == 2
    for item in listed:
        assert "output" not in item and "published_global" not in item
        assert isinstance(item["input"], str)
    with_output = httpx.get(server.url + "/executions",
                            params={"workflow_name": name, "include_output": "true"}).json()
    assert all("output" in item for item in with_output["executions"])


def test_fields_state_only(mistral, server):
    name = unique()
    create_wf(mistral, name, ECHO)
    ex = finish(mistral, mistral.executions.create(name).id)
    r = httpx.get(f"{server.url}/executions/{ex.id}", params={"fields": "state"})
    assert r.status_code == 200
    assert r.json() == {"id": ex.id, "state": "SUCCESS"}
    r = httpx.get(f"{server.url}/executions", params={"workflow_name": name, "fields": "state"})
    assert r.json()["executions"] == [{"id": ex.id, "state": "SUCCESS"}]
    r = httpx.get(f"{server.url}/executions/{ex.id}", params={"fields": "state,no_such_field"})
    assert r.status_code == 400
    assert "Some fields do not exist" in r.json()["faultstring"]


def test_description_update_shape(mistral, server):
    name = unique()
    create_wf(mistral, name, ECHO)
    ex = finish(mistral, mistral.executions.create(name).id)
    r = httpx.put(f"{server.url}/executions/{ex.id}", json={"description": "renamed"})
    assert r.status_code == 200
    body = r.json()
    assert body["description"] == "renamed"
    assert body["state"] == "SUCCESS"
    assert not {"params", "input", "output"} & set(body)


def test_task_shape(mistral, server):
    name = unique()
    create_wf(mistral, name, ECHO + "    publish:\n      x: <% task().result %>\n")
    ex = finish(mistral, mistral.executions.create(name).id)
    listed = httpx.get(f"{server.url}/executions/{ex.id}/tasks").json()["tasks"]
    assert len(listed) == 1
    assert "result" not in listed[0]
    task = httpx.get(f"{server.url}/tasks/{listed[0]['id']}").json()
    assert task["result"] == '"hi"'
    assert task["published"] == '{"x": "hi"}'
    assert isinstance(task["runtime_context"], str)
    assert task["type"] == "ACTION"
    assert task["tags"] == []


def test_error_body(server):
    r = httpx.get(f"{server.url}/executions/nope")
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("application/json")
    assert r.json() == {"faultcode": "Client", "faultstring": "WorkflowExecution not found [id=nope]",
                        "debuginfo": None}


def test_yaml_endpoint_error_body(server):
    r = httpx.post(server.url + "/workflows", params={"scope": "private", "namespace": ""},
                   content=wf_yaml(unique(), ECHO + "    on-success: [missing_task]\n"),
                   headers={"content-type": "text/plain"})
    assert r.status_code == 400
    body = r.json()
    assert set(body) == {"faultstring"}
    assert "Task 'missing_task' not found." in body["faultstring"]


def test_workflow_shapes(server):
    name = unique()
    r = httpx.post(server.url + "/workflows", params={"scope": "private", "namespace": ""},
                   content=wf_yaml(name, "input:\n  - a\n  - b: 1\n" + ECHO),
                   headers={"content-type": "text/plain"})
    assert r.status_code == 201
    (created,) = r.json()["workflows"]
    assert created["interface"] == {"input": ["a", {"b": 1}], "output": []}
    assert "updated_at" not in created
    got = httpx.get(f"{server.url}/workflows/{name}", params={"namespace": ""}).json()
    assert json.loads(got["interface"]) == {"input": ["a", {"b": 1}], "output": []}
    assert got["input"] == 'a, b="1"'
    assert got["updated_at"] is None


def test_sync_run_action_shape(server):
    r = httpx.post(server.url + "/action_executions",
                   json={"name": "std.echo", "input": json.dumps({"output": "Hello Workflow!"})})
    assert r.status_code == 201
    body = r.json()
    assert body["id"] is None and body["created_at"] is None and body["accepted"] is None
    assert body["state"] == "SUCCESS"
    assert json.loads(body["output"]) == {"result": "Hello Workflow!"}
    assert body["tags"] is None
