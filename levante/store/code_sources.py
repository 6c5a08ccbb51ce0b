"""Code sources (Python modules uploaded through the API) and the dynamic
actions registered from their classes, and the queries on them.

A code source's ``version`` goes up by one on every update: executors cache
the loaded module by (code source id, version), so an update reaches every
process without a restart.
"""
from __future__ import annotations

import sqlalchemy as sa

from levante.store.schema import metadata

DEFAULT_PROJECT = "<default-project>"

code_sources = sa.Table(
    "code_sources", metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("namespace", sa.String(255), nullable=False, server_default=""),
    sa.Column("content", sa.Text, nullable=False),
    sa.Column("version", sa.Integer, nullable=False, server_default="1"),
    sa.Column("tags", sa.Text, nullable=False, server_default="[]"),
    sa.Column("scope", sa.String(20), nullable=False, server_default="private"),
    sa.Column("project_id", sa.String(80), nullable=False, server_default=DEFAULT_PROJECT),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("updated_at", sa.Float),
    sa.UniqueConstraint("name", "namespace", "project_id", name="uq_code_source_name"),
)

dynamic_actions = sa.Table(
    "dynamic_action_definitions", metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("namespace", sa.String(255), nullable=False, server_default=""),
    sa.Column("class_name", sa.String(255), nullable=False),
    sa.Column("code_source_id", sa.String(36),
              sa.ForeignKey("code_sources.id", ondelete="CASCADE"), nullable=False),
    sa.Column("code_source_name", sa.String(255), nullable=False),
    sa.Column("scope", sa.String(20), nullable=False, server_default="private"),
    sa.Column("project_id", sa.String(80), nullable=False, server_default=DEFAULT_PROJECT),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("updated_at", sa.Float),
    sa.UniqueConstraint("name", "namespace", "project_id", name="uq_dynamic_action_name"),
    sa.Index("ix_dynamic_actions_code_source", "code_source_id"),
)

CS = code_sources
DA = dynamic_actions


def _visible(table, project_id: str | None):
    """The rows ``project_id`` may read or run: its own and the public ones (None: any)."""
    if project_id is None:
        return sa.true()
    return sa.or_(table.c.project_id == project_id, table.c.scope == "public")


def _own_first(table, project_id: str | None):
    return sa.case((table.c.project_id == project_id, 0), else_=1) if project_id else sa.literal(0)


def _find(conn: sa.Connection, table, identifier: str, namespace: str, project_id: str | None):
    """The row of ``table`` with this id, or this name in ``namespace``, that
    ``project_id`` may see (its own first); None if none."""
    seen = _visible(table, project_id)
    row = conn.execute(sa.select(table).where(table.c.id == identifier, seen)).first()
    if row is None:
        row = conn.execute(sa.select(table).where(table.c.name == identifier,
                                                  table.c.namespace == (namespace or ""), seen)
                           .order_by(_own_first(table, project_id))).first()
    return row


def find_code_source(conn: sa.Connection, identifier: str, namespace: str = "",
                     project_id: str | None = None):
    """The code source with this id, or this name in ``namespace``, that
    ``project_id`` may see (its own first); None if none."""
    return _find(conn, CS, identifier, namespace, project_id)


def find_dynamic_action(conn: sa.Connection, identifier: str, namespace: str = "",
                        project_id: str | None = None):
    """The dynamic action with this id, or this name in ``namespace``, that
    ``project_id`` may see (its own first); None if none."""
    return _find(conn, DA, identifier, namespace, project_id)


def runnable(conn: sa.Connection, name: str, namespace: str | None = None,
             project_id: str | None = None):
    """What an executor needs to run the dynamic action ``name``: class name,
    code source id, name and version. Among those ``project_id`` may run (its
    own, then public ones; None: any), looked up in ``namespace`` (a
    workflow's) first, then in the default one, then in any."""
    return conn.execute(
        sa.select(DA.c.id, DA.c.name, DA.c.class_name, DA.c.code_source_id,
                  CS.c.name.label("module"), CS.c.version)
        .join(CS, CS.c.id == DA.c.code_source_id)
        .where(DA.c.name == name, _visible(DA, project_id))
        .order_by(DA.c.namespace != (namespace or ""), DA.c.namespace != "",
                  _own_first(DA, project_id), DA.c.created_at)).first()


def content(conn: sa.Connection, code_source_id: str):
    return conn.execute(sa.select(CS.c.name, CS.c.content, CS.c.version)
                        .where(CS.c.id == code_source_id)).first()
