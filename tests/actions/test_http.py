"""std.http and std.mistral_http against a real local HTTP server: the action
classes through the registry, and whole workflows on a real Levante server."""
from __future__ import annotations

import base64
import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from mistral_lib.actions import context as ml_context

from levante.actions.registry import Registry
from levante.config import reload_settings
from tests.conftest import Server

REGISTRY = Registry(load_plugins=False)
SETTING_VARS = ("LEVANTE_CONFIG", "LEVANTE_HTTP_DENIED_CIDRS", "LEVANTE_HTTP_ALLOWED_HOSTS",
                "LEVANTE_HTTP_DEFAULT_TIMEOUT", "LEVANTE_HTTP_MAX_RESPONSE_SIZE")


# ---------------------------------------------------------------- a local HTTP server

class Handler(BaseHTTPRequestHandler):
    server: "Target"

    def log_message(self, *args):
        pass

    def _send(self, status: int, body: bytes | str = b"", ctype: str | None = None,
              headers: dict | None = None, length: bool = True) -> None:
        data = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        if ctype:
            self.send_header("Content-Type", ctype)
        for k, v in (headers or {}).items():
            for one in v if isinstance(v, list) else [v]:
                self.send_header(k, one)
        if length:
            self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _handle(self) -> None:
        parts = urlsplit(self.path)
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n).decode() if n else ""
        seen = {"method": self.command, "path": parts.path, "query": parse_qs(parts.query),
                "headers": dict(self.headers.items()), "body": body}
        self.server.requests.append(seen)
        route = parts.path
        q = {k: v[0] for k, v in parse_qs(parts.query).items()}
        if route == "/json":
            self._send(200, json.dumps({"hello": "world", "n": 1}), "application/json")
        elif route == "/text":
            self._send(200, "plain text, héllo", "text/plain; charset=utf-8")
        elif route == "/number-as-text":
            self._send(200, "42", "text/plain")
        elif route == "/empty":
            self._send(204)
        elif route.startswith("/status/"):
            code = int(route.rsplit("/", 1)[1])
            if q.get("json"):
                self._send(code, json.dumps({"error": f"code {code}"}), "application/json")
            else:
                self._send(code, f"status {code} here", "text/plain")
        elif route == "/redirect":
            self._send(int(q.get("code", 302)), headers={"Location": q["to"]})
        elif route == "/echo":
            auth = self.headers.get("Authorization", "")
            decoded = base64.b64decode(auth[6:]).decode() if auth.startswith("Basic ") else None
            self._send(200, json.dumps({**seen, "auth": decoded, "cookie": self.headers.get("Cookie")}),
                       "application/json")
        elif route == "/set-cookie":
            self._send(200, "ok", "text/plain", headers={"Set-Cookie": ["a=1; Path=/", "b=2; Path=/"],
                                                         "X-Multi": ["one", "two"]})
        elif route == "/big":
            self._send(200, "x" * int(q.get("size", 1000)), "text/plain",
                       length=q.get("length", "yes") == "yes")
        elif route == "/slow":
            time.sleep(float(q.get("s", 1)))
            self._send(200, "late", "text/plain")
        else:
            self._send(404, "no such route", "text/plain")

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _handle


