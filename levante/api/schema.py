"""The request bodies and query parameters of /openapi.json.

The routes read raw bodies (Mistral's clients send JSON text inside JSON, and
YAML as text/plain), so FastAPI cannot derive their shapes; they are described
here, once, and added to the generated schema. The suite's property-based test
generates requests from this document, so describe every field a route reads.
"""
from __future__ import annotations

from typing import Any

_STR = {"type": "string"}
_INT = {"type": "integer"}
_BOOL = {"type": "boolean"}
_JSON_OBJ = {"anyOf": [{"type": "string", "description": "a JSON object as JSON text"},
                       {"type": "object"}]}
_SCOPE = {"type": "string", "enum": ["private", "public"]}
_STATES = {"type": "string", "enum": ["RUNNING", "PAUSED", "SUCCESS", "ERROR", "CANCELLED", "IDLE"]}


def _obj(**props: Any) -> dict:
    return {"type": "object", "properties": props}


_EXECUTION_CREATE = _obj(workflow_name=_STR, workflow_id=_STR, workflow_namespace=_STR,
                         input=_JSON_OBJ, params=_JSON_OBJ, description=_STR, id=_STR,
                         source_execution_id=_STR)
_EXECUTION_UPDATE = _obj(state=_STATES, state_info=_STR, description=_STR, env=_JSON_OBJ,
                         params=_JSON_OBJ)
_TASK_UPDATE = _obj(state=_STATES, reset=_BOOL, env=_JSON_OBJ)
_ACTION_RUN = _obj(name=_STR, input=_JSON_OBJ, params=_JSON_OBJ, description=_STR)
_ACTION_UPDATE = _obj(state=_STATES, output={"anyOf": [_STR, {"type": "object"}]})
_ENVIRONMENT = _obj(name=_STR, description=_STR, variables=_JSON_OBJ, scope=_SCOPE)
_CRON = _obj(name=_STR, pattern=_STR, workflow_name=_STR, workflow_id=_STR,
             workflow_input=_JSON_OBJ, workflow_params=_JSON_OBJ, first_execution_time=_STR,
             remaining_executions=_INT)
_EVENT_CREATE = _obj(name=_STR, workflow_id=_STR, exchange=_STR, topic=_STR, event=_STR,
                     workflow_input=_JSON_OBJ, workflow_params=_JSON_OBJ, scope=_SCOPE)
_EVENT_UPDATE = _obj(name=_STR, workflow_input=_JSON_OBJ, workflow_params=_JSON_OBJ, scope=_SCOPE)
_QUEUE_META = {"type": "object", "additionalProperties": True}
_QUEUE_PATCH = {"type": "array", "items": _obj(op=_STR, path=_STR, value={})}
_MESSAGES = {"anyOf": [
    _obj(messages={"type": "array", "items": _obj(body={}, ttl=_INT, delay=_INT)}),
    {"type": "array", "items": _obj(body={}, ttl=_INT, delay=_INT)}]}
_CLAIM = _obj(ttl=_INT, grace=_INT)

_YAML = {"content": {"text/plain": {"schema": {"type": "string",
                                               "description": "Workflow Language v2 YAML"}}},
         "required": True}


def _json(schema: dict) -> dict:
    return {"content": {"application/json": {"schema": schema}}, "required": True}


BODIES: dict[tuple[str, str], dict] = {
    **{("post", p): _YAML for p in ("/v2/workflows/validate", "/v2/workbooks/validate",
                                    "/v2/actions/validate", "/v2/workflows", "/v2/workbooks",
                                    "/v2/actions")},
    **{("put", p): _YAML for p in ("/v2/workflows", "/v2/workbooks", "/v2/actions")},
    ("post", "/v2/executions"): _json(_EXECUTION_CREATE),
    ("put", "/v2/executions/{exec_id}"): _json(_EXECUTION_UPDATE),
    ("put", "/v2/tasks/{task_id}"): _json(_TASK_UPDATE),
    ("post", "/v2/action_executions"): _json(_ACTION_RUN),
    ("put", "/v2/action_executions/{action_id}"): _json(_ACTION_UPDATE),
    ("post", "/v2/environments"): _json(_ENVIRONMENT),
    ("put", "/v2/environments"): _json(_ENVIRONMENT),
    ("post", "/v2/cron_triggers"): _json(_CRON),
    ("post", "/v2/event_triggers"): _json(_EVENT_CREATE),
    ("put", "/v2/event_triggers/{trigger_id}"): _json(_EVENT_UPDATE),
    ("put", "/v2/queues/{name}"): _json(_QUEUE_META),
    ("patch", "/v2/queues/{name}"): {"content": {"application/openstack-messaging-v2.0-json-patch": {
        "schema": _QUEUE_PATCH}}, "required": True},
    ("post", "/v2/queues/{name}/messages"): _json(_MESSAGES),
    ("post", "/v2/queues/{name}/claims"): _json(_CLAIM),
    ("patch", "/v2/queues/{name}/claims/{claim_id}"): _json(_CLAIM),
}


