"""bench/run.py, the benchmark client: its workloads against a real server,
with both of its HTTP clients, and its lean client's handling of kept
connections a server closes."""
from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"
sys.path.insert(0, str(BENCH))
from run import LeanClient  # noqa: E402


@pytest.mark.parametrize("client", ["lean", "httpx"])
def test_every_workload_runs_and_checks_its_outcome(server, client):
    out = subprocess.run(
        [sys.executable, str(BENCH / "run.py"), "--url", server.url, "--repeat", "1",
         "--poll", "0.01", "--client", client, "--json"],
        capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["ok"] and doc["client"] == client
    assert sorted(r["workload"] for r in doc["results"]) == ["A", "B", "C", "D"]
    for r in doc["results"]:
        assert r["median_wall_s"] > 0 and "error" not in r, r


class OneAnswerPerConnection:
    """An HTTP server that answers the first request on each connection with
    keep-alive, then closes the connection without a word (as a server does
    with an idle kept connection), or, with ``answer=False``, closes every
    connection without answering."""

    def __init__(self, answer: bool = True):
        self.answer = answer
        self.requests: list[bytes] = []
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                data = b""
                while b"\r\n\r\n" not in data:
                    chunk = conn.recv(65536)
                    if not chunk:
                        break
                    data += chunk
                if not data:
                    continue
                self.requests.append(data.split(b"\r\n", 1)[0])
                if self.answer:
                    body = json.dumps({"n": len(self.requests)}).encode()
                    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                                 b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)

    def close(self) -> None:
        self.sock.close()


def test_a_kept_connection_closed_while_idle_is_opened_again():
    srv = OneAnswerPerConnection()
    try:
        client = LeanClient(f"http://127.0.0.1:{srv.port}/v2", timeout=5)
        assert client.request("GET", "/a").json() == {"n": 1}
        # The server closed the connection it kept: the client opens another
        # and the request is answered, sent to the server once.
        assert client.request("POST", "/b", json={"x": 1}).json() == {"n": 2}
        assert srv.requests == [b"GET /v2/a HTTP/1.1", b"POST /v2/b HTTP/1.1"]
    finally:
        srv.close()


def test_a_new_connection_that_fails_is_not_tried_again():
    srv = OneAnswerPerConnection(answer=False)
    try:
        client = LeanClient(f"http://127.0.0.1:{srv.port}", timeout=5)
        with pytest.raises(OSError):
            client.request("POST", "/executions", json={})
        assert srv.requests == [b"POST /executions HTTP/1.1"]
    finally:
        srv.close()