class Target(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, host: str):
        super().__init__((host, 0), Handler)
        self.requests: list[dict] = []
        self.base = f"http://{host}:{self.server_port}"
        threading.Thread(target=self.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.shutdown()
        self.server_close()


@pytest.fixture(scope="module")
def target():
    srv = Target("127.0.0.1")
    yield srv
    srv.close()


@pytest.fixture(scope="module")
def other_target():
    """A second server on 127.0.0.2 (another loopback address) for redirect checks."""
    srv = Target("127.0.0.2")       # all of 127.0.0.0/8 is loopback on Linux
    yield srv
    srv.close()


@pytest.fixture(autouse=True)
def settings(monkeypatch):
    """Each test starts from the default settings; ``settings(name=value)`` changes them."""
    for var in SETTING_VARS:
        monkeypatch.delenv(var, raising=False)
    reload_settings()

    def apply(**values):
        for name, value in values.items():
            monkeypatch.setenv("LEVANTE_" + name.upper(), value)
        return reload_settings()

    yield apply
    monkeypatch.undo()
    reload_settings()


@pytest.fixture
def open_net(settings):
    """Allow every address (the local target is on loopback, denied by default)."""
    settings(http_denied_cidrs="")


def ctx(action_id="act-1"):
    return ml_context.ActionContext(execution_ctx=ml_context.ExecutionContext(
        workflow_execution_id="wf-ex-1", task_execution_id="task-1", action_execution_id=action_id,
        workflow_name="my_wf"))


def run(name="std.http", **given):
    return REGISTRY.get(name).run(given, ctx())


# ---------------------------------------------------------------- std.http

def test_signature_matches_mistral():
    assert REGISTRY.get("std.http").input_display() == (
        'url, method="GET", params=null, body=null, json=null, headers=null, cookies=null, '
        'auth=null, timeout=null, allow_redirects=null, proxies=null, verify=null')
    assert REGISTRY.get("std.mistral_http").input_display() == REGISTRY.get("std.http").input_display()
    assert not REGISTRY.get("std.http").safe_rerun and not REGISTRY.get("std.mistral_http").safe_rerun


def test_json_response(open_net, target):
    out = run(url=target.base + "/json")
    assert out.kind == "ok", out.value
    r = out.value
    assert r["content"] == {"hello": "world", "n": 1}
    assert r["status"] == 200 and r["reason"] == "OK"
    assert r["headers"]["Content-Type"] == "application/json"
    assert r["url"] == target.base + "/json"
    assert r["history"] == [] and r["cookies"] == {}
    assert isinstance(r["elapsed"], float)
    json.dumps(r)                                   # storable as it is


def test_text_response(open_net, target):
    r = run(url=target.base + "/text").value
    assert r["content"] == "plain text, héllo"
    assert r["encoding"] == "utf-8"


def test_body_that_parses_as_json_is_parsed_as_in_mistral(open_net, target):
    assert run(url=target.base + "/number-as-text").value["content"] == 42


def test_empty_response(open_net, target):
    out = run(url=target.base + "/empty", method="delete")
    assert out.kind == "ok" and out.value["status"] == 204 and out.value["content"] == ""
    assert target.requests[-1]["method"] == "DELETE"


@pytest.mark.parametrize("code", [400, 404, 500, 503])
def test_error_status_fails_with_the_response(open_net, target, code):
    out = run(url=f"{target.base}/status/{code}")
    assert out.kind == "error"
    assert out.value["status"] == code
    assert out.value["content"] == f"status {code} here"
    assert out.value["url"].endswith(f"/status/{code}")


def test_error_status_with_json_body(open_net, target):
    out = run(url=f"{target.base}/status/500?json=1")
    assert out.kind == "error" and out.value["content"] == {"error": "code 500"}


def test_request_parts_reach_the_server(open_net, target):
    r = run(url=target.base + "/echo", method="POST", params={"q": "a b", "n": 3, "gone": None},
            body={"k": [1, 2]}, headers={"X-Num": 5, "X-Str": "s", "X-None": None},
            cookies={"session": "abc"}, auth=["alice", "secret:with:colons"]).value["content"]
    assert r["method"] == "POST"
    assert r["query"] == {"q": ["a b"], "n": ["3"]}
    assert json.loads(r["body"]) == {"k": [1, 2]}            # a dict body goes as JSON text
    assert "application/json" not in r["headers"].get("Content-Type", "")
    assert r["headers"]["X-Num"] == "5" and r["headers"]["X-Str"] == "s"
    assert "X-None" not in r["headers"]
    assert r["cookie"] == "session=abc"
    assert r["auth"] == "alice:secret:with:colons"


def test_json_parameter_and_string_auth(open_net, target):
    r = run(url=target.base + "/echo", method="put", json={"a": 1},
            auth="bob:pw").value["content"]
    assert r["method"] == "PUT"
    assert json.loads(r["body"]) == {"a": 1}
    assert r["headers"]["Content-Type"] == "application/json"
    assert r["auth"] == "bob:pw"


def test_string_body(open_net, target):
    r = run(url=target.base + "/echo", method="POST", body="raw text").value["content"]
    assert r["body"] == "raw text"


def test_body_and_json_together_are_refused(open_net, target):
    out = run(url=target.base + "/echo", body="x", json={"a": 1})
    assert out.kind == "error" and "Only one of the parameters 'json' and 'body'" in out.value


def test_bad_auth_is_refused(open_net, target):
    out = run(url=target.base + "/echo", auth=["only-one"])
    assert out.kind == "error" and "auth must be" in out.value


def test_response_cookies_and_repeated_headers(open_net, target):
    r = run(url=target.base + "/set-cookie").value
    assert r["cookies"] == {"a": "1", "b": "2"}
    assert r["headers"]["X-Multi"] == "one, two"


def test_redirects_are_not_followed_by_default_as_in_mistral(open_net, target):
    to = target.base + "/json"
    out = run(url=f"{target.base}/redirect?to={to}")
    assert out.kind == "ok"
    assert out.value["status"] == 302 and out.value["headers"]["Location"] == to


def test_redirect_307_not_followed_is_an_error(open_net, target):
    out = run(url=f"{target.base}/redirect?code=307&to=/json")
    assert out.kind == "error" and out.value["status"] == 307


def test_redirects_followed_when_allowed(open_net, target):
    out = run(url=f"{target.base}/redirect?to=/json", allow_redirects=True)
    assert out.kind == "ok", out.value
    assert out.value["content"] == {"hello": "world", "n": 1}
    assert out.value["url"] == target.base + "/json"
    assert out.value["history"] == [{"url": f"{target.base}/redirect?to=/json", "status": 302,
                                     "reason": "Found"}]


def test_timeout(open_net, target):
    out = run(url=target.base + "/slow?s=2", timeout=0.3)
    assert out.kind == "error"
    assert "Failed to send HTTP request" in out.value and "Timeout" in out.value


def test_default_timeout_setting(settings, target):
    settings(http_denied_cidrs="", http_default_timeout="0.3")
    out = run(url=target.base + "/slow?s=2")
    assert out.kind == "error" and "Timeout" in out.value


def test_connection_refused(open_net):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    out = run(url=f"http://127.0.0.1:{port}/")
    assert out.kind == "error" and "Failed to send HTTP request" in out.value


@pytest.mark.parametrize("length", ["yes", "no"])
def test_response_size_limit(settings, target, length):
    settings(http_denied_cidrs="", http_max_response_size="100")
    assert run(url=f"{target.base}/big?size=100&length={length}").kind == "ok"
    out = run(url=f"{target.base}/big?size=5000&length={length}")
    assert out.kind == "error"
    assert "too large" in out.value and "http_max_response_size" in out.value


# ---------------------------------------------------------------- egress policy

def test_loopback_denied_by_default(target):
    before = len(target.requests)
    out = run(url=target.base + "/json")
    assert out.kind == "error"
    assert "Refused to connect to" in out.value
    assert "address 127.0.0.1 is in the denied range 127.0.0.0/8" in out.value
    assert "http_denied_cidrs" in out.value and "LEVANTE_HTTP_DENIED_CIDRS" in out.value
    assert len(target.requests) == before                  # nothing was sent


def test_host_name_is_resolved_before_the_check(target):
    out = run(url=f"http://localhost:{target.server_port}/json")
    assert out.kind == "error" and "host 'localhost' resolves to" in out.value


@pytest.mark.parametrize("url", ["http://169.254.169.254/latest/meta-data/",
                                 "http://[::1]:1/", "http://[::ffff:127.0.0.1]:1/",
                                 "http://2130706433:1/"])
def test_metadata_service_and_other_loopback_forms_denied(url):
    out = run(url=url, timeout=1)
    assert out.kind == "error" and "denied range" in out.value, out.value


def test_empty_setting_allows_all(settings, target):
    settings(http_denied_cidrs="")
    assert run(url=target.base + "/json").kind == "ok"


def test_custom_denied_range(settings, target):
    settings(http_denied_cidrs="10.0.0.0/8, 127.0.0.1/32")
    out = run(url=target.base + "/json")
    assert out.kind == "error" and "denied range 127.0.0.1/32" in out.value


def test_only_http_and_https(open_net):
    out = run(url="file:///etc/passwd")
    assert out.kind == "error" and "scheme 'file' is not allowed" in out.value


def test_allowed_hosts(settings, target):
    settings(http_denied_cidrs="", http_allowed_hosts="api.example.com")
    out = run(url=target.base + "/json")
    assert out.kind == "error" and "not in the allowed hosts" in out.value
    settings(http_allowed_hosts="127.0.0.1")
    assert run(url=target.base + "/json").kind == "ok"


def test_redirect_to_a_denied_address_is_refused(settings, target, other_target):
    settings(http_denied_cidrs="127.0.0.2/32")
    assert run(url=other_target.base + "/json").kind == "error"     # denied directly
    before = len(other_target.requests)
    out = run(url=f"{target.base}/redirect?to={other_target.base}/json", allow_redirects=True)
    assert out.kind == "error"
    assert f"Refused to follow a redirect to {other_target.base}" in out.value
    assert "address 127.0.0.2 is in the denied range 127.0.0.2/32" in out.value
    assert len(other_target.requests) == before                     # never reached
    # Allowed, the same redirect is followed.
    settings(http_denied_cidrs="")
    out = run(url=f"{target.base}/redirect?to={other_target.base}/json", allow_redirects=True)
    assert out.kind == "ok" and out.value["url"] == other_target.base + "/json"


def test_redirect_check_with_307_keeps_the_policy(settings, target, other_target):
    settings(http_denied_cidrs="127.0.0.2/32")
    out = run(url=f"{target.base}/redirect?code=307&to={other_target.base}/echo",
              method="POST", body="secret", allow_redirects=True)
    assert out.kind == "error" and "denied range 127.0.0.2/32" in out.value


def test_proxy(open_net, target):
    out = run(url="http://service.example/json", proxies={"http": target.base})
    assert out.kind == "ok", out.value
    assert out.value["content"] == {"hello": "world", "n": 1}
    assert target.requests[-1]["headers"]["Host"] == "service.example"


def test_proxy_on_a_denied_address_is_refused(target):
    before = len(target.requests)
    out = run(url="http://service.example/json", proxies={"http": target.base})
    assert out.kind == "error"
    assert f"Refused to use the proxy {target.base}" in out.value and "denied range" in out.value
    assert len(target.requests) == before


@pytest.mark.parametrize("host", ["0.0.0.0", "0.1.2.3", "[::]", "[::ffff:0.0.0.0]",
                                  "[::ffff:127.0.0.1]", "[::ffff:169.254.169.254]"])
def test_this_network_unspecified_and_mapped_forms_denied(target, host):
    """0.0.0.0 and :: connect to the local host: denied by default, as is every
    denied IPv4 range written as an IPv4-mapped IPv6 address."""
    before = len(target.requests)
    out = run(url=f"http://{host}:{target.server_port}/json", timeout=2)
    assert out.kind == "error" and "denied range" in out.value, out.value
    assert len(target.requests) == before


def test_mapped_form_of_a_custom_range_is_denied(settings, target):
    settings(http_denied_cidrs="127.0.0.1/32")
    out = run(url=f"http://[::ffff:127.0.0.1]:{target.server_port}/json", timeout=2)
    assert out.kind == "error" and "denied range 127.0.0.1/32" in out.value, out.value


def test_redirect_and_proxy_to_this_network_are_refused(settings, target):
    # The target itself allowed; only the default's new ranges denied.
    settings(http_denied_cidrs="0.0.0.0/8,::/128")
    before = len(target.requests)
    out = run(url=f"{target.base}/redirect?to=http://0.0.0.0:{target.server_port}/json",
              allow_redirects=True)
    assert out.kind == "error", out.value
    assert f"Refused to follow a redirect to http://0.0.0.0:{target.server_port}" in out.value
    assert "denied range 0.0.0.0/8" in out.value
    assert len(target.requests) == before + 1          # the first hop only
    out = run(url="http://service.example/json",
              proxies={"http": f"http://0.0.0.0:{target.server_port}"})
    assert out.kind == "error" and "Refused to use the proxy" in out.value, out.value
    assert len(target.requests) == before + 1


def test_the_connection_itself_is_checked(target):
    """The transport checks the address it connects to, whatever was checked
    before (a DNS answer that changes after the early check gains nothing)."""
    from levante import egress

    before = len(target.requests)
    with httpx.Client(transport=egress.http_transport()) as client:
        with pytest.raises(egress.EgressRefused, match="resolves to 127.0.0.1.*denied range"):
            client.get(f"http://localhost:{target.server_port}/json")
        with pytest.raises(egress.EgressRefused, match="denied range 0.0.0.0/8"):
            client.get(f"http://0.0.0.0:{target.server_port}/json")
    assert len(target.requests) == before


# ---------------------------------------------------------------- std.mistral_http

def test_mistral_http_sends_the_execution_headers_and_waits(open_net, target):
    out = REGISTRY.get("std.mistral_http").run(
        {"url": target.base + "/echo", "headers": {"X-Own": "kept"}}, ctx("act-42"))
    assert out.kind == "async"                  # completed later through the API
    h = target.requests[-1]["headers"]
    assert h["Mistral-Workflow-Name"] == "my_wf"
    assert h["Mistral-Workflow-Execution-Id"] == "wf-ex-1"
    assert h["Mistral-Task-Id"] == "task-1"
    assert h["Mistral-Action-Execution-Id"] == "act-42"
    assert h["Mistral-Callback-URL"] == "/v2/action_executions/act-42"
    assert h["X-Own"] == "kept"


def test_mistral_http_fails_at_once_on_an_error_status(open_net, target):
    out = run("std.mistral_http", url=target.base + "/status/500")
    assert out.kind == "error" and out.value["status"] == 500


def test_mistral_http_obeys_the_egress_policy(target):
    out = run("std.mistral_http", url=target.base + "/echo")
    assert out.kind == "error" and "denied range" in out.value


# ---------------------------------------------------------------- on a real server

WF = """
version: '2.0'
fetch:
  input: [url, text_url]
  tasks:
    get_json:
      action: std.http url=<% $.url %>
      publish:
        got: <% task().result.content %>
        status: <% task().result.status %>
      on-success: get_text
    get_text:
      action: std.http
      input:
        url: <% $.text_url %>
        method: POST
        json: {from: levante}
      publish:
        text: <% task().result.content %>
  output:
    got: <% $.got %>
    status: <% $.status %>
    text: <% $.text %>

failing:
  input: [url]
  tasks:
    call:
      action: std.http url=<% $.url %>
      on-error: handle
    handle:
      action: std.echo output=<% task(call).result.status %>
      publish:
        failed_status: <% task().result %>
  output:
    failed_status: <% $.failed_status %>

callback:
  input: [url]
  tasks:
    notify:
      action: std.mistral_http url=<% $.url %>
      publish:
        answer: <% task().result %>
  output:
    answer: <% $.answer %>
"""


def _wait(srv: Server, exec_id: str, states=("SUCCESS", "ERROR"), timeout=30.0) -> dict:
    deadline = time.time() + timeout
    while True:
        body = httpx.get(f"{srv.url}/executions/{exec_id}").json()
        if body["state"] in states:
            return body
        if time.time() > deadline:
            raise AssertionError(f"execution {exec_id} still {body['state']}")
        time.sleep(0.05)


def _start(srv: Server, workflow_name: str, **inp) -> str:
    r = httpx.post(f"{srv.url}/executions", json={"workflow_name": workflow_name,
                                                  "input": json.dumps(inp)})
    assert r.status_code == 201, r.text
    return r.json()["id"]


@pytest.fixture
def open_server(fresh_server, monkeypatch):
    monkeypatch.setenv("LEVANTE_HTTP_DENIED_CIDRS", "")       # the target is on loopback
    srv = fresh_server.start()
    r = httpx.post(f"{srv.url}/workflows", content=WF, headers={"content-type": "text/plain"})
    assert r.status_code == 201, r.text
    return srv


def test_workflow_publishes_the_response(open_server, target):
    ex = _start(open_server, "fetch", url=target.base + "/json", text_url=target.base + "/echo")
    done = _wait(open_server, ex)
    assert done["state"] == "SUCCESS", done["state_info"]
    out = json.loads(done["output"])
    assert out["got"] == {"hello": "world", "n": 1}
    assert out["status"] == 200
    assert out["text"]["method"] == "POST" and json.loads(out["text"]["body"]) == {"from": "levante"}


def test_workflow_error_status_carries_the_response(open_server, target):
    ex = _start(open_server, "failing", url=target.base + "/status/404")
    done = _wait(open_server, ex)
    # on-error handled it; the failed task's result is the response.
    assert json.loads(done["output"]) == {"failed_status": 404}
    tasks = httpx.get(f"{open_server.url}/executions/{ex}/tasks").json()["tasks"]
    call = next(t for t in tasks if t["name"] == "call")
    assert call["state"] == "ERROR" and '"status": 404' in call["state_info"]


def test_mistral_http_headers_and_completion_through_the_api(open_server, target):
    before = len(target.requests)
    ex = _start(open_server, "callback", url=target.base + "/echo")
    deadline = time.time() + 20
    while len(target.requests) == before and time.time() < deadline:
        time.sleep(0.05)
    assert len(target.requests) > before, "std.mistral_http never called the target"
    headers = target.requests[-1]["headers"]
    task = httpx.get(f"{open_server.url}/executions/{ex}/tasks").json()["tasks"][0]
    actions = httpx.get(f"{open_server.url}/tasks/{task['id']}/action_executions").json()
    action = actions["action_executions"][0]
    assert headers["Mistral-Workflow-Name"] == "callback"
    assert headers["Mistral-Workflow-Execution-Id"] == ex
    assert headers["Mistral-Task-Id"] == task["id"]
    assert headers["Mistral-Action-Execution-Id"] == action["id"]
    callback = headers["Mistral-Callback-URL"]          # absolute when the server knows its URL
    assert callback.endswith(f"/v2/action_executions/{action['id']}")
    if callback.startswith("/"):
        callback = open_server.url[:-len("/v2")] + callback
    # Asynchronous: RUNNING until the target reports through the callback URL.
    time.sleep(0.3)
    assert httpx.get(f"{open_server.url}/executions/{ex}").json()["state"] == "RUNNING"
    r = httpx.put(callback,
                  json={"state": "SUCCESS", "output": json.dumps({"done": True})})
    assert r.status_code == 200, r.text
    done = _wait(open_server, ex)
    assert done["state"] == "SUCCESS", done["state_info"]
    assert json.loads(done["output"]) == {"answer": {"done": True}}


def test_default_server_refuses_loopback(fresh_server, monkeypatch, target):
    for var in SETTING_VARS:
        monkeypatch.delenv(var, raising=False)
    srv = fresh_server.start()
    httpx.post(f"{srv.url}/workflows", content=WF, headers={"content-type": "text/plain"})
    before = len(target.requests)
    ex = _start(srv, "fetch", url=target.base + "/json", text_url=target.base + "/echo")
    done = _wait(srv, ex)
    assert done["state"] == "ERROR"
    tasks = httpx.get(f"{srv.url}/executions/{ex}/tasks").json()["tasks"]
    info = tasks[0]["state_info"]
    assert "Refused to connect to" in info and "denied range 127.0.0.0/8" in info
    assert "LEVANTE_HTTP_DENIED_CIDRS" in info
    assert len(target.requests) == before


def test_default_server_refuses_its_own_api_through_this_network(fresh_server, monkeypatch):
    """Reproducer: std.http to http://0.0.0.0:PORT/ reached Levante's own API."""
    for var in SETTING_VARS:
        monkeypatch.delenv(var, raising=False)
    srv = fresh_server.start()
    r = httpx.post(f"{srv.url}/workflows", content=WF, headers={"content-type": "text/plain"})
    assert r.status_code == 201, r.text
    own = f"http://0.0.0.0:{srv.port}/v2/workflows"
    ex = _start(srv, "failing", url=own)
    done = _wait(srv, ex)
    tasks = httpx.get(f"{srv.url}/executions/{ex}/tasks").json()["tasks"]
    call = next(t for t in tasks if t["name"] == "call")
    assert call["state"] == "ERROR"
    assert f"Refused to connect to http://0.0.0.0:{srv.port}" in call["state_info"]
    assert "denied range 0.0.0.0/8" in call["state_info"]
    assert done["state"] in ("SUCCESS", "ERROR")
    assert httpx.get(f"{srv.url}/workflows/fetch").status_code == 200      # still serving
