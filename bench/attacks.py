#!/usr/bin/env python3
"""hello_world latency while a hostile workflow runs (issue 9's reproducers).

For each attack: create the hostile workflow, start it, wait ``--lead``
seconds, then start a hello_world and time it from POST to SUCCESS. Prints
that latency, how the hostile execution ended and after how long. Needs a
running server; the slow-http attack needs one that may reach loopback
(``LEVANTE_HTTP_DENIED_CIDRS=`` in its environment). See bench/README.md.

    .venv/bin/python bench/attacks.py --url http://127.0.0.1:8990/v2
    .venv/bin/python bench/attacks.py --only yaql,jinja --json
"""
from __future__ import annotations

import argparse
import http.server
import json
import secrets
import sys
import threading
import time

import httpx

TERMINAL = ("SUCCESS", "ERROR", "CANCELLED")

HELLO = """
version: '2.0'
{name}:
  tasks:
    say_hello:
      action: std.echo output="Hello Workflow!"
      publish:
        out: <% task().result %>
"""


def _w(expression: str) -> str:
    return ("version: '2.0'\n{name}:\n  tasks:\n    t:\n      action: std.noop\n"
            "      publish:\n        x: " + expression + "\n")


ATTACKS = {
    # issue 9 reproducer number, workflow text ({name} is replaced)
    "yaql": (1, _w("<% range(1000).select(range(1000).sum()).sum() %>")),
    "jinja": (2, _w('"{% for i in range(100000) %}{% for j in range(100000) %}'
                    '{% for k in range(100000) %}{% endfor %}{% endfor %}{% endfor %}"')),
    "regex": (3, _w("<% '" + "a" * 40 + "!'.matches('(a|aa)+$') %>")),
    "template": (4, _w('"{% set s = \'x\' * 10000000 %}{% for i in range(300) %}{{ s }}{% endfor %}"')),
    # A variant of #4 that stays within the size budgets: it keeps what it builds.
    # Run it only on a server with memory_limit_mb set (else: gigabytes).
    "hoard": (4, _w('"{% set ns = namespace(l=[]) %}{% for i in range(100000) %}'
                    '{% set _ = ns.l.append(\'x\' * 9000000 ~ i) %}{% endfor %}{{ ns.l|length }}"')),
    "forkbomb": (9, """
version: '2.0'
{name}:
  tasks:
    a:
      action: mistral.executions_create wf_identifier={name}
    b:
      action: mistral.executions_create wf_identifier={name}
"""),
    "with_items": (10, """
version: '2.0'
{name}:
  tasks:
    many:
      with-items: i in <% range({items}) %>
      action: std.echo output=<% $.i %>
"""),
    "slow_http": (10, """
version: '2.0'
{name}:
  tasks:
    many:
      with-items: i in <% range(60) %>
      action: std.http url="{target}" timeout=120
"""),
}


class SlowTarget:
    """A loopback HTTP server answering after ``delay`` seconds."""

    def __init__(self, delay: float):
        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                time.sleep(delay)
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.handle_error = lambda *args: None    # callers gone when it answers
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/slow"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()


class Client:
    def __init__(self, url: str, timeout: float):
        self.http = httpx.Client(base_url=url.rstrip("/"), timeout=timeout, trust_env=False)

    def create(self, text: str) -> None:
        r = self.http.post("/workflows", content=text, headers={"content-type": "text/plain"})
        if r.status_code != 201:
            raise SystemExit(f"cannot create a workflow: {r.status_code} {r.text}")

    def start(self, name: str) -> str:
        r = self.http.post("/executions", json={"workflow_name": name})
        if r.status_code != 201:
            raise SystemExit(f"cannot start {name}: {r.status_code} {r.text}")
        return r.json()["id"]

    def state(self, exec_id: str) -> dict:
        return self.http.get(f"/executions/{exec_id}").json()


def run_attack(client: Client, kind: str, lead: float, limit: float, items: int) -> dict:
    number, text = ATTACKS[kind]
    tag = secrets.token_hex(3)
    hostile_name, hello_name = f"attack_{tag}_{kind}", f"attack_{tag}_hello"
    target = SlowTarget(150) if kind == "slow_http" else None
    try:
        client.create(HELLO.format(name=hello_name))
        client.create(text.replace("{name}", hostile_name).replace("{items}", str(items))
                      .replace("{target}", target.url if target else ""))
        t0 = time.time()
        hostile = client.start(hostile_name)
        time.sleep(lead)
        t1 = time.time()
        try:
            hello = client.start(hello_name)
        except httpx.HTTPError as e:
            hello, hello_error = None, f"POST failed: {e}"
        hello_s = hostile_s = None
        hello_state = hostile_state = "RUNNING"
        info = ""
        while time.time() - t0 < limit and (hello_s is None or hostile_s is None):
            try:
                if hello and hello_s is None:
                    body = client.state(hello)
                    if body["state"] in TERMINAL:
                        hello_s, hello_state = time.time() - t1, body["state"]
                if hostile_s is None:
                    body = client.state(hostile)
                    if body["state"] in TERMINAL:
                        hostile_s, hostile_state = time.time() - t0, body["state"]
                        info = (body.get("state_info") or "").splitlines()[-1:] or [""]
                        info = info[0].strip()[:160]
            except httpx.HTTPError:
                pass
            time.sleep(0.02)
        if hostile_s is None:
            client.http.put(f"/executions/{hostile}", json={"state": "CANCELLED"})
        return {"attack": kind, "reproducer": number, "hello_s": hello_s, "hello_state": hello_state,
                "hostile_state": hostile_state, "hostile_s": hostile_s, "hostile_info": info}
    finally:
        if target:
            target.close()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--url", default="http://127.0.0.1:8989/v2")
    p.add_argument("--only", default=",".join(k for k in ATTACKS if k != "hoard"),
                   help=f"comma-separated among {', '.join(ATTACKS)} (default: all but hoard, "
                        "which needs a server with memory_limit_mb)")
    p.add_argument("--lead", type=float, default=0.5, help="seconds between the attack and the hello_world")
    p.add_argument("--limit", type=float, default=120, help="seconds to watch one attack")
    p.add_argument("--items", type=int, default=100_000, help="items of the with_items attack")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    client = Client(args.url, timeout=args.limit)
    results = []
    for kind in [k.strip() for k in args.only.split(",") if k.strip()]:
        if kind not in ATTACKS:
            p.error(f"unknown attack {kind!r}")
        results.append(run_attack(client, kind, args.lead, args.limit, args.items))
        if not args.json:
            r = results[-1]
            fmt = lambda v: "-" if v is None else f"{v:.2f}s"   # noqa: E731
            print(f"{r['attack']:<11} #{r['reproducer']:<3} hello_world {fmt(r['hello_s']):>8} "
                  f"{r['hello_state']:<8} hostile {r['hostile_state']:<9} after {fmt(r['hostile_s']):>8}  "
                  f"{r['hostile_info']}", flush=True)
    if args.json:
        print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
