"""The suite leaves no PostgreSQL database behind."""
from __future__ import annotations

import os
import subprocess
import sys
import uuid

from tests.conftest import PG_URL, ROOT, _pg_admin


def _databases(prefix: str) -> list[str]:
    with _pg_admin(PG_URL) as conn:
        rows = conn.execute("SELECT datname FROM pg_database WHERE datname LIKE %s",
                            (prefix + "%",)).fetchall()
    return [r[0] for r in rows]


def test_a_test_run_drops_the_databases_it_created():
    assert PG_URL, "needs PostgreSQL: run `make test`, which starts it"
    tag = f"t{uuid.uuid4().hex[:6]}_"
    # A run whose tests create databases (two PostgreSQL consumers and a producer).
    env = dict(os.environ, LEVANTE_TEST_PG_TAG=tag, LEVANTE_TEST_PG=PG_URL)
    proc = subprocess.run([sys.executable, "-m", "pytest", "-o", "addopts=", "-q", "-p", "no:cacheprovider",
                           "tests/queues/test_service.py", "-k", "postgresql"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # Those tests ran (each takes a fresh database from the pg_url fixture,
    # named with the tag) ...
    assert "3 passed" in proc.stdout, proc.stdout
    # ... and none of their databases is left.
    assert _databases("levante_test_" + tag) == []
