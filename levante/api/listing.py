"""Collection queries the way Mistral's API takes them: limit, marker,
sort_keys, sort_dirs, fields, and filters on any field.

A filter is ``field=value`` or ``field=OP:value`` with OP one of ``eq``,
``neq``, ``gt``, ``gte``, ``lt``, ``lte``, ``in``, ``nin`` (comma-separated
lists) and ``has`` (substring); ``tags=a,b`` keeps what carries all the tags;
``nulls=f1,f2`` keeps what has no value in those fields. Timestamps are
compared as dates (``created_at=gte:2020-01-01``); ``is_system`` on
``/v2/actions``. An unknown filter is a 400, as in Mistral. One parser
(:func:`parse_filters`) serves every list endpoint; its conditions become SQL
(:func:`list_response`) or a test on rendered items (:func:`list_items`, for
collections that are not one table, like ``/v2/actions``).
"""
from __future__ import annotations

import datetime
import functools
import json
import operator
from dataclasses import dataclass
from typing import Any, Callable, Iterable
from urllib.parse import urlencode

import sqlalchemy as sa
from starlette.requests import Request

from levante.api.errors import ApiError
from levante.auth import caller_of
from levante.store import scope

MAX_LIMIT = 1000
# Query parameters that are not filters.
RESERVED = {"limit", "marker", "sort_keys", "sort_dirs", "fields", "include_output", "nulls",
            "all_projects", "force", "project_id_filter"}
# Parameters Mistral's clients may send to endpoints without such a field: no filter there.
SOFT = {"namespace", "scope"}
OPS = ("eq", "neq", "gt", "gte", "lt", "lte", "in", "nin", "has")
NULL = object()     # the value of a ``nulls=`` condition


@dataclass(frozen=True)
class Condition:
    field: str
    op: str
    value: Any      # a string, a list of strings (in/nin), or NULL


def parse_filters(request: Request, fields: Iterable[str], nullable: Iterable[str] = ()) -> list[Condition]:
    """The filter conditions of a list request on a collection with ``fields``."""
    known, can_be_null = set(fields), set(nullable)
    conds = []
    for key, raw in request.query_params.items():
        if key in RESERVED:
            continue
        if key not in known:
            if key in SOFT:
                continue
            raise ApiError(400, f'Unknown argument: "{key}"')
        op, value = "eq", raw
        head, sep, rest = raw.partition(":")
        if sep and head in OPS:
            op, value = head, rest
        if op in ("in", "nin"):
            value = value.split(",")
        conds.append(Condition(key, op, value))
    for name in [n for n in (request.query_params.get("nulls") or "").split(",") if n]:
        if name not in known:
            raise ApiError(400, f"'{name}' is not a valid field name.")
        if name not in can_be_null:
            raise ApiError(400, f"The field '{name}' can't hold None value.")
        conds.append(Condition(name, "eq", NULL))
    return conds


# ---------------------------------------------------------------- values

def parse_date(field: str, value: str) -> float:
    """A date filter value (ISO 8601: ``2020-01-01``, ``2020-01-01 10:00:00``, UTC; or
    epoch seconds) -> epoch seconds."""
    try:
        return float(value)
    except ValueError:
        pass
    try:
        d = datetime.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ApiError(400, f"Invalid value for filter {field}: {value!r} is not a date "
                            "(YYYY-MM-DD, optionally followed by HH:MM:SS)") from None
    if d.tzinfo is None:
        d = d.replace(tzinfo=datetime.timezone.utc)
    return d.timestamp()


def _bool(field: str, value: str) -> bool:
    low = value.strip().lower()
    if low in ("true", "1", "yes"):
        return True
    if low in ("false", "0", "no"):
        return False
    raise ApiError(400, f"Invalid value for filter {field}: {value!r} is not true or false")


