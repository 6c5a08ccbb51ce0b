"""A local webhook receiver and small REST helpers for the notification tests."""
from __future__ import annotations

import http.server
import json
import threading
import time
import uuid

import httpx


class Receiver:
    """An HTTP server on 127.0.0.1 (free port) that records the POSTs it gets.

    ``fail_first[path] = n`` makes the first n requests to ``path`` answer 500.
    """

    def __init__(self, port: int = 0):
        self.calls: list[dict] = []
        self.fail_first: dict[str, int] = {}
        self.tries: dict[str, int] = {}
        self._lock = threading.Lock()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                n = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(n)
                with outer._lock:
                    tries = outer.tries[self.path] = outer.tries.get(self.path, 0) + 1
                    fail = tries <= outer.fail_first.get(self.path, 0)
                    if not fail:
                        outer.calls.append({"path": self.path, "headers": dict(self.headers),
                                            "body": json.loads(raw), "at": time.time()})
                self.send_response(500 if fail else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> "Receiver":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def bodies(self, path: str | None = None, execution_id: str | None = None) -> list[dict]:
        with self._lock:
            calls = list(self.calls)
        out = [c["body"] for c in calls if path is None or c["path"] == path]
        if execution_id:
            out = [b for b in out if execution_id in (b.get("id"), b.get("workflow_execution_id"))]
        return out

    def wait_for(self, predicate, timeout: float = 20.0):
        deadline = time.time() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if time.time() > deadline:
                raise AssertionError(f"receiver got: {json.dumps(self.calls, indent=1)[:3000]}")
            time.sleep(0.05)


def unique(prefix: str = "wf") -> str:
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


def create_workflow(url: str, text: str) -> None:
    r = httpx.post(f"{url}/workflows", content=text, headers={"content-type": "text/plain"})
    assert r.status_code == 201, r.text


def start(url: str, name: str, params: dict | None = None, wf_input: dict | None = None) -> dict:
    body = {"workflow_name": name, "params": json.dumps(params or {}), "input": json.dumps(wf_input or {})}
    r = httpx.post(f"{url}/executions", json=body)
    assert r.status_code == 201, r.text
    return r.json()


def finish(url: str, exec_id: str, timeout: float = 30.0) -> dict:
    deadline = time.time() + timeout
    while True:
        body = httpx.get(f"{url}/executions/{exec_id}").json()
        if body["state"] in ("SUCCESS", "ERROR", "CANCELLED"):
            return body
        if time.time() > deadline:
            raise AssertionError(f"execution {exec_id} still {body['state']}")
        time.sleep(0.05)


def events_of(bodies: list[dict]) -> list[tuple[str, str]]:
    """(event, name) pairs, in the order received."""
    return [(b["event"], b["name"]) for b in bodies]
