"""Nothing is lost when the server dies: executions in flight finish after a restart."""
from __future__ import annotations

import time

import httpx

from tests.conftest import Server

SLEEPY = """
version: '2.0'
sleepy:
  tasks:
    nap:
      action: std.sleep seconds=3
      on-success: after
    after:
      action: std.echo output="woke up"
      publish:
        said: <% task().result %>
"""


def _wait(url: str, exec_id: str, want: set, timeout: float = 30) -> dict:
    deadline = time.time() + timeout
    while time.time() < deadline:
        body = httpx.get(f"{url}/executions/{exec_id}").json()
        if body["state"] in want:
            return body
        time.sleep(0.1)
    raise AssertionError(f"execution {exec_id} still {body['state']}")


def test_execution_survives_kill_during_sleep(fresh_server: Server):
    srv = fresh_server.start()
    r = httpx.post(f"{srv.url}/workflows", content=SLEEPY, headers={"content-type": "text/plain"})
    assert r.status_code == 201, r.text
    ex = httpx.post(f"{srv.url}/executions", json={"workflow_name": "sleepy"}).json()
    # Wait until the sleep is under way, then crash the server.
    deadline = time.time() + 10
    while time.time() < deadline:
        tasks = httpx.get(f"{srv.url}/executions/{ex['id']}/tasks").json()["tasks"]
        if tasks and tasks[0]["state"] == "RUNNING":
            break
        time.sleep(0.05)
    srv.kill()
    assert srv.proc.returncode != 0
    time.sleep(0.5)
    srv.start()                       # same port, same database file
    done = _wait(srv.url, ex["id"], {"SUCCESS", "ERROR"})
    assert done["state"] == "SUCCESS", done["state_info"]
    assert '"said": "woke up"' in done["output"]


def test_restart_with_nothing_in_flight_keeps_history(fresh_server: Server):
    srv = fresh_server.start()
    httpx.post(f"{srv.url}/workflows", content=SLEEPY.replace("seconds=3", "seconds=0"),
               headers={"content-type": "text/plain"})
    ex = httpx.post(f"{srv.url}/executions", json={"workflow_name": "sleepy"}).json()
    _wait(srv.url, ex["id"], {"SUCCESS"})
    srv.stop()
    srv.start()
    body = httpx.get(f"{srv.url}/executions/{ex['id']}").json()
    assert body["state"] == "SUCCESS"


class SlowTarget:
    """A local HTTP server that answers after ``delay`` seconds and counts requests."""

    def __init__(self, delay: float = 3.0):
        import http.server
        import threading

        outer = self
        self.requests = 0
        self.delay = delay

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                outer.requests += 1
                time.sleep(outer.delay)
                body = b'{"ok": true}'
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/slow"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()


def _crash_during_call(srv: Server, target: SlowTarget, safe: bool) -> dict:
    wf = f"""
version: '2.0'
call_{'safe' if safe else 'unsafe'}:
  tasks:
    call:
      action: std.http url="{target.url}"
      safe-rerun: {str(safe).lower()}
      publish:
        answer: <% task().result.content %>
"""
    r = httpx.post(f"{srv.url}/workflows", content=wf, headers={"content-type": "text/plain"})
    assert r.status_code == 201, r.text
    name = f"call_{'safe' if safe else 'unsafe'}"
    ex = httpx.post(f"{srv.url}/executions", json={"workflow_name": name}).json()
    deadline = time.time() + 10
    while target.requests == 0 and time.time() < deadline:
        time.sleep(0.02)
    assert target.requests == 1, "the action never reached the target"
    srv.kill()                        # the executor dies while the action runs
    srv.start()
    return _wait(srv.url, ex["id"], {"SUCCESS", "ERROR"}, timeout=40)


def test_an_interrupted_action_that_is_not_safe_to_rerun_fails_clearly(fresh_server: Server, monkeypatch):
    monkeypatch.setenv("LEVANTE_HTTP_DENIED_CIDRS", "")      # the target is on loopback
    target = SlowTarget()
    try:
        done = _crash_during_call(fresh_server.start(), target, safe=False)
        assert done["state"] == "ERROR"
        assert "not safe to run again" in done["state_info"]
        assert target.requests == 1                           # never sent twice
    finally:
        target.close()


def test_an_interrupted_action_marked_safe_rerun_runs_again(fresh_server: Server, monkeypatch):
    monkeypatch.setenv("LEVANTE_HTTP_DENIED_CIDRS", "")
    target = SlowTarget()
    try:
        done = _crash_during_call(fresh_server.start(), target, safe=True)
        assert done["state"] == "SUCCESS", done["state_info"]
        assert '"answer": {"ok": true}' in done["output"]
        assert target.requests == 2
    finally:
        target.close()