def _query(name: str, schema: dict, description: str = "") -> dict:
    return {"name": name, "in": "query", "required": False, "schema": schema,
            **({"description": description} if description else {})}


_LIST_QUERY = [
    _query("limit", _INT, "at most this many (1000 at most)"),
    _query("marker", _STR, "the id after which to start"),
    _query("sort_keys", _STR, "comma-separated columns"),
    _query("sort_dirs", _STR, "comma-separated asc/desc"),
    _query("fields", _STR, "comma-separated fields to return"),
    _query("namespace", _STR),
]
# Any column is also an equality filter; the usual ones:
_FILTERS = [_query(n, _STR) for n in ("name", "state", "workflow_name", "created_at", "updated_at",
                                      "id", "tags")]
_COLLECTIONS = ("/v2/workflows", "/v2/workbooks", "/v2/actions", "/v2/environments",
                "/v2/executions", "/v2/tasks", "/v2/action_executions", "/v2/cron_triggers",
                "/v2/event_triggers", "/v2/executions/{exec_id}/tasks",
                "/v2/tasks/{task_id}/action_executions", "/v2/tasks/{task_id}/workflow_executions",
                "/v2/executions/{exec_id}/executions")
QUERIES: dict[tuple[str, str], list[dict]] = {
    **{("get", p): _LIST_QUERY + _FILTERS for p in _COLLECTIONS},
    ("get", "/v2/executions"): _LIST_QUERY + _FILTERS + [_query("include_output", _BOOL)],
    ("get", "/v2/queues"): [_query("limit", _INT), _query("marker", _STR),
                            _query("detailed", _BOOL)],
    ("get", "/v2/queues/{name}/messages"): [_query("limit", _INT), _query("marker", _STR),
                                            _query("echo", _BOOL), _query("include_claimed", _BOOL),
                                            _query("ids", _STR)],
    ("delete", "/v2/queues/{name}/messages"): [_query("ids", _STR), _query("pop", _INT)],
    ("post", "/v2/queues/{name}/claims"): [_query("limit", _INT)],
    ("delete", "/v2/queues/{name}/messages/{message_id}"): [_query("claim_id", _STR)],
    ("delete", "/v2/executions/{exec_id}"): [_query("force", _BOOL)],
    ("post", "/v2/workflows"): [_query("namespace", _STR), _query("scope", _SCOPE)],
    ("put", "/v2/workflows"): [_query("namespace", _STR), _query("scope", _SCOPE)],
    ("post", "/v2/workbooks"): [_query("namespace", _STR), _query("scope", _SCOPE)],
    ("post", "/v2/actions"): [_query("namespace", _STR), _query("scope", _SCOPE)],
}


def add_request_shapes(schema: dict) -> dict:
    """Add the request bodies and query parameters to a generated OpenAPI document."""
    for path, item in schema.get("paths", {}).items():
        for method, op in item.items():
            body = BODIES.get((method, path))
            if body is not None:
                op["requestBody"] = body
            extra = list(QUERIES.get((method, path), []))
            if path.startswith("/v2/queues"):
                extra.append({"name": "Client-ID", "in": "header", "required": False,
                              "schema": {"type": "string", "format": "uuid"}})
            if extra:
                have = {(p["name"], p["in"]) for p in op.get("parameters", [])}
                op.setdefault("parameters", []).extend(
                    q for q in extra if (q["name"], q["in"]) not in have)
    return schema
