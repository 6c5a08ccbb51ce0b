"""The service's own REST API as ``mistral.*`` actions, so a workflow can drive
Levante: start executions, read environments, complete actions, ...

Each operation below is one function whose signature is the action's input,
named like python-mistralclient's manager method (``executions.create`` ->
``mistral.executions_create``) with the same parameter names, and whose body
says which REST call it is. The action classes are generated from these
functions (``ACTIONS``); running one sends the call over HTTP to
``LEVANTE_API_URL`` (the server sets it to its own address; default
``http://127.0.0.1:8989/v2``) and returns the API's JSON: an object (dict) for
one resource, a list for a listing, null for a delete. As in
python-mistralclient, an environment's ``variables`` come back as a dict.

An HTTP error makes the action fail with the API's message
(``mistral.environments_get failed: 404 Environment not found [name=x]``).
"""
from __future__ import annotations

import asyncio
import inspect
import json
import os
import threading
from dataclasses import dataclass, field
from typing import Any, Callable
from urllib.parse import quote

import httpx
from mistral_lib import actions

API_URL_ENV = "LEVANTE_API_URL"
DEFAULT_API_URL = "http://127.0.0.1:8989/v2"
DEFAULT_TIMEOUT = 60.0


@dataclass
class Call:
    """One REST call: what an operation function returns."""

    method: str
    path: str
    query: dict = field(default_factory=dict)
    json: Any = None
    text: str | None = None          # a YAML definition, sent as text/plain
    key: str | None = None           # the listing's key in the response body
    decode: Callable[[Any], Any] | None = None


OPERATIONS: dict[str, Callable[..., Call]] = {}


def operation(fn: Callable[..., Call]) -> Callable[..., Call]:
    OPERATIONS["mistral." + fn.__name__] = fn
    return fn


def _seg(value: Any) -> str:
    return quote(str(value), safe="")


def _page(marker=None, limit=None, sort_keys=None, sort_dirs=None, fields=None,
          filters: dict | None = None, **extra) -> dict:
    """The paging and filter query of python-mistralclient's ``list`` methods."""
    q: dict[str, Any] = {}
    if marker:
        q["marker"] = marker
    if limit and int(limit) > 0:
        q["limit"] = int(limit)
    if sort_keys:
        q["sort_keys"] = sort_keys if isinstance(sort_keys, str) else ",".join(sort_keys)
    if sort_dirs:
        q["sort_dirs"] = sort_dirs if isinstance(sort_dirs, str) else ",".join(sort_dirs)
    if fields:
        q["fields"] = fields if isinstance(fields, str) else ",".join(fields)
    for k, v in list((filters or {}).items()) + list(extra.items()):
        if v is not None and v != "":
            q[k] = json.dumps(v) if isinstance(v, (dict, list, bool)) else v
    return q


def _json_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _env_variables(item: Any) -> Any:
    if isinstance(item, dict) and isinstance(item.get("variables"), str):
        try:
            item = dict(item, variables=json.loads(item["variables"]))
        except ValueError:
            pass
    return item


# ---------------------------------------------------------------- workflows

@operation
def workflows_list(namespace='', marker='', limit=None, sort_keys='', sort_dirs='', fields='',
                   **filters):
    """List workflows (GET /v2/workflows)."""
    return Call("GET", "/workflows", _page(marker, limit, sort_keys, sort_dirs, fields, filters,
                                           namespace=namespace), key="workflows")


@operation
def workflows_get(identifier, namespace=''):
    """Get a workflow by name or id (GET /v2/workflows/{identifier})."""
    return Call("GET", f"/workflows/{_seg(identifier)}", _page(namespace=namespace))


@operation
def workflows_create(definition, namespace='', scope='private'):
    """Create the workflows of a YAML definition (POST /v2/workflows); returns a list."""
    return Call("POST", "/workflows", _page(namespace=namespace, scope=scope), text=definition,
                key="workflows")


