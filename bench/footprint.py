#!/usr/bin/env python3
"""Memory and storage footprint of a Levante server under many executions.

Starts its own ``levante server`` (a fresh SQLite file by default, or a fresh
database on ``--db``), runs ``--count`` hello_world executions with
``--in-flight`` of them running at a time, then reports:

- the server's resident memory (VmRSS) before, at its peak while sampled, and
  after the last execution finished;
- the database bytes per execution (SQLite: file plus WAL after a checkpoint;
  PostgreSQL: ``pg_database_size``), growth divided by ``--count``;
- executions per second over the whole run.

    .venv/bin/python bench/footprint.py --count 10000
    .venv/bin/python bench/footprint.py --count 2000 --db postgresql+psycopg://u:p@127.0.0.1/db
"""
from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import BenchError, Server, hello_yaml, require_success  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def db_bytes(url: str, workdir: Path) -> int:
    if url.startswith("sqlite:///"):
        import sqlite3

        path = Path(url[len("sqlite:///"):])
        with sqlite3.connect(path) as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    with engine.connect() as conn:
        size = conn.execute(sa.text("SELECT pg_database_size(current_database())")).scalar()
    engine.dispose()
    return int(size)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--count", type=int, default=10000)
    p.add_argument("--in-flight", type=int, default=8)
    p.add_argument("--db", help="SQLAlchemy URL of an EMPTY database (default: a fresh SQLite file)")
    p.add_argument("--poll", type=float, default=0.01)
    args = p.parse_args(argv)

    workdir = Path(tempfile.mkdtemp(prefix="levante-footprint-"))
    url = args.db or f"sqlite:///{workdir / 'levante.sqlite'}"
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "levante", "server", "--port", str(port), "--db", url,
                             "--log-file", str(workdir / "server.log"), "--log-level", "WARNING"],
                            cwd=workdir)
    server = Server("target", f"http://127.0.0.1:{port}/v2", args.poll, 60)
    try:
        deadline = time.time() + 60
        while True:
            try:
                server.check_alive()
                break
            except BenchError:
                if time.time() > deadline or proc.poll() is not None:
                    raise
                time.sleep(0.2)
        name = f"footprint_{os.getpid()}_hello"
        server.create_workflows(hello_yaml(name))
        db_before, rss_before = db_bytes(url, workdir), rss_mb(proc.pid)
        peak = rss_before
        todo = iter(range(args.count))
        lock = threading.Lock()
        failures: list[str] = []

        def worker() -> None:
            while True:
                with lock:
                    if next(todo, None) is None or failures:
                        return
                try:
                    ex = server.wait_execution(server.start_execution(name), time.time() + 120)
                    require_success(ex, "hello_world")
                except BenchError as e:
                    failures.append(str(e))

        started = time.time()
        threads = [threading.Thread(target=worker) for _ in range(args.in_flight)]
        for t in threads:
            t.start()
        while any(t.is_alive() for t in threads):
            peak = max(peak, rss_mb(proc.pid))
            time.sleep(0.5)
        wall = time.time() - started
        if failures:
            print(f"FAILED: {failures[0]}", file=sys.stderr)
            return 1
        rss_after = rss_mb(proc.pid)
        db_after = db_bytes(url, workdir)
        print(f"executions          {args.count} ({args.in_flight} in flight)")
        print(f"wall                {wall:.1f} s ({args.count / wall:.1f} executions/s)")
        print(f"server RSS (MB)     before {rss_before:.0f}, peak {max(peak, rss_after):.0f}, after {rss_after:.0f}")
        print(f"database bytes      {db_after - db_before} in all, {(db_after - db_before) / args.count:.0f} per execution")
        return 0
    finally:
        server.close()
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


if __name__ == "__main__":
    sys.exit(main())
