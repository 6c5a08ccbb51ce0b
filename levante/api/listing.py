"""Collection queries the way Mistral's API takes them: limit, marker,
sort_keys, sort_dirs, fields, and equality filters on any column."""
from __future__ import annotations

from typing import Any, Callable
from urllib.parse import urlencode

import sqlalchemy as sa
from starlette.requests import Request

from levante.api.errors import ApiError
from levante.auth import current_caller
from levante.store import scope

MAX_LIMIT = 1000
RESERVED = {"limit", "marker", "sort_keys", "sort_dirs", "fields", "include_output", "namespace", "nulls",
            "scope", "all_projects", "force", "project_id_filter"}


def list_response(request: Request, conn: sa.Connection, table: sa.Table, collection: str,
                  render: Callable[[Any], dict], base_where: list | None = None,
                  drop: tuple[str, ...] = (), default_sort: str = "created_at",
                  default_dir: str = "asc", columns: list | None = None, caller=None) -> dict:
    """One page of ``table`` with only the rows the caller may see (:func:`scope.listed`);
    the caller is the request's unless given, so no list forgets the projects."""
    if caller is None:
        caller = current_caller(request)
    q = request.query_params
    try:
        limit = int(q.get("limit")) if q.get("limit") else MAX_LIMIT
    except ValueError:
        raise ApiError(400, f"Invalid limit: {q.get('limit')!r}")
    if limit <= 0:
        raise ApiError(400, f"Limit must be positive, got {limit}")
    limit = min(limit, MAX_LIMIT)
    sort_keys = [k for k in (q.get("sort_keys") or default_sort).split(",") if k]
    sort_dirs = [d for d in (q.get("sort_dirs") or "").split(",") if d]
    while len(sort_dirs) < len(sort_keys):
        sort_dirs.append(sort_dirs[-1] if sort_dirs else default_dir)
    for k in sort_keys:
        if k not in table.c:
            raise ApiError(400, f"Invalid sort key: {k}")
    for d in sort_dirs:
        if d not in ("asc", "desc"):
            raise ApiError(400, f"Invalid sort direction: {d}")
    if "id" not in sort_keys:
        sort_keys.append("id")
        sort_dirs.append("asc")

    where = list(base_where or [])
    if "project_id" in table.c:
        shared = scope.shared_with(caller) if table.name == "workflow_definitions" else None
        where.append(scope.listed(table, caller, q.get("all_projects", "").lower() == "true",
                                  q.get("project_id"), shared))
    for key, value in q.items():
        if key in RESERVED or (key == "project_id" and "project_id" in table.c):
            continue
        if key not in table.c:
            raise ApiError(400, f"Unknown filter: {key}")
        where.append(_filter(table.c[key], value))

    marker = q.get("marker")
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
    if len(rows) == limit:
        params = {"sort_keys": ",".join(sort_keys), "sort_dirs": ",".join(sort_dirs)}
        # Like Mistral, the filters stay in the link so the next page is filtered too.
        params.update((k, v) for k, v in q.items() if k not in RESERVED)
        params.update(limit=limit, marker=rows[-1].id)
        if fields:
            params["fields"] = ",".join(fields)
        base = str(request.url).split("?", 1)[0]
        body["next"] = f"{base}?{urlencode(params, safe=',')}"
    return body


def _filter(col: sa.Column, value: str):
    for op, fn in (("neq:", lambda c, v: c != v), ("in:", lambda c, v: c.in_(v.split(","))),
                   ("nin:", lambda c, v: c.not_in(v.split(","))), ("gt:", lambda c, v: c > v),
                   ("gte:", lambda c, v: c >= v), ("lt:", lambda c, v: c < v),
                   ("lte:", lambda c, v: c <= v), ("has:", lambda c, v: c.contains(v)),
                   ("eq:", lambda c, v: c == v)):
        if value.startswith(op):
            return fn(col, value[len(op):])
    if value in ("null", "None") and col.nullable:
        return col.is_(None)
    return col == value


def _after(table: sa.Table, keys: list[str], dirs: list[str], values: list):
    """Rows strictly after the marker row in the given order (keyset paging)."""
    clauses = []
    for i, (k, d) in enumerate(zip(keys, dirs)):
        eqs = [table.c[keys[j]] == values[j] for j in range(i)]
        col = table.c[k]
        cmp = col < values[i] if d == "desc" else col > values[i]
        clauses.append(sa.and_(*eqs, cmp))
    return sa.or_(*clauses)