@operation
def workflows_update(definition, namespace='', scope='private'):
    """Update the workflows of a YAML definition (PUT /v2/workflows); returns a list."""
    return Call("PUT", "/workflows", _page(namespace=namespace, scope=scope), text=definition,
                key="workflows")


@operation
def workflows_delete(identifier, namespace=None):
    """Delete a workflow (DELETE /v2/workflows/{identifier})."""
    return Call("DELETE", f"/workflows/{_seg(identifier)}", _page(namespace=namespace))


@operation
def workflows_validate(definition):
    """Validate a workflow definition (POST /v2/workflows/validate)."""
    return Call("POST", "/workflows/validate", text=definition)


# ---------------------------------------------------------------- workbooks

@operation
def workbooks_list(namespace='', marker='', limit=None, sort_keys='', sort_dirs='', fields='',
                   **filters):
    """List workbooks (GET /v2/workbooks)."""
    return Call("GET", "/workbooks", _page(marker, limit, sort_keys, sort_dirs, fields, filters,
                                           namespace=namespace), key="workbooks")


@operation
def workbooks_get(name, namespace=''):
    """Get a workbook (GET /v2/workbooks/{name})."""
    return Call("GET", f"/workbooks/{_seg(name)}", _page(namespace=namespace))


@operation
def workbooks_create(definition, namespace='', scope='private'):
    """Create a workbook from its YAML definition (POST /v2/workbooks)."""
    return Call("POST", "/workbooks", _page(namespace=namespace, scope=scope), text=definition)


@operation
def workbooks_update(definition, namespace='', scope='private'):
    """Update a workbook from its YAML definition (PUT /v2/workbooks)."""
    return Call("PUT", "/workbooks", _page(namespace=namespace, scope=scope), text=definition)


@operation
def workbooks_delete(name, namespace=''):
    """Delete a workbook (DELETE /v2/workbooks/{name})."""
    return Call("DELETE", f"/workbooks/{_seg(name)}", _page(namespace=namespace))


@operation
def workbooks_validate(definition):
    """Validate a workbook definition (POST /v2/workbooks/validate)."""
    return Call("POST", "/workbooks/validate", text=definition)


# ---------------------------------------------------------------- actions

@operation
def actions_list(marker='', limit=None, sort_keys='', sort_dirs='', fields='', namespace='',
                 **filters):
    """List actions, built-in and ad-hoc (GET /v2/actions)."""
    return Call("GET", "/actions", _page(marker, limit, sort_keys, sort_dirs, fields, filters,
                                         namespace=namespace), key="actions")


@operation
def actions_get(identifier, namespace=''):
    """Get an action (GET /v2/actions/{identifier})."""
    path = f"/actions/{_seg(identifier)}" + (f"/{_seg(namespace)}" if namespace else "")
    return Call("GET", path)


@operation
def actions_create(definition, scope='private', namespace=''):
    """Create the ad-hoc actions of a YAML definition (POST /v2/actions); returns a list."""
    return Call("POST", "/actions", _page(scope=scope, namespace=namespace), text=definition,
                key="actions")


@operation
def actions_update(definition, scope='private', namespace=''):
    """Update the ad-hoc actions of a YAML definition (PUT /v2/actions); returns a list."""
    return Call("PUT", "/actions", _page(scope=scope, namespace=namespace), text=definition,
                key="actions")


@operation
def actions_delete(identifier, namespace=''):
    """Delete an ad-hoc action (DELETE /v2/actions/{identifier})."""
    path = f"/actions/{_seg(identifier)}" + (f"/{_seg(namespace)}" if namespace else "")
    return Call("DELETE", path)


@operation
def actions_validate(definition):
    """Validate an ad-hoc action definition (POST /v2/actions/validate)."""
    return Call("POST", "/actions/validate", text=definition)


# ---------------------------------------------------------------- executions

