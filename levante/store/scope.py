"""Who a request acts for, and the one place that turns that into SQL.

Every resource row carries the ``project_id`` it belongs to (and, for
definitions, a ``scope``). A :class:`Caller` travels from the API (or a
trigger, or an execution) down to the queries; :func:`visible` and
:func:`owned` are the only where-clauses that decide what it may see or
change, so no route writes its own project filter.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa

DEFAULT_PROJECT = "<default-project>"


@dataclass(frozen=True)
class Caller:
    """The identity a request or an execution acts with."""
    project_id: str = DEFAULT_PROJECT
    user_id: str | None = None
    is_admin: bool = False
    roles: tuple[str, ...] = field(default_factory=tuple)
    # Authentication is on: resource sharing and the admin rules apply.
    authenticated: bool = False
    # The credential the request came with (passed on to mistral.* actions).
    auth_token: str | None = field(default=None, repr=False)     # never in logs


def acting_for(project_id: str | None) -> Caller:
    """The identity of work done for a project without a request: an execution's
    sub-workflows and actions (its starter's project), a trigger (its owner's)."""
    return Caller(project_id=project_id or DEFAULT_PROJECT, authenticated=True)


#: Mode none (one user on loopback): the default project, allowed everything.
LOCAL = Caller(project_id=DEFAULT_PROJECT, user_id=None, is_admin=True, roles=("admin",))


def _has_scope(table: sa.Table) -> bool:
    return "scope" in table.c and table.name in SHAREABLE


# Tables whose public rows every project sees (scope: public).
SHAREABLE = {"workflow_definitions", "workbooks", "action_definitions", "environments"}


def shared_with(caller: Caller | None, resource_type: str = "workflow"):
    """Ids of the resources other projects shared with the caller's, accepted by it."""
    if caller is None or not caller.authenticated:
        return None
    return shared_query(caller.project_id, resource_type)


def shared_query(project, resource_type: str = "workflow"):
    """:func:`shared_with` for ``project`` (a value or a bind parameter)."""
    from levante.store.auth import resource_members as RM

    return sa.select(RM.c.resource_id).where(RM.c.member_id == project,
                                             RM.c.resource_type == resource_type,
                                             RM.c.status == "accepted")


def owned(table: sa.Table, caller: Caller | None):
    """Rows the caller may change: its project's (an admin: any)."""
    if caller is None or not caller.authenticated or caller.is_admin:
        return sa.true()
    return table.c.project_id == caller.project_id


def visible(table: sa.Table, caller: Caller | None, shared_ids=None):
    """Rows the caller may read or run: its project's, public definitions, and
    (for workflows) those shared with its project and accepted; an admin, any."""
    if caller is None or not caller.authenticated or caller.is_admin:
        return sa.true()
    return visible_to_project(table, caller.project_id, shared_ids)


def visible_to_project(table: sa.Table, project, shared_ids=None):
    """:func:`visible` for an authenticated caller of ``project`` (a value or a
    bind parameter) who is not an admin."""
    clauses = [table.c.project_id == project]
    if _has_scope(table):
        clauses.append(table.c.scope == "public")
    if shared_ids is not None:
        clauses.append(table.c.id.in_(shared_ids))
    return sa.or_(*clauses)


def listed(table: sa.Table, caller: Caller | None, all_projects: bool = False,
           project_id: str | None = None, shared_ids=None):
    """Rows a collection shows: :func:`visible`, or for an admin asking for
    ``all_projects``, every row (optionally one project's)."""
    if caller is not None and caller.authenticated and caller.is_admin and (all_projects or project_id):
        return table.c.project_id == project_id if project_id else sa.true()
    where = sa.true() if caller is None or not caller.authenticated else sa.or_(
        table.c.project_id == caller.project_id,
        *([table.c.scope == "public"] if _has_scope(table) else []),
        *([table.c.id.in_(shared_ids)] if shared_ids is not None else []))
    if project_id:
        where = sa.and_(where, table.c.project_id == project_id)
    return where


def ensure_owner(row, caller: Caller | None, message: str) -> None:
    """Refuse (403) a change to a row the caller can see but does not own (a public one)."""
    from levante.errors import Forbidden

    if caller is not None and caller.authenticated and not caller.is_admin \
            and row.project_id != caller.project_id:
        raise Forbidden(message)
