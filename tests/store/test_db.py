"""Database.tx and Database.read on SQLite keep their Connections open between
transactions (a pool checkout and close cost more than a small transaction)."""
from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa
from sqlalchemy import event

from levante.store.db import KEPT_CONNECTIONS, Database


@pytest.fixture
def db(tmp_path):
    d = Database(f"sqlite:///{tmp_path / 'k.sqlite'}")
    with d.tx() as conn:
        conn.exec_driver_sql("CREATE TABLE t (n INTEGER)")
    yield d
    d.dispose()


def _checkouts(db: Database) -> list:
    seen: list = []
    event.listen(db.engine.pool, "checkout", lambda *a: seen.append(1))
    return seen


def test_transactions_reuse_one_open_connection(db):
    with db.read() as conn:
        first = conn
    checkouts = _checkouts(db)
    for i in range(50):
        with db.tx() as conn:
            assert conn is first
            conn.exec_driver_sql("INSERT INTO t VALUES (?)", (i,))
        with db.read() as conn:
            assert conn is first
            assert conn.exec_driver_sql("SELECT count(*) FROM t").scalar() == i + 1
    assert checkouts == []      # not once back to the pool and out again


def test_release_hooks_run_after_commit_and_after_rollback(db):
    seen = []
    db.on_release(lambda conn: seen.append(conn.in_transaction()))
    with db.tx() as conn:
        conn.exec_driver_sql("INSERT INTO t VALUES (1)")
        assert seen == []
    assert seen == [False]
    with pytest.raises(RuntimeError):
        with db.tx() as conn:
            conn.exec_driver_sql("INSERT INTO t VALUES (2)")
            raise RuntimeError("no")
    assert seen == [False, False]
    with db.read() as conn:
        assert conn.exec_driver_sql("SELECT n FROM t").scalars().all() == [1]


def test_a_rolled_back_transaction_leaves_the_connection_usable(db):
    with pytest.raises(sa.exc.IntegrityError):
        with db.tx() as conn:
            conn.exec_driver_sql("CREATE UNIQUE INDEX u ON t (n)")
            conn.exec_driver_sql("INSERT INTO t VALUES (1)")
            conn.exec_driver_sql("INSERT INTO t VALUES (1)")
    with db.tx() as conn:
        conn.exec_driver_sql("INSERT INTO t VALUES (1)")
        conn.exec_driver_sql("INSERT INTO t VALUES (1)")    # the index went with the rollback
    with db.read() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM t").scalar() == 2


def test_an_invalidated_connection_is_not_kept(db):
    with pytest.raises(sa.exc.PendingRollbackError):    # SQLAlchemy's answer to committing it
        with db.read() as conn:
            broken = conn
            conn.invalidate()
    with db.read() as conn:
        assert conn is not broken
        assert conn.exec_driver_sql("SELECT count(*) FROM t").scalar() == 0


def test_threads_never_share_a_connection_and_few_are_kept(db):
    in_use: set[int] = set()
    lock = threading.Lock()
    errors: list = []

    def use(conn):
        with lock:
            assert id(conn) not in in_use, "one Connection in two transactions at once"
            in_use.add(id(conn))

    def done(conn):
        with lock:
            in_use.discard(id(conn))

    def work(k: int) -> None:
        try:
            for i in range(100):
                if i % 3:
                    with db.read() as conn:
                        use(conn)
                        conn.exec_driver_sql("SELECT count(*) FROM t").scalar()
                        done(conn)
                else:
                    with db.tx() as conn:
                        use(conn)
                        conn.exec_driver_sql("INSERT INTO t VALUES (?)", (k,))
                        done(conn)
        except Exception as e:      # reported below, with the others
            errors.append(e)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with db.read() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM t").scalar() == 12 * 34
    assert len(db._kept) <= KEPT_CONNECTIONS
    assert db.engine.pool.checkedout() == len(db._kept)     # none lost on the way


def test_dispose_closes_the_kept_connections(db):
    with db.read():
        pass
    pool = db.engine.pool
    assert pool.checkedout() == 1
    db.dispose()
    assert pool.checkedout() == 0


def test_update_by_id_sets_the_values_and_bumps_the_counter(tmp_path):
    from levante.store.db import update_by_id

    rows = sa.Table("rows", sa.MetaData(), sa.Column("id", sa.String, primary_key=True),
                    sa.Column("state", sa.String), sa.Column("started", sa.Float),
                    sa.Column("version", sa.Integer))
    d = Database(f"sqlite:///{tmp_path / 'u.sqlite'}")
    try:
        rows.create(d.engine)
        with d.tx() as conn:
            conn.execute(rows.insert(), [dict(id="a", state="IDLE", started=None, version=0),
                                         dict(id="b", state="IDLE", started=None, version=0)])
        for i in range(3):      # the same columns: one statement, built once
            with d.tx() as conn:
                assert update_by_id(conn, rows, "a", {"state": f"S{i}"}, bump="version") == 1
        with d.tx() as conn:
            # An SQL expression among the values: the statement is built for it.
            assert update_by_id(conn, rows, "b", {"started": sa.func.coalesce(rows.c.started, 7.0),
                                                  "state": "RUNNING"}, bump="version") == 1
            assert update_by_id(conn, rows, "missing", {"state": "X"}) == 0
        with d.read() as conn:
            got = {r.id: (r.state, r.started, r.version) for r in conn.execute(sa.select(rows))}
        assert got == {"a": ("S2", None, 3), "b": ("RUNNING", 7.0, 1)}
    finally:
        d.dispose()