@operation
def executions_create(wf_identifier='', namespace='', workflow_input=None, description='',
                      source_execution_id=None, **params):
    """Start a workflow execution (POST /v2/executions).

    ``wf_identifier`` is a workflow name or id (``workflow_identifier``, the name
    older clients used, is accepted too); other keyword parameters become the
    execution's params (``env``, ``task_name``, ...).
    """
    wf_identifier = wf_identifier or params.pop("workflow_identifier", "")
    if not (wf_identifier or source_execution_id):
        raise ValueError("wf_identifier (a workflow name or id) or source_execution_id is required")
    body: dict[str, Any] = {"description": description or ""}
    if source_execution_id:
        body["source_execution_id"] = source_execution_id
    if wf_identifier:
        body["workflow_id" if _is_uuid(wf_identifier) else "workflow_name"] = wf_identifier
    if namespace:
        body["workflow_namespace"] = namespace
    if workflow_input:
        body["input"] = _json_text(workflow_input)
    if params:
        body["params"] = json.dumps(params)
    return Call("POST", "/executions", json=body)


@operation
def executions_get(id):
    """Get a workflow execution (GET /v2/executions/{id})."""
    return Call("GET", f"/executions/{_seg(id)}")


@operation
def executions_list(task=None, marker='', limit=None, sort_keys='', sort_dirs='', fields='',
                    **filters):
    """List workflow executions (GET /v2/executions); ``task`` = parent task execution id."""
    if task:
        filters["task_execution_id"] = task
    return Call("GET", "/executions", _page(marker, limit, sort_keys, sort_dirs, fields, filters),
                key="executions")


@operation
def executions_update(id, state, description=None, env=None):
    """Change an execution's state (PAUSED, RUNNING, SUCCESS, ERROR, CANCELLED),
    description or env (PUT /v2/executions/{id})."""
    body: dict[str, Any] = {}
    if state:
        body["state"] = state
    if description:
        body["description"] = description
    if env:
        body["params"] = {"env": env}
    return Call("PUT", f"/executions/{_seg(id)}", json=body)


@operation
def executions_delete(id, force=None):
    """Delete a workflow execution (DELETE /v2/executions/{id})."""
    return Call("DELETE", f"/executions/{_seg(id)}", _page(force=True if force else None))


@operation
def executions_get_ex_sub_executions(id, errors_only='', max_depth=-1):
    """The sub-executions of an execution (GET /v2/executions/{id}/executions)."""
    return Call("GET", f"/executions/{_seg(id)}/executions",
                {"max_depth": max_depth, "errors_only": errors_only}, key="executions")


@operation
def executions_get_report(id, errors_only=True, max_depth=None, statistics_only=False):
    """An execution's report (GET /v2/executions/{id}/report)."""
    return Call("GET", f"/executions/{_seg(id)}/report",
                _page(errors_only=True if errors_only else None,
                      statistics_only=True if statistics_only else None, max_depth=max_depth))


# ---------------------------------------------------------------- tasks

@operation
def tasks_list(workflow_execution_id=None, marker='', limit=None, sort_keys='', sort_dirs='',
               fields=None, **filters):
    """List task executions (GET /v2/tasks, or of one execution)."""
    path = f"/executions/{_seg(workflow_execution_id)}/tasks" if workflow_execution_id else "/tasks"
    return Call("GET", path, _page(marker, limit, sort_keys, sort_dirs, fields, filters), key="tasks")


@operation
def tasks_get(id):
    """Get a task execution (GET /v2/tasks/{id})."""
    return Call("GET", f"/tasks/{_seg(id)}")


@operation
def tasks_rerun(task_ex_id, reset=True, env=None):
    """Run a failed task again (PUT /v2/tasks/{id} with state RUNNING)."""
    body: dict[str, Any] = {"id": task_ex_id, "state": "RUNNING", "reset": reset}
    if env:
        body["env"] = _json_text(env)
    return Call("PUT", f"/tasks/{_seg(task_ex_id)}", json=body)


# ---------------------------------------------------------------- action executions

