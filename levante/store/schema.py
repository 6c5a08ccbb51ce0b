"""Tables. JSON values are stored as JSON text: the API sends them as strings
anyway, so a read on the hot path never decodes and re-encodes them."""
from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()


def _id() -> sa.Column:
    return sa.Column("id", sa.String(36), primary_key=True)


#: The project of every row until authentication brings projects (Mistral's name for it).
DEFAULT_PROJECT = "<default-project>"

#: Rows created in one transaction get created_at values this far apart (in
#: seconds), in the order they were made, so lists sorted by created_at come
#: back in creation order (a float epoch keeps sub-second precision).
CREATION_TICK = 1e-6


def _stamps() -> list[sa.Column]:
    # Epoch seconds (float): exact ordering, cheap to compare; the API formats them.
    return [sa.Column("created_at", sa.Float, nullable=False),
            sa.Column("updated_at", sa.Float)]


def _owner() -> list[sa.Column]:
    return [sa.Column("project_id", sa.String(80), nullable=False, server_default=DEFAULT_PROJECT),
            sa.Column("scope", sa.String(20), nullable=False, server_default="private"),
            sa.Column("tags", sa.Text, nullable=False, server_default="[]")]


workflow_definitions = sa.Table(
    "workflow_definitions", metadata, _id(),
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("namespace", sa.String(255), nullable=False, server_default=""),
    sa.Column("definition", sa.Text, nullable=False),
    sa.Column("input", sa.Text, nullable=False, server_default=""),
    sa.Column("interface", sa.Text, nullable=False, server_default="{}"),
    sa.Column("checksum", sa.String(32), nullable=False),
    sa.Column("workbook_name", sa.String(255)),
    *_owner(), *_stamps(),
    sa.UniqueConstraint("name", "namespace", "project_id", name="uq_workflow_name"),
)

workbooks = sa.Table(
    "workbooks", metadata, _id(),
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("namespace", sa.String(255), nullable=False, server_default=""),
    sa.Column("definition", sa.Text, nullable=False),
    sa.Column("checksum", sa.String(32), nullable=False),
    *_owner(), *_stamps(),
    sa.UniqueConstraint("name", "namespace", "project_id", name="uq_workbook_name"),
)

action_definitions = sa.Table(
    "action_definitions", metadata, _id(),
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("namespace", sa.String(255), nullable=False, server_default=""),
    sa.Column("definition", sa.Text, nullable=False),
    sa.Column("input", sa.Text, nullable=False, server_default=""),
    sa.Column("description", sa.Text),
    sa.Column("workbook_name", sa.String(255)),
    *_owner(), *_stamps(),
    sa.UniqueConstraint("name", "namespace", "project_id", name="uq_action_name"),
)

environments = sa.Table(
    "environments", metadata, _id(),
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("description", sa.Text),
    sa.Column("variables", sa.Text, nullable=False, server_default="{}"),
    *_owner(), *_stamps(),
    sa.UniqueConstraint("name", "project_id", name="uq_environment_name"),
)

workflow_executions = sa.Table(
    "workflow_executions", metadata, _id(),
    sa.Column("workflow_id", sa.String(36)),
    sa.Column("workflow_name", sa.String(255), nullable=False),
    sa.Column("workflow_namespace", sa.String(255), nullable=False, server_default=""),
    sa.Column("description", sa.Text, nullable=False, server_default=""),
    sa.Column("state", sa.String(20), nullable=False),
    sa.Column("state_info", sa.Text),
    sa.Column("input", sa.Text, nullable=False, server_default="{}"),
    sa.Column("output", sa.Text, nullable=False, server_default="{}"),
    sa.Column("params", sa.Text, nullable=False, server_default="{}"),
    sa.Column("context", sa.Text, nullable=False, server_default="{}"),
    sa.Column("published_global", sa.Text, nullable=False, server_default="{}"),
    sa.Column("definition", sa.Text, nullable=False),
    sa.Column("task_execution_id", sa.String(36)),
    sa.Column("root_execution_id", sa.String(36)),
    sa.Column("version", sa.Integer, nullable=False, server_default="0"),
    # The root execution whose max_executions_per_root this one counts against
    # (None for a root), and how deep it is under it (sub-workflows and
    # executions started by mistral.* actions). Migration 0002_execution_caps.
    sa.Column("budget_root_id", sa.String(36)),
    sa.Column("depth", sa.Integer, nullable=False, server_default="0"),
    *_owner(), *_stamps(),
    sa.Index("ix_wf_ex_created", "created_at"),
    sa.Index("ix_wf_ex_state", "state"),
    sa.Index("ix_wf_ex_budget_root", "budget_root_id"),
)

task_executions = sa.Table(
    "task_executions", metadata, _id(),
    sa.Column("workflow_execution_id", sa.String(36), nullable=False),
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("workflow_name", sa.String(255), nullable=False),
    sa.Column("workflow_id", sa.String(36)),
    sa.Column("workflow_namespace", sa.String(255), nullable=False, server_default=""),
    sa.Column("type", sa.String(10), nullable=False, server_default="ACTION"),
    sa.Column("state", sa.String(20), nullable=False),
    sa.Column("state_info", sa.Text),
    sa.Column("published", sa.Text, nullable=False, server_default="{}"),
    sa.Column("result", sa.Text),
    sa.Column("runtime", sa.Text, nullable=False, server_default="{}"),
    sa.Column("in_tasks", sa.Text, nullable=False, server_default="[]"),
    sa.Column("processed", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("seq", sa.Integer, nullable=False, server_default="0"),
    sa.Column("started_at", sa.Float),
    sa.Column("finished_at", sa.Float),
    *_owner(), *_stamps(),
    sa.Index("ix_task_ex_wf", "workflow_execution_id", "seq"),
    sa.Index("ix_task_ex_created", "created_at"),
)

action_executions = sa.Table(
    "action_executions", metadata, _id(),
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("task_execution_id", sa.String(36)),
    sa.Column("workflow_execution_id", sa.String(36)),
    sa.Column("workflow_name", sa.String(255)),
    sa.Column("workflow_namespace", sa.String(255)),
    sa.Column("task_name", sa.String(255)),
    sa.Column("state", sa.String(20), nullable=False),
    sa.Column("state_info", sa.Text),
    sa.Column("input", sa.Text, nullable=False, server_default="{}"),
    sa.Column("output", sa.Text),
    sa.Column("accepted", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("idx", sa.Integer, nullable=False, server_default="0"),
    sa.Column("params", sa.Text, nullable=False, server_default="{}"),
    sa.Column("description", sa.Text),
    sa.Column("safe_rerun", sa.Boolean, nullable=False, server_default=sa.false()),
    *_owner(), *_stamps(),
    sa.Index("ix_action_ex_task", "task_execution_id", "idx"),
    sa.Index("ix_action_ex_created", "created_at"),
)

jobs = sa.Table(
    "jobs", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("kind", sa.String(20), nullable=False),       # engine | action | timer
    sa.Column("key", sa.String(36), nullable=False),        # execution id / action execution id
    sa.Column("payload", sa.Text, nullable=False, server_default="{}"),
    sa.Column("due_at", sa.Float, nullable=False),
    sa.Column("lease_until", sa.Float),
    sa.Column("owner", sa.String(64)),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Index("ix_jobs_kind_due", "kind", "due_at"),
    # Never reuse a deleted job's id: a lease renewal by id must not hit a newer job.
    sqlite_autoincrement=True,
)
