"""Untrusted workflows cannot freeze the service (issue 9, the runtime half).

Each test starts a hostile execution (the reproducers of the issue), then a
hello_world during the attack, and asserts the order of events, never a
duration: the hello_world finishes while the hostile execution is still
running or before its budget stops it, and the hostile execution fails with
a message naming the budget and its setting. The seconds are in bench/
(``bench/attacks.py``).
"""
from __future__ import annotations

import time

import httpx
import pytest
import sqlalchemy as sa

from tests.conftest import Server

HELLO = """
version: '2.0'
hello_world:
  tasks:
    say_hello:
      action: std.echo output="Hello Workflow!"
      publish:
        out: <% task().result %>
"""

TERMINAL = {"SUCCESS", "ERROR", "CANCELLED"}


def _w(expression: str, name: str = "hostile") -> str:
    """The issue's W(expr): a std.noop task publishing ``expression``."""
    return (f"version: '2.0'\n{name}:\n  tasks:\n    t:\n      action: std.noop\n"
            f"      publish:\n        x: {expression}\n")


def _create(url: str, text: str) -> None:
    r = httpx.post(f"{url}/workflows", content=text, headers={"content-type": "text/plain"},
                   timeout=30)
    assert r.status_code == 201, r.text


def _start(url: str, name: str) -> str:
    r = httpx.post(f"{url}/executions", json={"workflow_name": name}, timeout=30)
    assert r.status_code == 201, r.text
    return r.json()["id"]


def _get(url: str, exec_id: str) -> dict:
    return httpx.get(f"{url}/executions/{exec_id}", timeout=30).json()


def _race(url: str, hostile: str, hello: str, timeout: float = 120) -> list[tuple[str, dict]]:
    """Poll both executions until both are done; the order they finished in."""
    done: dict[str, dict] = {}
    deadline = time.time() + timeout
    while len(done) < 2 and time.time() < deadline:
        for name, exec_id in (("hostile", hostile), ("hello", hello)):
            if name not in done:
                body = _get(url, exec_id)
                if body["state"] in TERMINAL:
                    done[name] = body
        time.sleep(0.05)
    assert len(done) == 2, f"not finished: {set(('hostile', 'hello')) - set(done)}"
    return list(done.items())


def _attack(srv: Server, hostile_text: str, delay: float = 0.3) -> tuple[list, dict, dict]:
    _create(srv.url, HELLO)
    _create(srv.url, hostile_text)
    hostile = _start(srv.url, "hostile")
    time.sleep(delay)           # let the attack get under way
    hello = _start(srv.url, "hello_world")
    order = _race(srv.url, hostile, hello)
    return [name for name, _ in order], dict(order)["hostile"], dict(order)["hello"]


def _server(tmp_path, monkeypatch, sqlite: bool = False, **settings) -> Server:
    for name, value in settings.items():
        monkeypatch.setenv(f"LEVANTE_{name.upper()}", str(value))
    db = f"sqlite:///{tmp_path / 'levante.sqlite'}" if sqlite else None
    return Server(tmp_path, db_url=db)


@pytest.fixture
def make_server(tmp_path, monkeypatch):
    servers = []

    def make(**kw) -> Server:
        srv = _server(tmp_path, monkeypatch, **kw)
        servers.append(srv)
        return srv
    yield make
    for srv in servers:
        srv.stop()


# ---------------------------------------------------------------- reproducer 1

def test_slow_yaql_is_stopped_by_its_budget_and_blocks_nobody(make_server):
    srv = make_server(expression_timeout=4).start()
    order, hostile, hello = _attack(
        srv, _w("<% range(1000).select(range(1000).sum()).sum() %>"))
    assert order == ["hello", "hostile"]
    assert hello["state"] == "SUCCESS"
    assert hostile["state"] == "ERROR"
    assert "time budget of 4s (setting expression_timeout)" in hostile["state_info"]


# ---------------------------------------------------------------- reproducer 2

JINJA_LOOP = ('"{% for i in range(100000) %}{% for j in range(100000) %}'
              '{% for k in range(100000) %}{% endfor %}{% endfor %}{% endfor %}"')


