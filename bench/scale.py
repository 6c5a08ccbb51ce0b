"""How the cost of one execution grows with its size, through the REST API.

    python bench/scale.py [--url http://127.0.0.1:8989/v2] [--repeat 3]

Workloads (each one execution, POST to terminal state, median of --repeat):
  chain N       N std.noop tasks, each on-success the next
  fanout N      N std.noop start tasks, all on-success one `join: all` task
  items N       one task, with-items over N ints, std.echo of each item
  queued N      N `std.sleep seconds=0` tasks, each on-success the next: every
                step goes through the job queue (engine, executor, scheduler,
                engine) instead of running inside the engine's step

and prints the wall time and the cost per task (per item). The workflow
definitions are created first and deleted at the end; so are the executions.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
import uuid

import httpx

TERMINAL = ("SUCCESS", "ERROR", "CANCELLED")


def chain(name: str, n: int, action: str = "std.noop") -> str:
    lines = ["version: '2.0'", f"{name}:", "  tasks:"]
    for i in range(n):
        lines += [f"    t{i}:", f"      action: {action}"]
        if i < n - 1:
            lines.append(f"      on-success: t{i + 1}")
    return "\n".join(lines) + "\n"


def fanout(name: str, n: int) -> str:
    lines = ["version: '2.0'", f"{name}:", "  tasks:"]
    for i in range(n):
        lines += [f"    s{i}:", "      action: std.noop", "      on-success: join_task"]
    lines += ["    join_task:", "      join: all", "      action: std.noop"]
    return "\n".join(lines) + "\n"


def items(name: str, n: int) -> str:
    return (f"version: '2.0'\n{name}:\n  input:\n    - n\n  tasks:\n    each:\n"
            f"      with-items: i in <% range($.n) %>\n      action: std.echo output=<% $.i %>\n")


def queued(name: str, n: int) -> str:
    return chain(name, n, "std.sleep seconds=0")


WORKLOADS = {"chain": chain, "fanout": fanout, "items": items, "queued": queued}


def run_one(client: httpx.Client, kind: str, n: int, repeat: int, poll: float) -> dict:
    name = f"scale_{kind}_{n}_{uuid.uuid4().hex[:6]}"
    r = client.post("/workflows", content=WORKLOADS[kind](name, n), headers={"content-type": "text/plain"})
    r.raise_for_status()
    walls, ids = [], []
    try:
        for _ in range(repeat):
            body = {"workflow_name": name}
            if kind == "items":
                body["input"] = {"n": n}
            t0 = time.perf_counter()
            ex = client.post("/executions", json=body).json()
            while ex["state"] not in TERMINAL:
                time.sleep(poll)
                ex = client.get(f"/executions/{ex['id']}").json()
            walls.append(time.perf_counter() - t0)
            ids.append(ex["id"])
            if ex["state"] != "SUCCESS":
                raise SystemExit(f"{kind} {n}: execution {ex['id']} ended {ex['state']}: {ex.get('state_info')}")
    finally:
        for i in ids:
            client.delete(f"/executions/{i}")
        client.delete(f"/workflows/{name}")
    tasks = n + 1 if kind == "fanout" else n
    wall = statistics.median(walls)
    return {"workload": f"{kind} {n}", "wall_s": wall, "ms_per_task": wall / tasks * 1e3,
            "runs": walls}


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--url", default="http://127.0.0.1:8989/v2")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--poll", type=float, default=0.01)
    p.add_argument("--sizes", default="chain:50,chain:2000,fanout:100,fanout:1000,items:200,items:10000",
                   help="comma-separated kind:N (kinds: chain, fanout, items, queued)")
    args = p.parse_args(argv)
    with httpx.Client(base_url=args.url, timeout=600) as client:
        print(f"{'workload':14s} {'median wall':>12s} {'per task':>12s}   runs")
        for spec in args.sizes.split(","):
            kind, n = spec.split(":")
            res = run_one(client, kind, int(n), args.repeat, args.poll)
            runs = " / ".join(f"{w:.3f}" for w in res["runs"])
            print(f"{res['workload']:14s} {res['wall_s']:10.3f} s {res['ms_per_task']:9.3f} ms   {runs}",
                  flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
