#!/usr/bin/env python3
"""CPU instructions per execution create, counted by valgrind (callgrind).

Wall-clock figures on a shared 2-core machine move by up to 2x from one run
to the next, far more than most single changes to the create path. The
number of instructions the interpreter runs for the same work moves by well
under 1%, so this is how to compare two versions of the code:

    bench/instructions.py                      # this checkout
    bench/instructions.py --tree ../old        # another checkout (git worktree)
    bench/instructions.py --path request       # through the ASGI app, as a POST

It starts a Levante runtime on a temporary SQLite file, logging at INFO to a
file as ``levante server`` does (its threads not started, so nothing runs on
a timer; the API's fast start and the expression budgets given a minute, as
valgrind slows everything down), creates a hello_world workflow, makes 30
executions to warm the caches, then counts the instructions of ``--count``
more: ``create`` calls ``Executions.create``; ``request`` sends ``POST
/v2/executions`` through the ASGI application (middlewares, routing, the hop
to the thread pool and the JSON answer), without a socket.

It does not count what the kernel does (writes to the WAL, futex waits), and
no instruction is a fixed time: it answers "does this change do less work",
not "how fast is it". Needs valgrind (``apt-get install valgrind``).
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from run import hello_yaml  # noqa: E402  (workload A's workflow, as bench/run.py runs it)

WARM_UP = 30


def child(count: int, path: str, signal_dir: str) -> None:
    import asyncio
    import json
    import logging

    from fastapi.testclient import TestClient

    from levante.api.app import create_app
    from levante.cli.server import build_runtime, setup_logging

    # Log as the server does (INFO, to a file): two lines per create are part of its cost.
    setup_logging(os.path.join(signal_dir, "server.log"), "info")
    logging.getLogger("httpx").setLevel(logging.WARNING)    # the TestClient's own requests

    rt = build_runtime(f"sqlite:///{signal_dir}/bench.sqlite")
    # Under valgrind everything runs some 50 times slower: give the API's fast
    # start the time it needs, so the path counted is the one taken at full speed.
    rt.engine.fast_start = 60.0
    app = create_app(rt)
    api = TestClient(app)
    r = api.post("/v2/workflows", content=hello_yaml("hello_world"), headers={"content-type": "text/plain"})
    assert r.status_code == 201, r.text
    body = json.dumps({"workflow_name": "hello_world", "input": "{}", "description": ""}).encode()

    async def post() -> None:
        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
                 "scheme": "http", "path": "/v2/executions", "raw_path": b"/v2/executions",
                 "query_string": b"", "root_path": "", "client": ("127.0.0.1", 50000),
                 "server": ("127.0.0.1", 8989), "app": app,
                 "headers": [(b"host", b"127.0.0.1:8989"), (b"content-type", b"application/json"),
                             (b"content-length", str(len(body)).encode())]}
        sent: list = []

        async def receive():
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message):
            sent.append(message)

        await app(scope, receive, send)
        assert sent[0]["status"] == 201, sent
        assert json.loads(sent[1]["body"])["state"] == "SUCCESS", sent

    async def posts(n: int) -> None:
        for _ in range(n):
            await post()

    def run(n: int) -> None:
        if path == "request":
            asyncio.run(posts(n))
        else:
            for _ in range(n):
                assert rt.executions.create("hello_world", {}, {}).state == "SUCCESS"

    run(WARM_UP)
    open(os.path.join(signal_dir, "ready"), "w").close()
    while not os.path.exists(os.path.join(signal_dir, "go")):
        time.sleep(0.05)
    run(count)
    os._exit(0)     # no shutdown work in the count


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--count", type=int, default=100, help="executions counted (default 100)")
    p.add_argument("--path", choices=("create", "request"), default="create")
    p.add_argument("--tree", default=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                   help="the checkout whose levante package is measured (default: this one)")
    p.add_argument("--child", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        sys.path.insert(0, args.tree)
        child(args.count, args.path, args.child)
        return 0
    if shutil.which("valgrind") is None or shutil.which("callgrind_control") is None:
        p.error("valgrind is not installed (apt-get install valgrind)")
    with tempfile.TemporaryDirectory() as d:
        # Budgets are wall time, and valgrind slows everything down: a minute each.
        env = dict(os.environ, PYTHONPATH=args.tree, LEVANTE_EXPRESSION_TIMEOUT="60",
                   LEVANTE_ENGINE_STEP_TIMEOUT="600")
        cmd = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={d}/callgrind.out",
               sys.executable, os.path.abspath(__file__), "--child", d, "--count", str(args.count),
               "--path", args.path, "--tree", args.tree]
        with open(os.path.join(d, "valgrind.log"), "w") as log:
            proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
            while not os.path.exists(os.path.join(d, "ready")):
                if proc.poll() is not None:
                    sys.stderr.write(open(os.path.join(d, "valgrind.log")).read()[-3000:])
                    return 1
                time.sleep(0.5)
            # Count from here: imports, schema and warm-up are left out.
            subprocess.run(["callgrind_control", "--zero", str(proc.pid)], check=True,
                           stdout=subprocess.DEVNULL)
            open(os.path.join(d, "go"), "w").close()
            proc.wait()
        text = open(os.path.join(d, "valgrind.log")).read()
    m = re.search(r"Collected : (\d+)", text)
    if proc.returncode != 0 or m is None:
        sys.stderr.write(text[-3000:])
        return 1
    per = int(m.group(1)) / args.count
    print(f"{args.path}: {per / 1e6:.2f} M instructions per execution "
          f"({args.count} counted, tree {args.tree})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