def test_endless_jinja_loop_is_stopped_and_survives_kill_and_restart(make_server):
    # SQLite: on restart the engine takes its own leftover leases over at once.
    # The budget outlasts the restart (several seconds on a busy machine).
    srv = make_server(sqlite=True, expression_timeout=15).start()
    _create(srv.url, HELLO)
    _create(srv.url, _w(JINJA_LOOP))
    hostile = _start(srv.url, "hostile")
    _wait_claimed(srv, hostile, 1)
    srv.kill()                      # kill -9 in the middle of the evaluation
    srv.start()                     # listens again on the same database
    assert httpx.get(srv.url + "/", timeout=10).status_code == 200
    hello = _start(srv.url, "hello_world")
    order = _race(srv.url, hostile, hello)
    assert [name for name, _ in order] == ["hello", "hostile"]
    bodies = dict(order)
    assert bodies["hello"]["state"] == "SUCCESS"
    assert bodies["hostile"]["state"] == "ERROR"
    assert "setting expression_timeout" in bodies["hostile"]["state_info"]


# ---------------------------------------------------------------- reproducer 3

def test_catastrophic_regex_neither_stalls_the_api_nor_runs_on(make_server):
    srv = make_server(expression_timeout=2).start()
    # The pattern: the regex engine answers it at once.
    _create(srv.url, _w("<% 'aaaaaaaaaaaaaaaaaaaaaaaaaaa!'.matches('(a+)+$') %>", "nested"))
    ex = _start(srv.url, "nested")
    body = _wait(srv.url, ex)
    assert body["state"] == "SUCCESS", body["state_info"]
    assert '"x": false' in httpx.get(f"{srv.url}/executions/{ex}/tasks").text.replace('\\"', '"')
    # One that backtracks for minutes in any backtracking engine: stopped by the budget,
    # and the API keeps answering while it runs (the match releases the interpreter lock).
    order, hostile, hello = _attack(srv, _w("<% '" + "a" * 40 + "!'.matches('(a|aa)+$') %>"))
    assert order == ["hello", "hostile"]
    assert hello["state"] == "SUCCESS"
    assert hostile["state"] == "ERROR"
    assert "setting expression_timeout" in hostile["state_info"]


# ---------------------------------------------------------------- reproducer 4

def test_huge_template_output_fails_at_the_size_budget(make_server):
    srv = make_server().start()
    order, hostile, hello = _attack(srv, _w(
        '"{% set s = \'x\' * 10000000 %}{% for i in range(300) %}{{ s }}{% endfor %}"'), delay=0)
    assert hello["state"] == "SUCCESS"
    assert hostile["state"] == "ERROR"
    assert "setting expression_result_size" in hostile["state_info"]


# ---------------------------------------------------------------- quarantine

def test_job_that_keeps_killing_its_worker_is_quarantined(make_server):
    # No time budget: the evaluation would run for ever; each run is cut by kill -9.
    srv = make_server(sqlite=True, expression_timeout=0, engine_step_timeout=0,
                      job_max_attempts=2).start()
    _create(srv.url, HELLO)
    _create(srv.url, _w(JINJA_LOOP))
    hostile = _start(srv.url, "hostile")
    for attempt in (1, 2):
        _wait_claimed(srv, hostile, attempt)
        srv.kill()
        srv.start()                 # starts and serves with the job in its database
    body = _wait(srv.url, hostile)
    assert body["state"] == "ERROR"
    assert "quarantined" in body["state_info"]
    assert "setting job_max_attempts=2" in body["state_info"]
    hello = _wait(srv.url, _start(srv.url, "hello_world"))
    assert hello["state"] == "SUCCESS"


def _wait_claimed(srv: Server, exec_id: str, attempts: int, timeout: float = 30) -> None:
    """Wait until the engine has claimed the execution's event ``attempts`` times."""
    engine = sa.create_engine(srv.db_url)
    deadline = time.time() + timeout
    try:
        while time.time() < deadline:
            with engine.connect() as conn:
                n = conn.execute(sa.text("SELECT max(attempts) FROM jobs WHERE kind = 'engine' "
                                         "AND key = :k"), {"k": exec_id}).scalar()
            if n is not None and n >= attempts:
                time.sleep(0.3)     # well inside the evaluation
                return
            time.sleep(0.05)
    finally:
        engine.dispose()
    raise AssertionError(f"the engine did not claim {exec_id} {attempts} time(s)")


