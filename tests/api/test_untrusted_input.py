"""Hostile or careless input is refused with a clear 4xx and the server keeps serving:
YAML alias bombs, deep JSON, huge integers, bad names and types, huge bodies,
and execution fields over execution_field_size_limit_kb (issue 9, reproducers 5, 11, 12)."""
from __future__ import annotations

import json
import time

import httpx
import pytest

from tests.api.helpers import unique
from tests.conftest import Server

LIMIT_KB = 4
BODY_LIMIT = 256 * 1024


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    """A server with small limits, so the tests stay small."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LEVANTE_EXECUTION_FIELD_SIZE_LIMIT_KB", str(LIMIT_KB))
        mp.setenv("LEVANTE_MAX_REQUEST_BODY_SIZE", str(BODY_LIMIT))
        s = Server(tmp_path_factory.mktemp("untrusted")).start()
    yield s
    s.stop()


def post_yaml(url: str, path: str, text: str) -> httpx.Response:
    return httpx.post(url + path, content=text, headers={"content-type": "text/plain"})


def fault(r: httpx.Response, status: int = 400) -> str:
    assert r.status_code == status, r.text
    body = r.json()
    return body["faultstring"]


def hello_world_runs(url: str) -> None:
    """The service still serves: a new workflow runs to SUCCESS."""
    name = unique("hello")
    r = post_yaml(url, "/workflows", f"version: '2.0'\n{name}:\n  tasks:\n    t:\n      action: std.noop\n")
    assert r.status_code == 201, r.text
    ex = httpx.post(url + "/executions", json={"workflow_name": name}).json()
    assert finish(url, ex["id"])["state"] == "SUCCESS"


def finish(url: str, exec_id: str, timeout: float = 30.0) -> dict:
    deadline = time.time() + timeout
    while True:
        body = httpx.get(f"{url}/executions/{exec_id}").json()
        if body["state"] in ("SUCCESS", "ERROR", "CANCELLED"):
            return body
        assert time.time() < deadline, body["state"]
        time.sleep(0.05)


# ---------------------------------------------------------------- 5: YAML alias bombs

def alias_bomb(levels: int, where: str = "vars") -> str:
    lines = ["a: &a [x, x, x, x, x, x, x, x, x]"]
    names = "abcdefghijk"
    for i in range(1, levels):
        p, n = names[i - 1], names[i]
        lines.append(f"{n}: &{n} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]")
    body = "".join(f"    {ln}\n" for ln in lines)
    return f"version: '2.0'\n{unique('bomb')}:\n  {where}:\n{body}  tasks:\n    t:\n      action: std.noop\n"


@pytest.mark.parametrize("path", ["/workflows", "/workflows/validate"])
def test_yaml_alias_bomb_is_refused_with_line_and_column(srv, path):
    text = alias_bomb(8)
    assert len(text) < 600
    r = post_yaml(srv.url, path, text)
    if path.endswith("validate"):
        assert r.status_code == 200 and r.json()["valid"] is False
        message = r.json()["error"]
    else:
        message = fault(r)
    assert "aliases expand to more than 10000 nodes" in message, message
    assert "line 8, column" in message, message           # the alias that went over
    # Nothing stored; listing stays small.
    r = httpx.get(srv.url + "/workflows")
    assert r.status_code == 200 and len(r.content) < 1_000_000
    hello_world_runs(srv.url)


def test_alias_bomb_in_a_workbook_and_an_inline_list(srv):
    wb = "version: '2.0'\nname: " + unique("wb") + "\nworkflows:\n" + "".join(
        "  " + ln + "\n" for ln in alias_bomb(7).splitlines()[1:])
    assert "aliases expand" in fault(post_yaml(srv.url, "/workbooks", wb))
    # An inline parameter is read as YAML flow too: a bomb there stays plain text.
    ten = lambda x: ", ".join([x] * 10)     # noqa: E731
    bomb = (f"[&a [{ten('1')}], &b [{ten('*a')}], &c [{ten('*b')}], &d [{ten('*c')}], "
            f"[{ten('*d')}]]")
    name = unique("inl")
    r = post_yaml(srv.url, "/workflows", f"version: '2.0'\n{name}:\n  output:\n"
                  f"    said: <% $.said %>\n  tasks:\n    t:\n      action: std.echo output={bomb}\n"
                  "      publish:\n        said: <% task().result %>\n")
    assert r.status_code == 201, r.text
    ex = httpx.post(srv.url + "/executions", json={"workflow_name": name}).json()
    done = finish(srv.url, ex["id"])
    assert done["state"] == "SUCCESS", done["state_info"]
    assert json.loads(done["output"]) == {"said": bomb}


def test_an_alias_inside_its_own_anchor_is_refused(srv):
    text = f"version: '2.0'\n{unique()}:\n  vars:\n    loop: &l [1, *l]\n  tasks:\n    t:\n      action: std.noop\n"
    message = fault(post_yaml(srv.url, "/workflows", text))
    assert "an alias refers to a node that contains it" in message and "line 4, column 18" in message


def test_a_few_aliases_still_work(srv):
    name = unique()
    text = (f"version: '2.0'\n{name}:\n  vars:\n    base: &base {{retries: 3}}\n"
            "    copy: *base\n  tasks:\n    t:\n      action: std.noop\n")
    assert post_yaml(srv.url, "/workflows", text).status_code == 201


# ---------------------------------------------------------------- 11: no 5xx for malformed JSON

JSON_ENDPOINTS = [("POST", "/executions"), ("POST", "/environments"), ("PUT", "/environments"),
                  ("POST", "/action_executions"), ("POST", "/cron_triggers"),
                  ("POST", "/event_triggers"), ("PUT", "/executions/x"), ("PUT", "/tasks/x"),
                  ("PUT", "/action_executions/x"), ("PUT", "/event_triggers/x"),
                  ("POST", "/queues/q1/messages")]


@pytest.mark.parametrize("method, path", JSON_ENDPOINTS)
def test_deeply_nested_json_is_400_on_every_json_endpoint(srv, method, path):
    deep = "[" * 10000 + "]" * 10000
    headers = {"content-type": "application/json", "Client-ID": "3381af92-2b9e-11e3-b191-71861300734c"}
    r = httpx.request(method, srv.url + path, content=deep, headers=headers)
    assert r.status_code == 400, r.text
    assert "nested too deeply" in r.json()["faultstring"] or path.startswith("/queues")
    # Deep JSON inside a JSON-text field too.
    r = httpx.post(srv.url + "/executions", json={"workflow_name": "x", "input": "{\"a\": " + deep + "}"})
    assert fault(r) == "Field 'input' is nested too deeply (more than 100 levels; setting max_json_depth)"
    assert httpx.get(srv.url + "/").status_code == 200


@pytest.mark.parametrize("body, message", [
    ({"name": {"a": 1}}, "Environment name must be a string, not dict"),
    ({"name": ["x"]}, "Environment name must be a string, not list"),
    ({"name": "env_desc", "description": {"a": 1}}, "Environment description must be a string, not dict"),
    ({"name": "env_scope", "scope": ["public"]}, "Environment scope must be a string, not list"),
    ({"name": "env_scope2", "scope": "everyone"}, "Environment scope must be 'private' or 'public'"),
])
def test_environment_fields_of_the_wrong_type_are_400(srv, body, message):
    for method in ("POST", "PUT"):
        r = httpx.request(method, srv.url + "/environments", json=body)
        assert message in fault(r)
        assert "SELECT" not in r.text and "INSERT" not in r.text
    assert httpx.get(srv.url + "/environments").status_code == 200


def test_integers_of_over_4300_digits_are_400(srv):
    big = "1" * 5000
    r = httpx.post(srv.url + "/executions", content=f'{{"workflow_name": "x", "input": {{"a": {big}}}}}',
                   headers={"content-type": "application/json"})
    assert "Request holds an integer with too many digits" in fault(r)
    r = httpx.post(srv.url + "/executions", json={"workflow_name": "x", "input": f'{{"a": {big}}}'})
    assert "Field 'input' holds an integer with too many digits" in fault(r)
    inline = f"version: '2.0'\n{unique()}:\n  tasks:\n    t:\n      action: std.echo output={big}\n"
    assert "line 5, column 15" in fault(post_yaml(srv.url, "/workflows", inline))
    in_vars = f"version: '2.0'\n{unique()}:\n  vars: {{a: {big}}}\n  tasks:\n    t:\n      action: std.noop\n"
    message = fault(post_yaml(srv.url, "/workflows", in_vars))
    assert "line 3, column 13" in message and "integer too long" in message
    hello_world_runs(srv.url)


# ---------------------------------------------------------------- 12: names, body size

BAD_NAMES = [("../../etc", "must not contain '/'"), ("a/b", "must not contain '/'"),
             ("tab\there", "must not contain control characters"),
             ("x" * 300, "is too long: 300 characters")]


@pytest.mark.parametrize("name, problem", BAD_NAMES)
def test_bad_names_are_refused_for_every_named_resource(srv, name, problem):
    quoted = json.dumps(name)
    wf = f"version: '2.0'\n{quoted}:\n  tasks:\n    t:\n      action: std.noop\n"
    assert problem in fault(post_yaml(srv.url, "/workflows", wf))
    wb = f"version: '2.0'\nname: {quoted}\nworkflows:\n  w:\n    tasks:\n      t:\n        action: std.noop\n"
    assert problem in fault(post_yaml(srv.url, "/workbooks", wb))
    act = f"version: '2.0'\n{quoted}:\n  base: std.noop\n"
    assert problem in fault(post_yaml(srv.url, "/actions", act))
    assert problem in fault(httpx.post(srv.url + "/environments", json={"name": name}))
    target = unique("target")
    assert post_yaml(srv.url, "/workflows",
                     f"version: '2.0'\n{target}:\n  tasks:\n    t:\n      action: std.noop\n").status_code == 201
    assert problem in fault(httpx.post(srv.url + "/cron_triggers", json={
        "name": name, "pattern": "0 0 1 1 *", "workflow_name": target}))
    wf_id = httpx.get(f"{srv.url}/workflows/{target}").json()["id"]
    assert problem in fault(httpx.post(srv.url + "/event_triggers", json={
        "name": name, "workflow_id": wf_id, "exchange": "openstack", "topic": "notifications",
        "event": "compute.instance.create.end"}))
    if len(name) <= 36:
        r = httpx.post(srv.url + "/executions", json={"workflow_name": target, "id": name})
        assert problem in fault(r)
    assert "must not" in fault(httpx.post(srv.url + "/executions",
                                          json={"workflow_name": target, "id": "../../x"}))
    # Nothing of it was stored.
    for path, key in (("/environments", "environments"), ("/cron_triggers", "cron_triggers"),
                      ("/event_triggers", "event_triggers"), ("/workflows", "workflows")):
        listed = httpx.get(srv.url + path).json()[key]
        assert all(item["name"] != name for item in listed)


def test_spaces_are_refused_in_definition_names_as_in_mistral(srv):
    wf = "version: '2.0'\n\"two words\":\n  tasks:\n    t:\n      action: std.noop\n"
    assert "Workflow name 'two words' must not contain spaces" in fault(post_yaml(srv.url, "/workflows", wf))


def test_bodies_over_the_limit_are_413(srv):
    big = b"x" * (BODY_LIMIT + 1)
    message = fault(httpx.post(srv.url + "/environments", content=big,
                               headers={"content-type": "application/json"}), 413)
    assert message.startswith(f"Request body is too large: {BODY_LIMIT + 1} bytes, at most {BODY_LIMIT}")
    assert "max_request_body_size" in message

    def chunks():       # no Content-Length: counted as it arrives
        for _ in range(BODY_LIMIT // 4096 + 2):
            yield b"x" * 4096

    r = httpx.post(srv.url + "/workflows", content=chunks(), headers={"content-type": "text/plain"})
    assert "Request body is too large" in fault(r, 413)
    assert r.json()["faultcode"] == "Client"
    hello_world_runs(srv.url)


def test_default_body_limit_is_10_mb(server):
    r = httpx.post(server.url + "/environments", content=b"x" * (10 * 1024 * 1024 + 1),
                   headers={"content-type": "application/json"})
    assert r.status_code == 413 and "at most 10485760" in r.json()["faultstring"]


# ---------------------------------------------------------------- execution field size limit

def size_message(cls: str, field: str) -> str:
    return f"Field size limit exceeded [class={cls}, field={field}, size="


def test_execution_input_params_and_env_over_the_limit_are_400(srv):
    name = unique()
    assert post_yaml(srv.url, "/workflows", f"version: '2.0'\n{name}:\n  input: [a]\n  tasks:\n"
                     "    t:\n      action: std.noop\n").status_code == 201
    big = "x" * (LIMIT_KB * 1024 + 10)
    message = fault(httpx.post(srv.url + "/executions", json={"workflow_name": name,
                                                            "input": json.dumps({"a": big})}))
    assert message.startswith(size_message("WorkflowExecution", "input"))
    assert f"limit={LIMIT_KB}KB" in message and "execution_field_size_limit_kb" in message
    message = fault(httpx.post(srv.url + "/executions", json={
        "workflow_name": name, "input": json.dumps({"a": 1}), "params": json.dumps({"env": {"v": big}})}))
    assert message.startswith(size_message("WorkflowExecution", "params"))
    message = fault(httpx.post(srv.url + "/environments", json={"name": unique("env"),
                                                               "variables": json.dumps({"v": big})}))
    assert message.startswith(size_message("Environment", "variables"))
    message = fault(httpx.post(srv.url + "/action_executions", json={
        "name": "std.echo", "input": json.dumps({"output": big})}))
    assert message.startswith(size_message("ActionExecution", "input"))
    message = fault(httpx.post(srv.url + "/cron_triggers", json={
        "name": unique("cron"), "pattern": "0 0 1 1 *", "workflow_name": name,
        "workflow_input": json.dumps({"a": big})}))
    assert message.startswith(size_message("Trigger", "workflow_input"))
    message = fault(httpx.put(srv.url + "/action_executions/any", json={
        "state": "SUCCESS", "output": json.dumps({"v": big})}))
    assert message.startswith(size_message("ActionExecution", "output"))


@pytest.mark.parametrize("body, where, cls, field", [
    ("  tasks:\n    t:\n      action: std.javascript\n      input:\n"
     "        script: return 'x'.repeat(10000)\n",
     "task", "ActionExecution", "output"),
    ("  tasks:\n    t:\n      action: std.echo output=<% range(2000) %>\n",
     "task", "ActionExecution", "input"),
    ("  tasks:\n    t:\n      action: std.noop\n      publish:\n        big: <% range(2000) %>\n",
     "task", "TaskExecution", "published"),
    ("  output:\n    big: <% range(2000) %>\n  tasks:\n    t:\n      action: std.noop\n",
     "execution", "WorkflowExecution", "output"),
])
def test_results_published_and_output_over_the_limit_fail_clearly(srv, body, where, cls, field):
    name = unique()
    r = post_yaml(srv.url, "/workflows", f"version: '2.0'\n{name}:\n{body}")
    assert r.status_code == 201, r.text
    ex = httpx.post(srv.url + "/executions", json={"workflow_name": name}).json()
    done = finish(srv.url, ex["id"])
    assert done["state"] == "ERROR"
    assert size_message(cls, field) in done["state_info"], done["state_info"]
    assert "execution_field_size_limit_kb" in done["state_info"]
    if where == "task":
        (task,) = httpx.get(f"{srv.url}/executions/{ex['id']}/tasks").json()["tasks"]
        assert task["state"] == "ERROR" and size_message(cls, field) in task["state_info"]
    hello_world_runs(srv.url)


# ---------------------------------------------------------------- found by the fuzzing (on PostgreSQL)

def test_nul_characters_are_400_in_urls_and_bodies(srv):
    for path in ("/workflows/%00", "/queues/q/messages/%00", "/executions?workflow_name=a%00b"):
        assert "NUL" in fault(httpx.get(srv.url + path))
    r = httpx.post(srv.url + "/environments", json={"name": "nul_env", "description": "a\u0000b"})
    assert "must not hold NUL characters" in fault(r)
    r = httpx.post(srv.url + "/executions", json={"workflow_name": "x", "input": json.dumps({"a": "\u0000"})})
    assert "Field 'input' must not hold NUL characters" in fault(r)


def test_filters_take_the_column_type(srv):
    assert "Invalid value for filter created_at: 'abc'" in fault(
        httpx.get(srv.url + "/executions", params={"created_at": "abc"}))
    assert "Invalid value for filter created_at" in fault(
        httpx.get(srv.url + "/tasks", params={"created_at": "in:1,x"}))
    r = httpx.get(srv.url + "/executions", params={"created_at": "gte:2020-01-01 00:00:00"})
    assert r.status_code == 200, r.text
    assert httpx.get(srv.url + "/workflows", params={"created_at": "gt:0"}).status_code == 200


def test_namespace_scope_and_task_name_are_checked(srv):
    wf = f"version: '2.0'\n{unique()}:\n  tasks:\n    t:\n      action: std.noop\n"
    r = httpx.post(srv.url + "/workflows", params={"namespace": "n" * 300}, content=wf,
                   headers={"content-type": "text/plain"})
    assert "Namespace" in fault(r) and "too long" in r.json()["faultstring"]
    r = httpx.post(srv.url + "/workbooks", params={"scope": "everyone"},
                   content=f"version: '2.0'\nname: {unique()}\nworkflows:\n  w:\n    tasks:\n      t:\n"
                           "        action: std.noop\n", headers={"content-type": "text/plain"})
    assert "Scope must be 'private' or 'public'" in fault(r)
    r = httpx.post(srv.url + "/executions", json={"workflow_name": "x", "workflow_namespace": "n/s"})
    assert "Namespace 'n/s' must not contain '/'" in fault(r)
    long_task = f"version: '2.0'\n{unique()}:\n  tasks:\n    {'t' * 300}:\n      action: std.noop\n"
    assert "length of a task name must not exceed 255" in fault(post_yaml(srv.url, "/workflows", long_task))
