"""Migrations are explicit, have one head, and give exactly the declared tables."""
from __future__ import annotations

import time

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

# Importing these modules puts every table on the one metadata.
import levante.store.auth  # noqa: F401
import levante.store.code_sources  # noqa: F401
import levante.store.maintenance  # noqa: F401
import levante.store.notifications  # noqa: F401
import levante.store.queues  # noqa: F401
import levante.store.triggers  # noqa: F401
from levante.store.db import Database, alembic_config
from levante.store.schema import metadata
from tests.conftest import PG_URL, ROOT, fresh_pg_database


def test_one_head():
    heads = ScriptDirectory.from_config(alembic_config()).get_heads()
    assert len(heads) == 1, f"migrations have several heads {heads}: make the new revision revise the head"


def test_no_revision_creates_tables_from_the_live_metadata():
    # A revision that calls schema.metadata...create() would silently follow
    # later edits of schema.py.
    for rev in ScriptDirectory.from_config(alembic_config()).walk_revisions():
        source = open(rev.path).read()
        assert "metadata" not in source, f"{rev.path} uses the live metadata"


def _new_database(backend: str, tmp_path) -> str:
    """The URL of a new, empty database on ``backend``."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'levante.sqlite'}"
    assert PG_URL, "needs PostgreSQL: run `make test`, which starts it"
    return fresh_pg_database(PG_URL)


def _schema_diffs(diffs: list) -> list:
    """Alembic's differences, without server defaults (compared by neither
    backend reliably; types, columns, nullability, indexes and constraints are)."""
    return [d for d in diffs if not (isinstance(d, list) and d and d[0][0] == "modify_default")]


def _diff(url: str) -> list:
    db = Database(url)
    try:
        db.upgrade()
        with db.engine.connect() as conn:
            return compare_metadata(MigrationContext.configure(conn), metadata)
    finally:
        db.dispose()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_migrated_database_matches_the_declared_tables(backend, tmp_path):
    url = _new_database(backend, tmp_path)
    diffs = _schema_diffs(_diff(url))
    assert diffs == [], diffs


def test_a_database_at_the_two_old_heads_upgrades(tmp_path):
    from alembic import command
    from alembic.script import ScriptDirectory

    db = Database(f"sqlite:///{tmp_path / 'old.sqlite'}")
    try:
        cfg = alembic_config()
        with db.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "0002_queues")
            command.upgrade(cfg, "0002_triggers")
        db.upgrade()
        with db.read() as conn:
            head = ScriptDirectory.from_config(alembic_config()).get_current_head()
            assert [r[0] for r in conn.exec_driver_sql("SELECT version_num FROM alembic_version")] == [head]
    finally:
        db.dispose()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_queues_become_per_project_keeping_their_messages(backend, tmp_path):
    """0008: a queue's messages and claims take its project, and another
    project can then have a queue of the same name."""
    from alembic import command

    import sqlalchemy as sa

    from levante.queues.service import QueueService

    url = _new_database(backend, tmp_path)
    db = Database(url)
    try:
        cfg = alembic_config()
        with db.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "0007")
            conn.execute(sa.text("INSERT INTO queues (name, meta, counter, project_id, created_at) "
                                 "VALUES ('approvals', '{}', 2, 'team-a', 1.0)"))
            for i, claim in ((1, "c1"), (2, None)):
                conn.execute(sa.text(
                    "INSERT INTO queue_messages (id, queue_name, seq, body, ttl, created_at, expires_at, "
                    "claim_id, claim_expires_at, claim_count) VALUES (:id, 'approvals', :seq, :body, "
                    "3600, 1.0, 9e12, :claim, :cexp, 0)"),
                    dict(id=f"m{i}", seq=i, body=f'"msg {i}"', claim=claim, cexp=9e12 if claim else None))
            conn.execute(sa.text("INSERT INTO queue_claims (id, queue_name, ttl, grace, created_at, expires_at) "
                                 "VALUES ('c1', 'approvals', 300, 60, 1.0, 9e12)"))
        db.upgrade()
        svc = QueueService(db)
        assert [m.body for m in svc.list_messages("approvals", project_id="team-a", include_claimed=True)[0]] \
            == ["msg 1", "msg 2"]
        assert [m.body for m in svc.get_claim("approvals", "c1", project_id="team-a").messages] == ["msg 1"]
        assert not svc.queue_exists("approvals", project_id="team-b")
        assert svc.create_queue("approvals", project_id="team-b")
        svc.post("approvals", [{"body": "b's"}], project_id="team-b")
        assert [m.body for m in svc.pop("approvals", 5, project_id="team-b")] == ["b's"]
        # A's next message follows its own counter.
        (posted,) = svc.post("approvals", [{"body": "msg 3"}], project_id="team-a")
        assert posted.seq == 3
    finally:
        db.dispose()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_downgrade_from_the_head_and_up_again(backend, tmp_path):
    from alembic import command

    url = _new_database(backend, tmp_path)
    db = Database(url)
    try:
        db.upgrade()
        cfg = alembic_config()
        with db.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "0007")
        db.upgrade()
        with db.engine.connect() as conn:
            diffs = compare_metadata(MigrationContext.configure(conn), metadata)
        assert _schema_diffs(diffs) == []
    finally:
        db.dispose()


_STARTER = """
import os, sys, time
from levante.store.db import Database
go = sys.argv[2]
open(go + "." + str(os.getpid()), "w").close()      # imported: ready
while not os.path.exists(go):   # all starters are up: upgrade at once
    time.sleep(0.005)
db = Database(sys.argv[1])
db.upgrade()
db.dispose()
"""


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_processes_started_together_on_a_new_database_all_come_up(backend, tmp_path):
    # Every server process brings the schema up to date as it starts; an API,
    # engines and executors started at once against a new database must not
    # race to create the same tables (the loser's CREATE TABLE fails and that
    # process dies). Processes, not threads: Alembic's context is per process.
    import os
    import subprocess
    import sys

    from alembic.script import ScriptDirectory

    url = _new_database(backend, tmp_path)
    go = tmp_path / "go"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    procs = [subprocess.Popen([sys.executable, "-c", _STARTER, url, str(go)], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
             for _ in range(4)]
    deadline = time.time() + 60
    while len(list(tmp_path.glob("go.*"))) < len(procs) and time.time() < deadline:
        time.sleep(0.01)    # until every starter has imported
    go.touch()
    outputs = [p.communicate(timeout=120)[0] for p in procs]
    assert [p.returncode for p in procs] == [0] * 4, "\n".join(outputs)
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    db = Database(url)
    try:
        with db.engine.connect() as conn:
            assert MigrationContext.configure(conn).get_current_revision() == head
        assert _schema_diffs(_diff(url)) == []
    finally:
        db.dispose()
