"""Caps on how many executions one root execution may cause, and how deep.

Sub-workflows and executions started by ``mistral.executions_create`` from a
workflow count against the root execution they descend from (column
``budget_root_id``) and sit one level deeper than the execution that started
them (column ``depth``). Past ``max_executions_per_root`` or
``max_nesting_depth`` (settings) the new execution is refused with a message
naming the setting, and the task that asked for it fails.
"""
from __future__ import annotations

import sqlalchemy as sa

from levante.store.schema import workflow_executions as WE


def lineage(conn: sa.Connection, parent_id: str) -> tuple[str, int] | None:
    """(the root a child of ``parent_id`` counts against, the child's depth)."""
    row = conn.execute(sa.select(WE.c.id, WE.c.budget_root_id, WE.c.root_execution_id, WE.c.depth)
                       .where(WE.c.id == parent_id)).first()
    if row is None:
        return None
    return row.budget_root_id or row.root_execution_id or row.id, (row.depth or 0) + 1


def refusal(conn: sa.Connection, root_id: str, depth: int, max_per_root: int,
            max_depth: int) -> str | None:
    """Why one more execution under ``root_id`` at ``depth`` is refused, or None."""
    if max_depth and depth > max_depth:
        return (f"Execution nesting too deep: depth {depth} under root execution {root_id} is "
                f"more than the limit of {max_depth} (setting max_nesting_depth)")
    if max_per_root:
        if conn.dialect.name != "sqlite":
            # Creates under one root take turns (SQLite has one writer anyway),
            # so that concurrent ones cannot all pass the count below.
            conn.execute(sa.select(WE.c.id).where(WE.c.id == root_id).with_for_update())
        count = conn.execute(sa.select(sa.func.count()).select_from(WE)
                             .where(WE.c.budget_root_id == root_id)).scalar()
        if count >= max_per_root:
            return (f"Too many executions under root execution {root_id}: it already has "
                    f"{count}, the limit is {max_per_root} (setting max_executions_per_root)")
    return None
