"""Shared fixtures: a real Levante server in a subprocess on a free port."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parent.parent
#: The crash course's workflows, written for Levante (examples/README.md).
EXAMPLES = ROOT / "examples"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


#: The PostgreSQL server the tests use (``postgresql+psycopg://user:pw@host:port``);
#: ``make test`` starts one and sets it. With LEVANTE_TEST_SERVERS_ON_PG=1 every
#: test server also runs on its own fresh PostgreSQL database instead of SQLite.
PG_URL = os.environ.get("LEVANTE_TEST_PG")
SERVERS_ON_PG = os.environ.get("LEVANTE_TEST_SERVERS_ON_PG") == "1"


#: (server URL, database name) of every database this run created, dropped at its end.
_CREATED_PG: list[tuple[str, str]] = []


def _pg_admin(base_url: str):
    import psycopg

    plain = base_url.replace("postgresql+psycopg://", "postgresql://")
    return psycopg.connect(plain.rstrip("/") + "/postgres", autocommit=True)


def fresh_pg_database(base_url: str) -> str:
    """Create an empty database on ``base_url``'s server; return its SQLAlchemy URL.

    The database is dropped when the test session ends (see pytest_sessionfinish).
    """
    import uuid

    name = f"levante_test_{os.environ.get('LEVANTE_TEST_PG_TAG', '')}{uuid.uuid4().hex[:12]}"
    with _pg_admin(base_url) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    _CREATED_PG.append((base_url, name))
    return f"{base_url.rstrip('/')}/{name}"


def drop_created_pg_databases() -> list[str]:
    """Drop every database this run created (FORCE ends connections still open); return their names."""
    dropped = []
    while _CREATED_PG:
        base_url, name = _CREATED_PG.pop()
        with _pg_admin(base_url) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        dropped.append(name)
    return dropped


def pytest_sessionfinish(session, exitstatus):
    if _CREATED_PG:
        drop_created_pg_databases()


class Server:
    """``levante server`` as a user starts it, on its own database
    (a SQLite file, or a fresh PostgreSQL database when LEVANTE_TEST_PG is set)."""

    def __init__(self, workdir: Path, db_url: str | None = None, args: tuple[str, ...] = ()):
        self.workdir = workdir
        self.args = tuple(args)
        self.port = free_port()
        if db_url is None and SERVERS_ON_PG:
            assert PG_URL, "LEVANTE_TEST_SERVERS_ON_PG=1 needs LEVANTE_TEST_PG"
            db_url = fresh_pg_database(PG_URL)
        self.db_url = db_url or f"sqlite:///{workdir / 'levante.sqlite'}"
        self.url = f"http://127.0.0.1:{self.port}/v2"
        self.log = workdir / "server.log"
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 30.0) -> "Server":
        cmd = [sys.executable, "-m", "levante", "server", "--port", str(self.port),
               "--db", self.db_url, "--log-file", str(self.log), *self.args]
        self.proc = subprocess.Popen(cmd, cwd=self.workdir, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.STDOUT)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.log.read_text() if self.log.exists() else ''}")
            if not self.serves_api:
                if self.log.exists() and "role=runtime started" in self.log.read_text():
                    return self
            else:
                try:
                    if httpx.get(self.url + "/", timeout=1).status_code == 200:
                        return self
                except httpx.HTTPError:
                    pass
            time.sleep(0.1)
        raise RuntimeError("server did not start")

    @property
    def serves_api(self) -> bool:
        roles = [self.args[i + 1] for i, a in enumerate(self.args) if a == "--role"]
        return not roles or "api" in roles or "all" in roles

    def kill(self) -> None:
        """Stop abruptly, as a crash would (SIGKILL: no clean shutdown)."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture
def pg_url() -> str:
    """A fresh, empty PostgreSQL database (the server ``make test`` starts)."""
    assert PG_URL, ("these tests need PostgreSQL: run `make test`, which starts it, "
                    "or set LEVANTE_TEST_PG=postgresql+psycopg://user:password@host:port")
    return fresh_pg_database(PG_URL)


@pytest.fixture(scope="session")
def server(tmp_path_factory) -> Server:
    srv = Server(tmp_path_factory.mktemp("levante-server")).start()
    yield srv
    srv.stop()


@pytest.fixture
def fresh_server(tmp_path) -> Server:
    srv = Server(tmp_path)
    yield srv
    srv.stop()


@pytest.fixture(scope="session")
def mistral(server):
    """The real python-mistralclient library, pointed at Levante (no keystone)."""
    from mistralclient.api import client

    return client.client(mistral_url=server.url)


def wait_for_state(get, states=("SUCCESS", "ERROR", "CANCELLED"), timeout: float = 30.0):
    """Poll ``get()`` until its ``.state`` is one of ``states``; return the object."""
    deadline = time.time() + timeout
    while True:
        obj = get()
        if obj.state in states:
            return obj
        if time.time() > deadline:
            raise AssertionError(f"still {obj.state} after {timeout}s")
        time.sleep(0.05)
