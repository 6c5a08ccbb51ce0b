#!/usr/bin/env python3
"""Benchmark client for any Mistral-compatible server (REST API v2).

Talks plain HTTP through httpx (not python-mistralclient) so that the client
side costs the same for every server under test. See bench/README.md.

Workloads (each one creates its own workflow named ``bench_<suffix>_...``,
runs it, verifies the outcome and deletes what it created):

  A  50 hello_world executions back to back (std.echo + publish)
  B  one execution of a chain of 50 std.noop tasks
  C  one execution of with-items over 200 items (std.echo), result checked
  D  one execution of 30 parallel std.noop tasks joined by a `join: all` task

Only the time from ``POST /v2/executions`` until the execution is observed in a
terminal state is measured; workflow creation, verification and cleanup are
not part of the wall time.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import http.client
import json
import os
import platform
import secrets
import statistics
import sys
import time
import urllib.parse
from dataclasses import dataclass, field
from typing import Any, Callable

import httpx

DEFAULT_URL = "http://127.0.0.1:8989/v2"
TERMINAL_STATES = ("SUCCESS", "ERROR", "CANCELLED")

HELLO_COUNT = 50
CHAIN_LENGTH = 50
ITEMS_COUNT = 200
PARALLEL_COUNT = 30


class BenchError(Exception):
    """A workload did not end the way it must (wrong state, bad result, ...)."""


# --------------------------------------------------------------------- client


_json_dumps = json.dumps    # LeanClient.request's `json` argument hides the module


class LeanResponse:
    """What the workloads read of an answer: status, text, JSON."""

    def __init__(self, status: int, body: bytes):
        self.status_code = status
        self.content = body

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")

    def json(self) -> Any:
        return json.loads(self.content)


class LeanClient:
    """HTTP/1.1 on one kept connection (``http.client``), with the few
    features of ``httpx.Client`` the workloads use: a base URL, default
    headers, ``json=``, ``content=`` and ``params=``.

    A kept connection the server closed while it was idle is opened again
    and the request sent once more; the request had not reached the server,
    which answers nothing on a connection it is closing. Any other failure
    is raised."""

    def __init__(self, base_url: str, timeout: float, headers: dict | None = None):
        parts = urllib.parse.urlsplit(base_url)
        self._https = parts.scheme == "https"
        self._host = parts.hostname or "127.0.0.1"
        self._port = parts.port or (443 if self._https else 80)
        self._prefix = parts.path.rstrip("/")
        self._timeout = timeout
        self._headers = {"Accept": "*/*", **(headers or {})}
        self._conn: http.client.HTTPConnection | None = None

    def _connect(self) -> http.client.HTTPConnection:
        cls = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
        return cls(self._host, self._port, timeout=self._timeout)

    def request(self, method: str, path: str, *, json: Any = None, content: str | bytes | None = None,
                headers: dict | None = None, params: dict | None = None) -> LeanResponse:
        target = self._prefix + path
        if params:
            target += "?" + urllib.parse.urlencode(params)
        sent = dict(self._headers)
        body: bytes | None = None
        if json is not None:
            body = _json_dumps(json).encode()
            sent["Content-Type"] = "application/json"
        elif content is not None:
            body = content.encode() if isinstance(content, str) else content
        sent.update(headers or {})
        while True:
            reused = self._conn is not None
            conn = self._conn if reused else self._connect()
            self._conn = None
            try:
                conn.request(method, target, body=body, headers=sent)
                resp = conn.getresponse()
                data = resp.read()
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                conn.close()
                if reused:
                    continue    # closed while idle: once more on a new connection
                raise
            except BaseException:
                conn.close()
                raise
            if resp.will_close:
                conn.close()
            else:
                self._conn = conn
            return LeanResponse(resp.status, data)

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


class Server:
    """Thin REST v2 client for one server: only what the workloads need."""

    def __init__(self, label: str, url: str, poll: float, http_timeout: float,
                 keep_executions: bool = False, token: str | None = None,
                 client: str = "lean"):
        self.label = label
        self.keep_executions = keep_executions
        self.url = url.rstrip("/")
        self.poll = poll
        headers = {"X-Auth-Token": token} if token else None
        if client == "httpx":
            # trust_env=False: never route loopback traffic through an HTTP
            # proxy taken from the environment (http.client never does).
            self.http = httpx.Client(base_url=self.url, timeout=http_timeout,
                                     trust_env=False, headers=headers)
        else:
            self.http = LeanClient(self.url, http_timeout, headers)
        self.requests = 0

    def close(self) -> None:
        self.http.close()

    def request(self, method: str, path: str, **kw: Any) -> httpx.Response | LeanResponse:
        self.requests += 1
        try:
            return self.http.request(method, path, **kw)
        except (httpx.HTTPError, http.client.HTTPException, OSError) as exc:
            raise BenchError(
                f"{method} {self.url}{path}: {type(exc).__name__}: {exc}"
            ) from exc

    @staticmethod
    def _fail(resp: httpx.Response | LeanResponse, what: str) -> BenchError:
        body = resp.text
        if len(body) > 500:
            body = body[:500] + "..."
        return BenchError(f"{what}: HTTP {resp.status_code}: {body}")

    def check_alive(self) -> None:
        resp = self.request("GET", "/")
        if resp.status_code != 200:
            raise self._fail(resp, f"server at {self.url} is not answering")

    # workflows ---------------------------------------------------------
    def create_workflows(self, yaml_text: str) -> float:
        """Create (or, on 409, update) workflows; returns the seconds taken."""
        t0 = time.perf_counter()
        headers = {"content-type": "text/plain"}
        resp = self.request("POST", "/workflows", content=yaml_text, headers=headers)
        if resp.status_code == 409:
            # A leftover with the same name: replace its definition.
            resp = self.request("PUT", "/workflows", content=yaml_text, headers=headers)
        if resp.status_code not in (200, 201):
            raise self._fail(resp, "creating workflow")
        return time.perf_counter() - t0

    def delete_workflow(self, name: str) -> None:
        resp = self.request("DELETE", f"/workflows/{name}")
        if resp.status_code not in (200, 204, 404, 409):
            warn(f"[{self.label}] deleting workflow {name}: HTTP {resp.status_code}")

    # executions --------------------------------------------------------
    def start_execution(self, workflow_name: str, wf_input: dict | None = None) -> dict:
        body = {
            "description": "",
            "workflow_name": workflow_name,
            "input": json.dumps(wf_input or {}),
        }
        resp = self.request("POST", "/executions", json=body)
        if resp.status_code not in (200, 201):
            raise self._fail(resp, f"starting {workflow_name}")
        return resp.json()

    def get_execution(self, ex_id: str) -> dict:
        resp = self.request("GET", f"/executions/{ex_id}")
        if resp.status_code != 200:
            raise self._fail(resp, f"reading execution {ex_id}")
        return resp.json()

    def wait_execution(self, ex: dict, deadline: float) -> dict:
        """Poll until terminal: first GET right away, then every `poll` s."""
        ex_id = ex["id"]
        first = True
        while ex.get("state") not in TERMINAL_STATES:
            if time.monotonic() > deadline:
                raise BenchError(
                    f"timeout: execution {ex_id} still {ex.get('state')}"
                )
            if not first:
                time.sleep(self.poll)
            first = False
            ex = self.get_execution(ex_id)
        return ex

    def delete_execution(self, ex_id: str) -> None:
        resp = self.request("DELETE", f"/executions/{ex_id}")
        if resp.status_code == 403:
            resp = self.request("DELETE", f"/executions/{ex_id}", params={"force": "true"})
        if resp.status_code not in (200, 204, 404):
            warn(f"[{self.label}] deleting execution {ex_id}: HTTP {resp.status_code}")

    # tasks -------------------------------------------------------------
    def list_tasks(self, ex_id: str) -> list[dict]:
        resp = self.request(
            "GET", "/tasks", params={"workflow_execution_id": ex_id, "limit": 1000}
        )
        if resp.status_code != 200:
            raise self._fail(resp, f"listing tasks of {ex_id}")
        return resp.json().get("tasks", [])

    def get_task(self, task_id: str) -> dict:
        resp = self.request("GET", f"/tasks/{task_id}")
        if resp.status_code != 200:
            raise self._fail(resp, f"reading task {task_id}")
        return resp.json()


def warn(msg: str) -> None:
    print(f"warning: {msg}", file=sys.stderr)


def json_field(value: Any) -> Any:
    """REST v2 ships most structured fields as JSON inside a JSON string."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def require_success(ex: dict, what: str) -> None:
    if ex.get("state") != "SUCCESS":
        raise BenchError(
            f"{what}: execution {ex.get('id')} ended {ex.get('state')}: "
            f"{ex.get('state_info')}"
        )


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(1, -(-len(ordered) * pct // 100))  # ceil without math import
    return ordered[int(rank) - 1]


# ------------------------------------------------------------------ workloads


@dataclass
class RunResult:
    wall: float
    units: int  # executions, tasks or items completed in `wall`
    latencies: list[float] = field(default_factory=list)
    create: float = 0.0  # POST /v2/workflows time (not part of `wall`)


@dataclass
class Workload:
    key: str
    title: str
    unit: str
    run: Callable[[Server, str, float], RunResult]


def _cleanup(server: Server, ex_ids: list[str], wf_names: list[str], keep: bool) -> None:
    if not keep:
        for ex_id in ex_ids:
            try:
                server.delete_execution(ex_id)
            except BenchError as exc:
                warn(f"[{server.label}] cleanup: {exc}")
    for name in wf_names:
        try:
            server.delete_workflow(name)
        except BenchError as exc:
            warn(f"[{server.label}] cleanup: {exc}")


def hello_yaml(name: str) -> str:
    return (
        'version: "2.0"\n'
        f"{name}:\n"
        "  type: direct\n"
        "  output:\n"
        "    out: <% $.out %>\n"
        "  tasks:\n"
        "    say_hello:\n"
        '      action: std.echo output="Hello Workflow!"\n'
        "      publish:\n"
        "        out: <% task(say_hello).result %>\n"
    )


def chain_yaml(name: str, length: int) -> str:
    lines = ['version: "2.0"', f"{name}:", "  type: direct", "  tasks:"]
    for i in range(1, length + 1):
        lines.append(f"    task_{i}:")
        lines.append("      action: std.noop")
        if i < length:
            lines.append(f"      on-success: task_{i + 1}")
    return "\n".join(lines) + "\n"


def items_yaml(name: str) -> str:
    return (
        'version: "2.0"\n'
        f"{name}:\n"
        "  type: direct\n"
        "  input:\n"
        "    - items\n"
        "  tasks:\n"
        "    echo_items:\n"
        "      with-items: i in <% $.items %>\n"
        "      action: std.echo output=<% $.i %>\n"
    )


def join_yaml(name: str, width: int) -> str:
    lines = ['version: "2.0"', f"{name}:", "  type: direct", "  tasks:"]
    for i in range(1, width + 1):
        lines.append(f"    branch_{i}:")
        lines.append("      action: std.noop")
        lines.append("      on-success: join_task")
    lines.append("    join_task:")
    lines.append("      join: all")
    lines.append("      action: std.noop")
    return "\n".join(lines) + "\n"


def _check_tasks(server: Server, ex_id: str, expected: int) -> list[dict]:
    tasks = server.list_tasks(ex_id)
    if len(tasks) != expected:
        raise BenchError(f"execution {ex_id}: {len(tasks)} tasks, expected {expected}")
    bad = [t.get("name") for t in tasks if t.get("state") != "SUCCESS"]
    if bad:
        raise BenchError(f"execution {ex_id}: tasks not SUCCESS: {bad[:5]}")
    return tasks


def run_hello(server: Server, prefix: str, timeout: float) -> RunResult:
    name = f"{prefix}_hello"
    create = server.create_workflows(hello_yaml(name))
    ex_ids: list[str] = []
    try:
        latencies = []
        deadline = time.monotonic() + timeout
        start = time.perf_counter()
        for _ in range(HELLO_COUNT):
            t0 = time.perf_counter()
            ex = server.start_execution(name)
            ex_ids.append(ex["id"])
            ex = server.wait_execution(ex, deadline)
            latencies.append(time.perf_counter() - t0)
            require_success(ex, "hello_world")
            out = json_field(ex.get("output"))
            if not isinstance(out, dict) or out.get("out") != "Hello Workflow!":
                raise BenchError(f"hello_world {ex['id']}: unexpected output {out!r}")
        wall = time.perf_counter() - start
        return RunResult(wall, HELLO_COUNT, latencies, create)
    finally:
        _cleanup(server, ex_ids, [name], server.keep_executions)


def _run_single(server: Server, name: str, yaml_text: str, wf_input: dict | None,
                timeout: float, verify: Callable[[dict], None]) -> RunResult:
    """Run one execution; the returned RunResult has units=0 (caller fills)."""
    create = server.create_workflows(yaml_text)
    ex_ids: list[str] = []
    try:
        deadline = time.monotonic() + timeout
        start = time.perf_counter()
        ex = server.start_execution(name, wf_input)
        ex_ids.append(ex["id"])
        ex = server.wait_execution(ex, deadline)
        wall = time.perf_counter() - start
        require_success(ex, name)
        verify(ex)
        return RunResult(wall, 0, create=create)
    finally:
        _cleanup(server, ex_ids, [name], server.keep_executions)


def run_chain(server: Server, prefix: str, timeout: float) -> RunResult:
    name = f"{prefix}_chain{CHAIN_LENGTH}"

    def verify(ex: dict) -> None:
        _check_tasks(server, ex["id"], CHAIN_LENGTH)

    res = _run_single(server, name, chain_yaml(name, CHAIN_LENGTH), None, timeout, verify)
    res.units = CHAIN_LENGTH
    return res


def run_items(server: Server, prefix: str, timeout: float) -> RunResult:
    name = f"{prefix}_items{ITEMS_COUNT}"
    items = list(range(ITEMS_COUNT))

    def verify(ex: dict) -> None:
        tasks = _check_tasks(server, ex["id"], 1)
        task = server.get_task(tasks[0]["id"])
        result = json_field(task.get("result"))
        if result != items:
            shown = result if not isinstance(result, list) else (
                f"list of {len(result)}: {result[:5]}...")
            raise BenchError(f"with-items result is not 0..{ITEMS_COUNT - 1} in order: {shown}")

    res = _run_single(server, name, items_yaml(name), {"items": items}, timeout, verify)
    res.units = ITEMS_COUNT
    return res


def run_join(server: Server, prefix: str, timeout: float) -> RunResult:
    name = f"{prefix}_join{PARALLEL_COUNT}"

    def verify(ex: dict) -> None:
        tasks = _check_tasks(server, ex["id"], PARALLEL_COUNT + 1)
        joins = [t for t in tasks if t.get("name") == "join_task"]
        if len(joins) != 1:
            raise BenchError(f"join_task ran {len(joins)} times, expected once")

    res = _run_single(server, name, join_yaml(name, PARALLEL_COUNT), None, timeout, verify)
    res.units = PARALLEL_COUNT + 1
    return res


WORKLOADS = [
    Workload("A", f"{HELLO_COUNT} hello_world back to back", "executions/s", run_hello),
    Workload("B", f"chain of {CHAIN_LENGTH} std.noop", "tasks/s", run_chain),
    Workload("C", f"with-items x{ITEMS_COUNT} std.echo", "items/s", run_items),
    Workload("D", f"{PARALLEL_COUNT} parallel std.noop + join", "tasks/s", run_join),
]

# --------------------------------------------------------------------- driver


def bench_one(server: Server, wl: Workload, repeat: int, timeout: float,
              verbose: bool) -> dict:
    walls: list[float] = []
    latencies: list[float] = []
    creates: list[float] = []
    units = 0
    entry: dict[str, Any] = {
        "workload": wl.key,
        "title": wl.title,
        "server": server.label,
        "url": server.url,
        "unit": wl.unit,
    }
    requests_before = server.requests
    try:
        for i in range(repeat):
            prefix = "bench_" + secrets.token_hex(3)
            res = wl.run(server, prefix, timeout)
            walls.append(res.wall)
            latencies.extend(res.latencies)
            creates.append(res.create)
            units = res.units
            if verbose:
                print(f"  {wl.key} {server.label} run {i + 1}/{repeat}: "
                      f"{res.wall:.3f} s (workflow create {res.create:.3f} s)",
                      file=sys.stderr)
    except BenchError as exc:
        entry["error"] = str(exc)
        print(f"FAILED {wl.key} on {server.label} ({server.url}): {exc}", file=sys.stderr)
    entry["runs_s"] = [round(w, 4) for w in walls]
    entry["http_requests"] = server.requests - requests_before
    if walls and "error" not in entry:
        med = statistics.median(walls)
        entry["median_wall_s"] = round(med, 4)
        entry["units"] = units
        entry["throughput"] = round(units / med, 2) if med > 0 else None
        entry["median_create_s"] = round(statistics.median(creates), 4)
        if latencies:
            entry["latency_p50_s"] = round(percentile(latencies, 50), 4)
            entry["latency_p95_s"] = round(percentile(latencies, 95), 4)
    return entry


def format_table(results: list[dict], with_peer: bool) -> str:
    headers = ["workload", "server", "median wall", "throughput", "notes"]
    rows = []
    walls = {(r["workload"], r["server"]): r.get("median_wall_s") for r in results}
    for r in results:
        if "error" in r:
            rows.append([f"{r['workload']} {r['title']}", r["server"], "FAILED", "-",
                         " ".join(r["error"].split())[:60]])
            continue
        notes = []
        if "latency_p50_s" in r:
            notes.append(f"p50 {r['latency_p50_s'] * 1000:.0f} ms, "
                         f"p95 {r['latency_p95_s'] * 1000:.0f} ms")
        notes.append(f"create wf {r['median_create_s']:.2f} s")
        if with_peer and r["server"] == "target":
            peer_wall = walls.get((r["workload"], "peer"))
            if peer_wall and r["median_wall_s"]:
                notes.append(f"{peer_wall / r['median_wall_s']:.2f}x as fast as peer")
        rows.append([
            f"{r['workload']} {r['title']}",
            r["server"],
            f"{r['median_wall_s']:.3f} s",
            f"{r['throughput']:.1f} {r['unit']}",
            "; ".join(notes),
        ])
    widths = [max(len(h), *(len(row[i]) for row in rows)) if rows else len(h)
              for i, h in enumerate(headers)]
    line = "  ".join("-" * w for w in widths)
    out = ["  ".join(h.ljust(w) for h, w in zip(headers, widths)).rstrip(), line]
    for row in rows:
        out.append("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip())
    return "\n".join(out)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description="Benchmark a Mistral-compatible server through REST API v2.",
        epilog="Workloads: " + "; ".join(f"{w.key}: {w.title}" for w in WORKLOADS),
    )
    p.add_argument("--url", default=DEFAULT_URL,
                   help=f"server under test, API v2 root (default {DEFAULT_URL})")
    p.add_argument("--peer", metavar="URL",
                   help="also run every workload against this server and compare")
    p.add_argument("--token", default=os.environ.get("LEVANTE_TOKEN"),
                   help="X-Auth-Token for the target (a server in mode token/keystone/oidc; "
                        "env LEVANTE_TOKEN)")
    p.add_argument("--peer-token", help="X-Auth-Token for the peer")
    p.add_argument("--only", metavar="A,B",
                   help="comma-separated workload letters to run (default: all)")
    p.add_argument("--repeat", type=int, default=3,
                   help="runs per workload and server; the median is reported (default 3)")
    p.add_argument("--poll", type=float, default=0.05,
                   help="seconds between execution state polls (default 0.05)")
    p.add_argument("--timeout", type=float, default=300.0,
                   help="seconds allowed per workload run (default 300)")
    p.add_argument("--http-timeout", type=float, default=60.0,
                   help="seconds allowed per HTTP request (default 60)")
    p.add_argument("--keep-executions", action="store_true",
                   help="do not delete the executions created (workflows are always deleted)")
    p.add_argument("--client", choices=("lean", "httpx"), default="lean",
                   help="HTTP client: the standard library's http.client on a kept "
                        "connection (default), or httpx as in earlier rounds")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.add_argument("-v", "--verbose", action="store_true",
                   help="print every run's wall time on stderr")
    args = p.parse_args(argv)
    if args.repeat < 1:
        p.error("--repeat must be >= 1")
    if args.poll < 0:
        p.error("--poll must be >= 0")
    known = {w.key for w in WORKLOADS}
    if args.only:
        wanted = [x.strip().upper() for x in args.only.split(",") if x.strip()]
        unknown = [x for x in wanted if x not in known]
        if unknown:
            p.error(f"unknown workload(s) {unknown}; choose from {sorted(known)}")
        args.selected = [w for w in WORKLOADS if w.key in wanted]
    else:
        args.selected = list(WORKLOADS)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    servers = [Server("target", args.url, args.poll, args.http_timeout,
                      args.keep_executions, args.token, args.client)]
    if args.peer:
        servers.append(Server("peer", args.peer, args.poll, args.http_timeout,
                              args.keep_executions, args.peer_token, args.client))
    results: list[dict] = []
    try:
        for s in servers:
            try:
                s.check_alive()
            except BenchError as exc:
                print(f"error: {exc}", file=sys.stderr)
                return 2
        for wl in args.selected:
            for s in servers:
                if args.verbose:
                    print(f"{wl.key} ({wl.title}) on {s.label} {s.url}", file=sys.stderr)
                results.append(bench_one(s, wl, args.repeat, args.timeout, args.verbose))
    finally:
        for s in servers:
            s.close()

    failed = any("error" in r for r in results)
    if args.json:
        doc = {
            "date": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "servers": {s.label: s.url for s in servers},
            "repeat": args.repeat,
            "poll_s": args.poll,
            "client": args.client,
            "cpu_count": os.cpu_count(),
            "python": platform.python_version(),
            "ok": not failed,
            "results": results,
        }
        print(json.dumps(doc, indent=2))
    else:
        print(f"target: {args.url}" + (f"   peer: {args.peer}" if args.peer else ""))
        print(f"median of {args.repeat} run(s), poll every {args.poll} s, "
              f"{args.client} client, {os.cpu_count()} CPU(s)\n")
        print(format_table(results, bool(args.peer)))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