def _wait(url: str, exec_id: str, timeout: float = 60) -> dict:
    deadline = time.time() + timeout
    while time.time() < deadline:
        body = _get(url, exec_id)
        if body["state"] in TERMINAL:
            return body
        time.sleep(0.05)
    raise AssertionError(f"execution {exec_id} still {body['state']}")


# ---------------------------------------------------------------- reproducer 9

FORK_BOMB = """
version: '2.0'
hostile:
  tasks:
    a:
      action: mistral.executions_create wf_identifier=hostile
    b:
      action: mistral.executions_create wf_identifier=hostile
"""


def test_self_starting_workflow_stops_at_the_executions_cap(make_server):
    srv = make_server(max_executions_per_root=20).start()
    order, hostile, hello = _attack(srv, FORK_BOMB, delay=0)
    assert hello["state"] == "SUCCESS"
    # The root's own tasks succeed (they started their executions); the tree
    # ends where the cap refuses the next one, and nothing keeps starting more.
    deadline = time.time() + 60
    while time.time() < deadline:
        listing = httpx.get(f"{srv.url}/executions", params={"limit": 1000}).json()["executions"]
        tree = [e for e in listing if e["workflow_name"] == "hostile"]
        if all(e["state"] in TERMINAL for e in tree):
            break
        time.sleep(0.2)
    assert all(e["state"] in TERMINAL for e in tree)
    assert len(tree) <= 21          # the root and at most 20 under it
    infos = " ".join(e.get("state_info") or "" for e in tree)
    assert "setting max_executions_per_root" in infos


def test_nesting_depth_cap(make_server):
    srv = make_server(max_nesting_depth=3).start()
    _create(srv.url, """
version: '2.0'
deep:
  tasks:
    down:
      workflow: deep
""")
    body = _wait(srv.url, _start(srv.url, "deep"))
    assert body["state"] == "ERROR"
    listing = httpx.get(f"{srv.url}/executions", params={"limit": 100}).json()["executions"]
    assert len(listing) == 5        # depths 0 to 3, and the refused one at depth 4
    infos = " ".join(e.get("state_info") or "" for e in listing)
    assert "depth 4" in infos and "setting max_nesting_depth" in infos


# ---------------------------------------------------------------- reproducer 10

class SlowTarget:
    """A local HTTP server that answers after ``delay`` seconds; counts answers."""

    def __init__(self, delay: float):
        import http.server
        import threading

        outer = self
        self.started = 0
        self.answered = 0

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                outer.started += 1
                time.sleep(delay)
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")
                outer.answered += 1

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.handle_error = lambda *args: None    # callers gone when it answers
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/slow"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()


def test_hello_world_is_not_stuck_behind_slow_actions(make_server):
    target = SlowTarget(delay=15)
    try:
        srv = make_server(http_denied_cidrs="").start()
        _create(srv.url, HELLO)
        _create(srv.url, f"""
version: '2.0'
hostile:
  tasks:
    many:
      with-items: i in <% range(40) %>
      action: std.http url="{target.url}"
""")
        hostile = _start(srv.url, "hostile")
        deadline = time.time() + 30
        while target.started < 16 and time.time() < deadline:     # every executor thread busy
            time.sleep(0.05)
        assert target.started == 16
        hello = _wait(srv.url, _start(srv.url, "hello_world"))
        assert hello["state"] == "SUCCESS"
        # ... before any of the slow actions holding the executor threads ended.
        assert target.answered == 0
        assert _get(srv.url, hostile)["state"] == "RUNNING"
    finally:
        target.close()


def test_with_items_and_retry_caps(make_server):
    srv = make_server(max_with_items=10, max_retry_count=5).start()
    _create(srv.url, """
version: '2.0'
wide:
  tasks:
    many:
      with-items: i in <% range(11) %>
      action: std.noop
""")
    body = _wait(srv.url, _start(srv.url, "wide"))
    assert body["state"] == "ERROR"
    assert "11 items, more than the limit of 10 (setting max_with_items)" in body["state_info"]
    _create(srv.url, """
version: '2.0'
retrying:
  tasks:
    t:
      action: std.fail
      retry:
        count: 1000000
        delay: 0
""")
    body = _wait(srv.url, _start(srv.url, "retrying"))
    assert body["state"] == "ERROR"
    assert "Retry count 1000000 is more than the limit of 5 (setting max_retry_count)" \
        in body["state_info"]