@operation
def action_executions_create(name, input=None, namespace='', **params):
    """Run an action outside a workflow (POST /v2/action_executions); params:
    ``save_result``, ``run_sync``."""
    body: dict[str, Any] = {"name": name}
    if input:
        body["input"] = _json_text(input)
    if params:
        body["params"] = json.dumps(params)
    if namespace:
        body["workflow_namespace"] = namespace
    return Call("POST", "/action_executions", json=body)


@operation
def action_executions_get(id):
    """Get an action execution (GET /v2/action_executions/{id})."""
    return Call("GET", f"/action_executions/{_seg(id)}")


@operation
def action_executions_list(task_execution_id=None, limit=None, marker='', fields=None,
                           sort_keys='', sort_dirs='', **filters):
    """List action executions (GET /v2/action_executions, or of one task)."""
    path = (f"/tasks/{_seg(task_execution_id)}/action_executions" if task_execution_id
            else "/action_executions")
    return Call("GET", path, _page(marker, limit, sort_keys, sort_dirs, fields, filters),
                key="action_executions")


@operation
def action_executions_update(id, state=None, output=None):
    """Complete an asynchronous action (PUT /v2/action_executions/{id})."""
    if not (state or output):
        raise ValueError("Please provide either state or output for action execution.")
    body: dict[str, Any] = {}
    if state:
        body["state"] = state
    if output:
        body["output"] = output
    return Call("PUT", f"/action_executions/{_seg(id)}", json=body)


@operation
def action_executions_delete(id):
    """Delete an action execution run outside a workflow (DELETE /v2/action_executions/{id})."""
    return Call("DELETE", f"/action_executions/{_seg(id)}")


# ---------------------------------------------------------------- environments

@operation
def environments_list(marker='', limit=None, sort_keys='', sort_dirs='', fields='', **filters):
    """List environments (GET /v2/environments)."""
    return Call("GET", "/environments", _page(marker, limit, sort_keys, sort_dirs, fields, filters),
                key="environments", decode=lambda items: [_env_variables(i) for i in items])


@operation
def environments_get(name):
    """Get an environment (GET /v2/environments/{name}); ``variables`` is a dict."""
    return Call("GET", f"/environments/{_seg(name)}", decode=_env_variables)


@operation
def environments_create(name, variables, description=None, scope=None):
    """Create an environment (POST /v2/environments)."""
    body = {"name": name, "variables": _json_text(variables)}
    if description is not None:
        body["description"] = description
    if scope:
        body["scope"] = scope
    return Call("POST", "/environments", json=body, decode=_env_variables)


@operation
def environments_update(name, variables=None, description=None, scope=None):
    """Update an environment (PUT /v2/environments)."""
    body: dict[str, Any] = {"name": name}
    if variables is not None:
        body["variables"] = _json_text(variables)
    if description is not None:
        body["description"] = description
    if scope:
        body["scope"] = scope
    return Call("PUT", "/environments", json=body, decode=_env_variables)


@operation
def environments_delete(name):
    """Delete an environment (DELETE /v2/environments/{name})."""
    return Call("DELETE", f"/environments/{_seg(name)}")


# ---------------------------------------------------------------- sending

def _is_uuid(value: Any) -> bool:
    import uuid

    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


_client: httpx.Client | None = None
_client_lock = threading.Lock()


def _http() -> httpx.Client:
    global _client
    with _client_lock:
        if _client is None:
            try:
                timeout = float(os.environ.get("LEVANTE_API_TIMEOUT", DEFAULT_TIMEOUT))
            except ValueError:
                timeout = DEFAULT_TIMEOUT
            _client = httpx.Client(timeout=timeout)
        return _client


def api_url() -> str:
    return os.environ.get(API_URL_ENV, DEFAULT_API_URL).rstrip("/")


class ServiceCallError(Exception):
    pass