def _int(field: str, value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise ApiError(400, f"Invalid value for filter {field}: {value!r} is not an integer") from None


def _whole_second(value: str) -> bool:
    return "." not in value.rpartition(":")[2] if ":" in value else True


# ---------------------------------------------------------------- SQL

def _sql(table: sa.Table, cond: Condition):
    col = table.c[cond.field]
    if cond.value is NULL:
        return col.is_(None)
    if cond.field == "tags" and cond.op == "eq":
        # Tags are stored as a JSON list: match each quoted tag.
        tags = [t for t in cond.value.split(",") if t]
        return sa.and_(*[col.contains(json.dumps(t), autoescape=True) for t in tags])
    if cond.op == "has":
        return col.contains(cond.value, autoescape=True)
    if cond.op in ("eq", "neq") and cond.value in ("null", "None") and col.nullable:
        return col.is_(None) if cond.op == "eq" else col.is_not(None)

    if isinstance(col.type, sa.Float):      # timestamps: epoch seconds
        def conv(v): return parse_date(cond.field, v)
    elif isinstance(col.type, sa.Boolean):
        def conv(v): return _bool(cond.field, v)
    elif isinstance(col.type, sa.Integer):
        def conv(v): return _int(cond.field, v)
    else:
        def conv(v): return v
    if cond.op in ("in", "nin"):
        values = [conv(v) for v in cond.value]
        return col.in_(values) if cond.op == "in" else col.not_in(values)
    v = conv(cond.value)
    if isinstance(col.type, sa.Float) and cond.op in ("eq", "neq") and _whole_second(cond.value):
        # Dates are shown to the second: equal means within that second.
        inside = sa.and_(col >= v, col < v + 1)
        return inside if cond.op == "eq" else sa.not_(inside)
    if isinstance(col.type, sa.Boolean) and cond.op not in ("eq", "neq"):
        raise ApiError(400, f"Filter {cond.field} is true or false: only eq and neq apply")
    compare = {"eq": operator.eq, "neq": operator.ne, "gt": operator.gt, "gte": operator.ge,
               "lt": operator.lt, "lte": operator.le}[cond.op]
    return compare(col, v)


def list_response(request: Request, conn: sa.Connection, table: sa.Table, collection: str,
                  render: Callable[[Any], dict], base_where: list | None = None,
                  drop: tuple[str, ...] = (), default_sort: str = "created_at",
                  default_dir: str = "asc", columns: list | None = None, caller=None) -> dict:
    """One page of ``table``'s rows the caller may see (:func:`scope.listed`), filtered,
    sorted and paged as the request asks; the caller is the request's unless given,
    so no list forgets the projects."""
    if caller is None:
        caller = caller_of(request)
    q = request.query_params
    limit = _limit(request)
    sort_keys, sort_dirs = _sort(request, set(table.c.keys()), default_sort, default_dir)

    where = list(base_where or [])
    if "project_id" in table.c:
        shared = scope.shared_with(caller) if table.name == "workflow_definitions" else None
        where.append(scope.listed(table, caller, q.get("all_projects", "").lower() == "true",
                                  q.get("project_id"), shared))
    conds = parse_filters(request, table.c.keys(), [c.name for c in table.c if c.nullable])
    where += [_sql(table, c) for c in conds if c.field != "project_id"]

    marker = request.query_params.get("marker")
    if marker:
        mrow = conn.execute(sa.select(*[table.c[k] for k in sort_keys]).where(table.c.id == marker)).first()
        if mrow is None:
            raise ApiError(400, f"Marker not found: {marker}")
        where.append(_after(table, sort_keys, sort_dirs, list(mrow)))

    stmt = sa.select(*(columns or [table])).where(*where).limit(limit)
    for k, d in zip(sort_keys, sort_dirs):
        stmt = stmt.order_by(table.c[k].desc() if d == "desc" else table.c[k].asc())
    rows = conn.execute(stmt).fetchall()
    items = [render(r) for r in rows]
    return _page(request, items, collection, limit, sort_keys, sort_dirs, drop,
                 rows[-1].id if rows else None, full=len(rows) == limit)


# ---------------------------------------------------------------- in memory

def _as_date(value: Any) -> float | None:
    if value in (None, ""):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    try:
        return parse_date("", str(value))
    except ApiError:
        return None


def _matches_value(actual: Any, cond: Condition) -> bool:
    """Does a rendered field value pass the condition?"""
    if cond.value is NULL:
        return actual is None
    if cond.field == "tags" and cond.op == "eq":
        have = set(actual or [])
        return all(t in have for t in cond.value.split(",") if t)
    if cond.op == "has":
        return actual is not None and cond.value in str(actual)
    if isinstance(actual, bool):
        def conv(v): return _bool(cond.field, v)
        have = actual
    elif isinstance(actual, int):
        def conv(v): return _int(cond.field, v)
        have = actual
    elif cond.field.endswith(("_at", "_time")):
        def conv(v): return parse_date(cond.field, v)
        have = _as_date(actual)
    else:
        def conv(v): return v
        have = actual if actual is None or isinstance(actual, str) else json.dumps(actual)
    if cond.op in ("in", "nin"):
        inside = have in [conv(v) for v in cond.value]
        return inside if cond.op == "in" else not inside
    want = conv(cond.value)
    if cond.op == "eq":
        return have == want
    if cond.op == "neq":
        return have != want
    if have is None:
        return False
    return {"gt": operator.gt, "gte": operator.ge, "lt": operator.lt, "lte": operator.le}[cond.op](have, want)


def list_items(request: Request, items: list[dict], collection: str, default_sort: str = "name",
               default_dir: str = "asc", key: str = "name") -> dict:
    """A page of ``items`` (rendered dicts) filtered, sorted and paged like a table's rows;
    ``marker`` is the ``key`` (or id) of the last item of the previous page."""
    fields = set(items[0].keys()) if items else {"id", "name"}
    limit = _limit(request)
    sort_keys, sort_dirs = _sort(request, fields, default_sort, default_dir, tiebreak=key)
    conds = parse_filters(request, fields, fields)
    items = [it for it in items if all(_matches_value(it.get(c.field), c) for c in conds)]

    def compare(a: dict, b: dict) -> int:
        for k, d in zip(sort_keys, sort_dirs):
            x, y = a.get(k), b.get(k)
            x, y = (None if x == "" else x), (None if y == "" else y)   # built-ins: no dates
            if x == y:
                continue
            if x is None or y is None:
                r = -1 if x is None else 1
            else:
                r = -1 if str(x) < str(y) else 1
            return r if d == "asc" else -r
        return 0

    items.sort(key=functools.cmp_to_key(compare))
    marker = request.query_params.get("marker")
    if marker:
        pos = next((i for i, it in enumerate(items) if marker in (it.get(key), it.get("id"))), None)
        if pos is None:
            raise ApiError(400, f"Marker not found: {marker}")
        items = items[pos + 1:]
    page = items[:limit]
    return _page(request, page, collection, limit, sort_keys, sort_dirs, (),
                 page[-1].get(key) if page else None, full=len(items) > limit)


# ---------------------------------------------------------------- shared

def _limit(request: Request) -> int:
    q = request.query_params
    try:
        limit = int(q.get("limit")) if q.get("limit") else MAX_LIMIT
    except ValueError:
        raise ApiError(400, f"Invalid limit: {q.get('limit')!r}")
    if limit <= 0:
        raise ApiError(400, f"Limit must be positive, got {limit}")
    return min(limit, MAX_LIMIT)


def _sort(request: Request, known: set[str], default_sort: str, default_dir: str,
          tiebreak: str = "id") -> tuple[list[str], list[str]]:
    q = request.query_params
    sort_keys = [k for k in (q.get("sort_keys") or default_sort).split(",") if k]
    sort_dirs = [d for d in (q.get("sort_dirs") or "").split(",") if d]
    while len(sort_dirs) < len(sort_keys):
        sort_dirs.append(sort_dirs[-1] if sort_dirs else default_dir)
    for k in sort_keys:
        if k not in known:
            raise ApiError(400, f"Invalid sort key: {k}")
    for d in sort_dirs:
        if d not in ("asc", "desc"):
            raise ApiError(400, f"Invalid sort direction: {d}")
    if tiebreak not in sort_keys:
        sort_keys.append(tiebreak)
        sort_dirs.append("asc")
    return sort_keys, sort_dirs


def _page(request: Request, items: list[dict], collection: str, limit: int, sort_keys: list[str],
          sort_dirs: list[str], drop: tuple[str, ...], last: Any, full: bool) -> dict:
    q = request.query_params
    fields = [f for f in (q.get("fields") or "").split(",") if f]
    if fields:
        known = set(items[0].keys()) if items else None
        if known is not None:
            bad = [f for f in fields if f not in known]
            if bad:
                raise ApiError(400, f"Some fields do not exist  {bad}, please choose from {sorted(known)}")
        keep = ["id"] + [f for f in fields if f != "id"]
        items = [{f: it.get(f) for f in keep} for it in items]
    else:
        for it in items:
            for k in drop:
                it.pop(k, None)
    body: dict = {collection: items}
    if full and last is not None:
        params = {"sort_keys": ",".join(sort_keys), "sort_dirs": ",".join(sort_dirs)}
        # Like Mistral, the filters stay in the link so the next page is filtered too.
        params.update((k, v) for k, v in q.items() if k not in RESERVED or k in ("nulls", "include_output"))
        params.update(limit=limit, marker=last)
        if fields:
            params["fields"] = ",".join(fields)
        base = str(request.url).split("?", 1)[0]
        body["next"] = f"{base}?{urlencode(params, safe=',')}"
    return body


def _after(table: sa.Table, keys: list[str], dirs: list[str], values: list):
    """Rows strictly after the marker row in the given order (keyset paging)."""
    clauses = []
    for i, (k, d) in enumerate(zip(keys, dirs)):
        eqs = [table.c[keys[j]] == values[j] for j in range(i)]
        col = table.c[k]
        cmp = col < values[i] if d == "desc" else col > values[i]
        clauses.append(sa.and_(*eqs, cmp))
    return sa.or_(*clauses)
