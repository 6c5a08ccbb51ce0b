"""store/prepared.py: statements run on the driver give what Connection.execute gives."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from levante.store import prepared
from levante.store.db import Database

meta = sa.MetaData()
T = sa.Table(
    "t", meta,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("n", sa.Integer, nullable=False),
    sa.Column("x", sa.Float),
    sa.Column("flag", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("body", sa.Text),
    sa.Column("kind", sa.String(20), nullable=False, server_default="plain"),
)
# A type SQLAlchemy converts (dates as text on SQLite): never run on the driver.
D = sa.Table("d", meta, sa.Column("id", sa.String(36), primary_key=True), sa.Column("at", sa.Date))


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request, tmp_path):
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'p.sqlite'}"
    else:
        url = request.getfixturevalue("pg_url")
    database = Database(url)
    meta.create_all(database.engine)
    yield database
    database.dispose()


ROWS = [dict(id="a", n=1, x=0.5, flag=True, body="it's \"quoted\" % {x} ?", kind="k"),
        dict(id="b", n=2, x=None, flag=False, body=None, kind="plain"),
        dict(id="c", n=3, x=1e300, flag=True, body="é" * 1000, kind="k")]


def _all(db):
    with db.read() as conn:
        return [tuple(r) for r in conn.execute(sa.select(T).order_by(T.c.id))]


def test_insert_stores_what_connection_execute_stores(db):
    insert = prepared.Insert(T)
    with db.tx() as conn:
        insert(conn, dict(ROWS[0]))          # one row
        insert(conn, [dict(r) for r in ROWS[1:]])   # several: executemany
        insert(conn, [])
    direct = _all(db)
    with db.tx() as conn:
        conn.execute(T.delete())
        conn.execute(T.insert(), [dict(r) for r in ROWS])
    assert direct == _all(db)
    assert direct[0] == ("a", 1, 0.5, True, ROWS[0]["body"], "k")
    assert insert._compiled[(db.engine.dialect.name, tuple(ROWS[0]))].direct


def test_columns_left_out_get_their_server_defaults(db):
    with db.tx() as conn:
        prepared.Insert(T)(conn, dict(id="d", n=4))
    assert _all(db) == [("d", 4, None, False, None, "plain")]


def test_a_driver_error_is_sqlalchemys_and_rolls_back(db):
    insert = prepared.Insert(T)
    with pytest.raises(sa.exc.IntegrityError):
        with db.tx() as conn:
            insert(conn, dict(ROWS[0]))
            insert(conn, dict(ROWS[0]))      # the same id again
    assert _all(db) == []
    with pytest.raises(sa.exc.IntegrityError):
        with db.tx() as conn:
            insert(conn, dict(id="z", n=None))   # NOT NULL
    with db.tx() as conn:                    # the connection is fine afterwards
        insert(conn, dict(ROWS[1]))
    assert [r[0] for r in _all(db)] == ["b"]


def test_query_rows_by_attribute_with_literals_in_the_statement(db):
    with db.tx() as conn:
        conn.execute(T.insert(), [dict(r) for r in ROWS])
    select = (sa.select(T.c.id, T.c.n, T.c.x, T.c.body)
              .where(sa.or_(T.c.id == sa.bindparam("ident"), T.c.kind == sa.bindparam("kind")),
                     T.c.n < 100)
              .order_by(sa.case((T.c.id == sa.bindparam("ident"), 0), else_=1), T.c.id))
    query = prepared.Statement(select)
    with db.read() as conn:
        for params in ({"ident": "c", "kind": "k"}, {"ident": "b", "kind": "none"},
                       {"ident": "zz", "kind": "k"}, {"ident": "zz", "kind": "none"}):
            got = query.first(conn, params)
            want = conn.execute(select, params).first()
            assert (got is None) == (want is None)
            if want is not None:
                assert tuple(got) == tuple(want)
                assert (got.id, got.n, got.body) == (want.id, want.n, want.body)
    assert query._compiled[db.engine.dialect.name].direct


def test_types_sqlalchemy_converts_go_through_connection_execute(db):
    import datetime

    insert = prepared.Insert(D)
    query = prepared.Statement(sa.select(D.c.id, D.c.at).where(D.c.id == sa.bindparam("ident")))
    day = datetime.date(2026, 12, 6)
    with db.tx() as conn:
        insert(conn, dict(id="a", at=day))
    with db.read() as conn:
        row = query.first(conn, {"ident": "a"})
    assert row.at == day
    assert not insert._compiled[(db.engine.dialect.name, ("id", "at"))].direct
    assert not query._compiled[db.engine.dialect.name].direct


def test_statement_with_an_in_list_of_any_length(db):
    with db.tx() as conn:
        conn.execute(T.insert(), [dict(r) for r in ROWS])
    select = (sa.select(T.c.id, T.c.n, T.c.flag).where(T.c.id.in_(sa.bindparam("ids", expanding=True)),
                                             T.c.n < sa.bindparam("most"))
              .order_by(T.c.id))
    stmt = prepared.Statement(select)
    with db.read() as conn:
        for ids in ([], ["b"], ["a", "c", "zz"], ["c", "b", "a"]):
            params = {"ids": ids, "most": 3}
            got = stmt.all(conn, params)
            assert [tuple(r) for r in got] == [tuple(r) for r in conn.execute(select, params)]
            assert [r.id for r in got] == sorted(i for i in ids if i in ("a", "b"))
            # booleans as booleans (SQLite stores 0 and 1)
            assert [(r.id, r.flag) for r in got if r.flag is True or r.flag is False] == \
                [(r.id, ROWS["abc".index(r.id)]["flag"]) for r in got]
        # once per length of the list
        assert stmt.all(conn, {"ids": ["c", "a", "b"], "most": 100})[-1].id == "c"
        assert stmt.scalar(conn, {"ids": ["b", "c"], "most": 100}) == "b"
        assert stmt.scalar(conn, {"ids": ["zz"], "most": 100}) is None
    name = db.engine.dialect.name
    assert sorted(stmt._compiled) == [(name, (0,)), (name, (1,)), (name, (2,)), (name, (3,))]
    assert all(c.direct for c in stmt._compiled.values())


def test_update_and_delete_say_how_many_rows_they_changed(db):
    with db.tx() as conn:
        conn.execute(T.insert(), [dict(r) for r in ROWS])
    bump = prepared.Statement(
        T.update().where(T.c.id.in_(sa.bindparam("ids", expanding=True)), T.c.kind == sa.bindparam("b_kind"))
        .values(n=T.c.n + 10, flag=False, x=sa.bindparam("b_x")))
    set_body = prepared.Statement(T.update().where(T.c.id == sa.bindparam("b_id")), column_keys=["body", "n"])
    delete = prepared.Statement(T.delete().where(T.c.n > sa.bindparam("n_over")))
    with db.tx() as conn:
        assert bump.rowcount(conn, {"ids": ["a", "b", "c"], "b_kind": "k", "b_x": 2.5}) == 2
        assert bump.rowcount(conn, {"ids": ["b"], "b_kind": "k", "b_x": 2.5}) == 0
        assert set_body.rowcount(conn, {"b_id": "b", "body": "new", "n": 7}) == 1
        assert set_body.rowcount(conn, {"b_id": "zz", "body": "new", "n": 7}) == 0
    assert _all(db) == [("a", 11, 2.5, False, ROWS[0]["body"], "k"), ("b", 7, None, False, "new", "plain"),
                        ("c", 13, 2.5, False, ROWS[2]["body"], "k")]
    with db.tx() as conn:
        assert delete.rowcount(conn, {"n_over": 10}) == 2
    assert [r[0] for r in _all(db)] == ["b"]
    for stmt in (bump, set_body, delete):
        assert all(c.direct for c in stmt._compiled.values())


def test_locking_reads_take_the_direct_way_too(db):
    with db.tx() as conn:
        conn.execute(T.insert(), [dict(r) for r in ROWS])
    select = sa.select(T.c.id).where(T.c.kind == sa.bindparam("kind")).order_by(T.c.id)
    locked = prepared.Statement(select.with_for_update(skip_locked=True))
    with db.tx() as conn:
        assert [r.id for r in locked.all(conn, {"kind": "k"})] == ["a", "c"]
    assert locked._compiled[db.engine.dialect.name].direct
    if db.engine.dialect.name == "postgresql":
        assert "SKIP LOCKED" in locked._compiled["postgresql"].sql