def send(call: Call, context: Any = None) -> Any:
    headers = {}
    token = getattr(getattr(context, "security", None), "auth_token", None)
    if token:
        headers["X-Auth-Token"] = token
    kwargs: dict[str, Any] = {"params": call.query or None, "headers": headers}
    if call.text is not None:
        kwargs["content"] = call.text.encode()
        headers["Content-Type"] = "text/plain"
    elif call.json is not None:
        kwargs["json"] = call.json
    try:
        resp = _http().request(call.method, api_url() + call.path, **kwargs)
    except httpx.HTTPError as e:
        raise ServiceCallError(f"cannot reach the API at {api_url()}: {e}") from e
    if resp.status_code >= 400:
        raise ServiceCallError(f"{resp.status_code} {_fault(resp)}")
    if resp.status_code == 204 or not resp.content:
        return None
    try:
        body = resp.json()
    except ValueError:
        return resp.text
    if call.key and isinstance(body, dict) and call.key in body:
        body = body[call.key]
    return call.decode(body) if call.decode else body


def _fault(resp: httpx.Response) -> str:
    try:
        body = resp.json()
    except ValueError:
        return resp.text.strip() or resp.reason_phrase
    if isinstance(body, dict):
        return str(body.get("faultstring") or body.get("detail") or body)
    return str(body)


# ---------------------------------------------------------------- the action classes

class ServiceAction(actions.Action):
    """Base of the generated ``mistral.*`` actions: one REST call to the service."""

    action_name = ""
    _operation: Callable[..., Call]

    def __init__(self, **kwargs):
        sig = inspect.signature(type(self)._operation)
        try:
            self._bound = sig.bind(**kwargs)
        except TypeError as e:
            raise TypeError(f"{self.action_name}: {e}") from e

    def run(self, context):
        if _on_event_loop():
            # Called on the API's own event loop (a synchronous run-action): a
            # request to this same server could not be answered until this call
            # returned, so fail at once instead of hanging the server.
            return actions.Result(error=(
                f"{self.action_name} failed: a mistral.* action cannot run on the API's event "
                "loop; run it from a workflow or with run-action params save_result=true "
                "(the executor runs it)"))
        try:
            call = type(self)._operation(*self._bound.args, **self._bound.kwargs)
            _mark_started_by(call, context)
            return send(call, context)
        except (ServiceCallError, ValueError) as e:
            return actions.Result(error=f"{self.action_name} failed: {e}")


def _mark_started_by(call: Call, context: Any) -> None:
    """An execution started from a workflow counts against that workflow's root
    execution (caps max_executions_per_root and max_nesting_depth): tell the
    service which execution asks (a param it takes out before storing)."""
    caller = getattr(getattr(context, "execution", None), "workflow_execution_id", None)
    if caller and call.method == "POST" and call.path == "/executions" and isinstance(call.json, dict):
        params = json.loads(call.json.get("params") or "{}")
        params["started_by_execution_id"] = caller
        call.json["params"] = json.dumps(params)


def _on_event_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def _make_class(name: str, fn: Callable[..., Call]) -> type:
    sig = inspect.signature(fn)
    self_param = inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)

    def __init__(self, **kwargs):
        ServiceAction.__init__(self, **kwargs)

    # The action's input signature is the operation's (ActionDef reads it).
    __init__.__signature__ = sig.replace(parameters=[self_param, *sig.parameters.values()])
    cls_name = "".join(p.capitalize() for p in fn.__name__.split("_")) + "Action"
    return type(cls_name, (ServiceAction,), {
        "__init__": __init__, "__doc__": inspect.getdoc(fn), "__module__": __name__,
        "action_name": name, "_operation": staticmethod(fn)})


# Read-only calls may run again after an executor crash without harm.
_SAFE_SUFFIXES = ("_get", "_list", "_validate", "_get_report", "_get_ex_sub_executions")

ACTIONS: dict[str, tuple[type, bool]] = {
    name: (_make_class(name, fn), name.endswith(_SAFE_SUFFIXES)) for name, fn in OPERATIONS.items()
}
