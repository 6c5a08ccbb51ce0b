"""The busiest statements, compiled once and handed to the database driver.

SQLAlchemy's ``Connection.execute`` costs some 20 to 40 microseconds of
Python per statement on top of what the database does (cache key, execution
context, result set-up, events): more than SQLite itself needs to insert a
row or to look one up by its key. A step of the engine or the executor runs
a dozen or more such statements, so for the busiest ones the SQL is compiled
once per dialect (and, for an ``IN`` list, per length of the list), here,
and run on the driver's cursor inside the caller's transaction (the same
connection, so the same transaction).

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
# (booleans only go: SQLite gives them back as 0 and 1, which Statement turns
# back into booleans).
_PLAIN_RESULTS = (sa.String, sa.Integer, sa.Float)
_PLAIN_PARAMS = _PLAIN_RESULTS + (sa.Boolean,)


def _fixed(compiled) -> dict:
    """The values the statement itself binds (literals in it), by parameter name."""
    return {name: bp.effective_value for bp, name in compiled.bind_names.items() if not bp.required}


def _direct(compiled, plain: bool, given: Iterable[str], fixed: dict) -> bool:
    """Whether the driver may run ``compiled`` as it is: ``plain`` types only, and
    every parameter given or bound by the statement (no Python-side column
    default to compute, no name the driver would see escaped)."""
    return (plain
            and set(compiled.bind_names.values()) <= set(given) | set(fixed)
            and not getattr(compiled, "escaped_bind_names", None)
            and all(isinstance(v, (str, int, float, type(None))) for v in fixed.values()))


def _compile(stmt, dialect, column_keys: list[str] | None, plain: bool, given: Iterable[str]) -> _Compiled:
    compiled = stmt.compile(dialect=dialect, column_keys=column_keys)
    fixed = _fixed(compiled)
    names = tuple(compiled.positiontup) if compiled.positional else tuple(compiled.bind_names.values())
    return _Compiled(str(compiled), names, fixed, compiled.positional, _direct(compiled, plain, given, fixed))


def _execute(conn: sa.Connection, sql: str, args, many: bool = False):
    dialect = conn.dialect
    cursor = conn.connection.dbapi_connection.cursor()
    try:
        if many:
            cursor.executemany(sql, args)
        else:
            cursor.execute(sql, args)
        return cursor
    except dialect.loaded_dbapi.Error as e:
        cursor.close()
        raise sa.exc.DBAPIError.instance(sql, args, e, dialect.loaded_dbapi.Error,
                                         dialect=dialect) from e


def _run(conn: sa.Connection, c: _Compiled, params: list[dict], many: bool):
    if c.positional:
        args = [c.pick(p) for p in params]
    else:
        args = [{**c.fixed, **p} for p in params] if c.fixed else params
    return _execute(conn, c.sql, args if many else args[0], many)


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


def with_lock(stmt, **for_update) -> tuple["Statement", "Statement"]:
    """``stmt``, and ``stmt`` FOR UPDATE (``for_update``: ``with_for_update``'s
    options), as Statements: indexed by whether the caller locks."""
    return Statement(stmt), Statement(stmt.with_for_update(**for_update))


class Statement:
    """A statement built once, with named ``sa.bindparam`` parameters (expanding
    ones too, for ``IN`` lists): a SELECT's rows by attribute, or how many rows
    an UPDATE or DELETE changed. Every call gives every parameter.
    ``column_keys``: the columns an UPDATE sets from parameters of their names."""

    def __init__(self, stmt, column_keys: list[str] | None = None):
        self.stmt = stmt
        self.column_keys = column_keys
        self.is_select = stmt.is_select
        if self.is_select:
            columns = stmt.selected_columns
            Row = collections.namedtuple("Row", [str(c.key) for c in columns], rename=True)
            flags = [i for i, c in enumerate(columns) if isinstance(c.type, sa.Boolean)]
            self.row = Row._make if not flags else (
                lambda r: Row._make([bool(v) if i in flags and v is not None else v
                                     for i, v in enumerate(r)]))
        self._base: dict[str, tuple] = {}   # dialect -> (SQLAlchemy's compiled form, its IN lists)
        self._compiled: dict[tuple, _Compiled] = {}     # (dialect, IN list lengths) -> SQL

    def _get(self, conn: sa.Connection, params: dict[str, Any]) -> _Compiled:
        dialect = conn.dialect
        hit = self._base.get(dialect.name)
        if hit is None:
            compiled = self.stmt.compile(dialect=dialect, column_keys=self.column_keys)
            hit = self._base[dialect.name] = (
                compiled, tuple(n for bp, n in compiled.bind_names.items() if bp.expanding))
        base, expanding = hit
        key = (dialect.name, tuple(len(params[n]) for n in expanding)) if expanding else dialect.name
        c = self._compiled.get(key)
        if c is None:
            c = self._compiled[key] = self._compile(base, params)
        return c

    def _compile(self, base, params: dict[str, Any]) -> _Compiled:
        plain = (all(isinstance(bp.type, _PLAIN_PARAMS) for bp in base.bind_names)
                 and (not self.is_select
                      or all(isinstance(c.type, _PLAIN_PARAMS) for c in self.stmt.selected_columns)))
        fixed = _fixed(base)
        state = base.construct_expanded_state(params)
        names = tuple(state.positiontup) if base.positional else tuple(state.parameters)
        spread = {n: (k, i) for k, ns in state.parameter_expansion.items() for i, n in enumerate(ns)}
        c = _Compiled(state.statement, names, fixed, base.positional, _direct(base, plain, params, fixed))
        if spread:      # an IN list's items, each its own parameter
            c.pick = lambda p: tuple([p[spread[n][0]][spread[n][1]] if n in spread
                                      else p[n] if n in p else fixed[n] for n in names])
        return c

    def _cursor(self, conn: sa.Connection, params: dict[str, Any]):
        """The driver's cursor after running the statement, or None if it must
        go through ``Connection.execute``."""
        c = self._get(conn, params)
        if not c.direct:
            return None
        args = c.pick(params)
        return _execute(conn, c.sql, args if c.positional else dict(zip(c.names, args)))

    def all(self, conn: sa.Connection, params: dict[str, Any]) -> list:
        cursor = self._cursor(conn, params)
        if cursor is None:
            return conn.execute(self.stmt, params).fetchall()
        try:
            return [self.row(r) for r in cursor.fetchall()]
        finally:
            cursor.close()

    def first(self, conn: sa.Connection, params: dict[str, Any]):
        """The first row, or None."""
        cursor = self._cursor(conn, params)
        if cursor is None:
            return conn.execute(self.stmt, params).first()
        try:
            row = cursor.fetchone()
        finally:
            cursor.close()
        return None if row is None else self.row(row)

    def scalar(self, conn: sa.Connection, params: dict[str, Any]):
        """The first column of the first row, or None."""
        row = self.first(conn, params)
        return None if row is None else row[0]

    def rowcount(self, conn: sa.Connection, params: dict[str, Any]) -> int:
        """Run an UPDATE or DELETE; how many rows it matched."""
        cursor = self._cursor(conn, params)
        if cursor is None:
            return conn.execute(self.stmt, params).rowcount
        try:
            return cursor.rowcount
        finally:
            cursor.close()
