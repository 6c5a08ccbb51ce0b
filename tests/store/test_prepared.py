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
    query = prepared.Query(select)
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
    query = prepared.Query(sa.select(D.c.id, D.c.at).where(D.c.id == sa.bindparam("ident")))
    day = datetime.date(2026, 12, 6)
    with db.tx() as conn:
        insert(conn, dict(id="a", at=day))
    with db.read() as conn:
        row = query.first(conn, {"ident": "a"})
    assert row.at == day
    assert not insert._compiled[(db.engine.dialect.name, ("id", "at"))].direct
    assert not query._compiled[db.engine.dialect.name].direct
