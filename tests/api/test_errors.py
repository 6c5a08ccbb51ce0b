"""Unknown ids and malformed requests."""
from __future__ import annotations

import httpx
import pytest

from tests.api.helpers import ECHO, api_error, create_wf, finish, unique

MISSING = "00000000-0000-0000-0000-000000000000"


@pytest.mark.parametrize("manager,message", [
    ("executions", f"WorkflowExecution not found [id={MISSING}]"),
    ("tasks", f"Task execution not found [id={MISSING}]"),
    ("action_executions", None),
    ("workflows", None),
    ("environments", None),
    ("workbooks", None),
])
def test_unknown_id_is_404(mistral, manager, message):
    err = api_error(getattr(mistral, manager).get, MISSING)
    assert err.error_code == 404
    assert MISSING in err.error_message
    if message:
        assert err.error_message == message


def test_not_a_uuid_is_404(mistral):
    err = api_error(mistral.executions.get, "not-a-uuid")
    assert err.error_code == 404
    assert err.error_message == "WorkflowExecution not found [id=not-a-uuid]"


@pytest.mark.parametrize("method,path", [
    ("POST", "/executions"),
    ("POST", "/action_executions"),
    ("POST", "/environments"),
    ("PUT", "/environments"),
])
def test_bad_json_body_is_400(server, method, path):
    r = httpx.request(method, server.url + path, content=b"{not json",
                      headers={"content-type": "application/json"})
    assert r.status_code == 400
    body = r.json()
    assert body["faultstring"] == "Request is not in valid JSON format"
    assert body["faultcode"] == "Client"


def test_bad_json_body_on_execution_update_is_400(mistral, server):
    name = unique()
    create_wf(mistral, name, ECHO)
    ex = finish(mistral, mistral.executions.create(name).id)
    r = httpx.put(f"{server.url}/executions/{ex.id}", content=b"state=PAUSED",
                  headers={"content-type": "application/json"})
    assert r.status_code == 400
    assert r.json()["faultstring"] == "Request is not in valid JSON format"


@pytest.mark.parametrize("body,message", [
    ({"workflow_name": 5}, "Field 'workflow_name' must be a string"),
    ({"workflow_name": "x", "description": {"a": 1}}, "Field 'description' must be a string"),
    ({"workflow_name": "x", "id": 7}, "Field 'id' must be a string"),
    ({"workflow_name": "x", "params": {"env": 5}}, "Parameter 'env' must be"),
    ({"workflow_name": "x", "input": [1]}, "Field 'input' must be a JSON object"),
    ({"workflow_name": "x", "params": "not json"}, "Field 'params' must be JSON"),
    ({"workflow_name": "x", "params": {"namespace": {"a": 1}}}, "Parameter 'namespace' must be a string"),
])
def test_wrongly_typed_execution_fields_are_400(server, body, message):
    r = httpx.post(f"{server.url}/executions", json=body)
    assert r.status_code == 400, r.text
    assert message in r.json()["faultstring"]
