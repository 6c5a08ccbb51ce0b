"""The busiest statements, compiled once and handed to the database driver.

SQLAlchemy's ``Connection.execute`` costs some 25 to 40 microseconds of
Python per statement on top of what the database does (cache key, execution
context, result set-up, events): more than SQLite itself needs to insert a
row. A new execution runs four such statements, so for those the SQL is
compiled once per dialect, here, and run on the driver's cursor inside the
caller's transaction (the same connection, so the same transaction).

Only statements whose parameters and columns need no conversion by
SQLAlchemy (text, numbers, booleans) take the direct way; any other falls
back to ``Connection.execute``, so the answer is the same either way. Driver
errors are raised as SQLAlchemy's (``sqlalchemy.exc.IntegrityError``...), as
``Connection.execute`` would raise them.
"""
from __future__ import annotations

import collections
import operator
from typing import Any, Callable, Iterable

import sqlalchemy as sa


class _Compiled:
    __slots__ = ("sql", "names", "fixed", "positional", "direct", "pick")

    def __init__(self, sql: str, names: tuple[str, ...], fixed: dict, positional: bool, direct: bool):
        self.sql = sql
        self.names = names          # the parameters, in place order
        self.fixed = fixed          # values the statement itself binds (literals in it)
        self.positional = positional
        self.direct = direct        # False: run through Connection.execute
        self.pick = _picker(names, fixed)   # a row's dict -> the driver's tuple (positional)


def _picker(names: tuple[str, ...], fixed: dict) -> Callable[[dict], tuple]:
    if names and not fixed:
        get = operator.itemgetter(*names)
        return get if len(names) > 1 else (lambda p: (get(p),))
    return lambda p: tuple([p[k] if k in p else fixed[k] for k in names])


# Values of these types go to the driver and come back from it as they are
# (booleans only go: SQLite gives them back as 0 and 1).
_PLAIN_RESULTS = (sa.String, sa.Integer, sa.Float)
_PLAIN_PARAMS = _PLAIN_RESULTS + (sa.Boolean,)


def _compile(stmt, dialect, column_keys: list[str] | None, plain: bool, given: Iterable[str]) -> _Compiled:
    compiled = stmt.compile(dialect=dialect, column_keys=column_keys)
    fixed = {name: bp.effective_value for bp, name in compiled.bind_names.items() if not bp.required}
    names = tuple(compiled.positiontup) if compiled.positional else tuple(compiled.bind_names.values())
    direct = (plain
              # every parameter is given or bound by the statement: no Python-side
              # column default to compute, no name the driver would see escaped
              and set(names) <= set(given) | set(fixed)
              and not getattr(compiled, "escaped_bind_names", None)
              and all(isinstance(v, (str, int, float, type(None))) for v in fixed.values()))
    return _Compiled(str(compiled), names, fixed, compiled.positional, direct)


def _run(conn: sa.Connection, c: _Compiled, params: list[dict], many: bool):
    dialect = conn.dialect
    if c.positional:
        args = [c.pick(p) for p in params]
    else:
        args = [{**c.fixed, **p} for p in params] if c.fixed else params
    cursor = conn.connection.dbapi_connection.cursor()
    try:
        if many:
            cursor.executemany(c.sql, args)
        else:
            cursor.execute(c.sql, args[0])
        return cursor
    except dialect.loaded_dbapi.Error as e:
        cursor.close()
        raise sa.exc.DBAPIError.instance(c.sql, args, e, dialect.loaded_dbapi.Error,
                                         dialect=dialect) from e


class Insert:
    """``INSERT INTO table`` of rows that all give the same columns."""

    def __init__(self, table: sa.Table):
        self.table = table
        self._compiled: dict[tuple, _Compiled] = {}

    def __call__(self, conn: sa.Connection, rows: list[dict] | dict) -> None:
        rows = [rows] if isinstance(rows, dict) else rows
        if not rows:
            return
        keys = tuple(rows[0])
        cache_key = (conn.dialect.name, keys)
        c = self._compiled.get(cache_key)
        if c is None:
            c = self._compiled[cache_key] = _compile(self.table.insert(), conn.dialect, list(keys),
                                                     all(isinstance(self.table.c[k].type, _PLAIN_PARAMS)
                                                         for k in keys), keys)
        if not c.direct:
            conn.execute(self.table.insert(), rows)
            return
        _run(conn, c, rows, many=len(rows) > 1).close()


class Query:
    """A SELECT with named ``sa.bindparam`` parameters; rows by attribute."""

    def __init__(self, select: sa.Select):
        self.select = select
        self.Row = collections.namedtuple("Row", [c.key for c in select.selected_columns])
        self._compiled: dict[str, _Compiled] = {}

    def first(self, conn: sa.Connection, params: dict[str, Any]):
        """The first row, or None (``params``: every parameter, always the same names)."""
        c = self._compiled.get(conn.dialect.name)
        if c is None:
            plain = all(isinstance(col.type, _PLAIN_RESULTS) for col in self.select.selected_columns)
            c = self._compiled[conn.dialect.name] = _compile(self.select, conn.dialect, None, plain, params)
        if not c.direct:
            return conn.execute(self.select, params).first()
        cursor = _run(conn, c, [params], many=False)
        try:
            row = cursor.fetchone()
        finally:
            cursor.close()
        return None if row is None else self.Row(*row)
