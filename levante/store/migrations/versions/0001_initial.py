"""Initial schema: definitions, executions, the jobs queue.

Revision ID: 0001
Revises:

Spelled out (not created from levante/store/schema.py) so that an edit of
schema.py never silently changes what a fresh database gets: every change
comes with its own revision, and tests/store/test_migrations.py checks that
the migrated schema equals the tables the code declares.
"""
import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TABLES = ("workflow_definitions", "workbooks", "action_definitions", "environments", "workflow_executions", "task_executions", "action_executions", "jobs")


def upgrade() -> None:
    op.create_table(
        "workflow_definitions",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("namespace", sa.String(255), nullable=False, server_default=""),
        sa.Column("definition", sa.Text, nullable=False),
        sa.Column("input", sa.Text, nullable=False, server_default=""),
        sa.Column("interface", sa.Text, nullable=False, server_default="{}"),
        sa.Column("checksum", sa.String(32), nullable=False),
        sa.Column("workbook_name", sa.String(255)),
        sa.Column("project_id", sa.String(80), nullable=False, server_default="<default-project>"),
        sa.Column("scope", sa.String(20), nullable=False, server_default="private"),
        sa.Column("tags", sa.Text, nullable=False, server_default="[]"),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float),
        sa.UniqueConstraint("name", "namespace", "project_id", name="uq_workflow_name"),
    )
    op.create_table(
        "workbooks",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("namespace", sa.String(255), nullable=False, server_default=""),
        sa.Column("definition", sa.Text, nullable=False),
        sa.Column("checksum", sa.String(32), nullable=False),
        sa.Column("project_id", sa.String(80), nullable=False, server_default="<default-project>"),
        sa.Column("scope", sa.String(20), nullable=False, server_default="private"),
        sa.Column("tags", sa.Text, nullable=False, server_default="[]"),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float),
        sa.UniqueConstraint("name", "namespace", "project_id", name="uq_workbook_name"),
    )
    op.create_table(
        "action_definitions",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("namespace", sa.String(255), nullable=False, server_default=""),
        sa.Column("definition", sa.Text, nullable=False),
        sa.Column("input", sa.Text, nullable=False, server_default=""),
        sa.Column("description", sa.Text),
        sa.Column("workbook_name", sa.String(255)),
        sa.Column("project_id", sa.String(80), nullable=False, server_default="<default-project>"),
        sa.Column("scope", sa.String(20), nullable=False, server_default="private"),
        sa.Column("tags", sa.Text, nullable=False, server_default="[]"),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float),
        sa.UniqueConstraint("name", "namespace", "project_id", name="uq_action_name"),
    )
    op.create_table(
        "environments",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("description", sa.Text),
        sa.Column("variables", sa.Text, nullable=False, server_default="{}"),
        sa.Column("project_id", sa.String(80), nullable=False, server_default="<default-project>"),
        sa.Column("scope", sa.String(20), nullable=False, server_default="private"),
        sa.Column("tags", sa.Text, nullable=False, server_default="[]"),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float),
        sa.UniqueConstraint("name", "project_id", name="uq_environment_name"),
    )
    op.create_table(
        "workflow_executions",
        sa.Column("id", sa.String(36), primary_key=True),
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
        sa.Column("project_id", sa.String(80), nullable=False, server_default="<default-project>"),
        sa.Column("scope", sa.String(20), nullable=False, server_default="private"),
        sa.Column("tags", sa.Text, nullable=False, server_default="[]"),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float),
    )
    op.create_index("ix_wf_ex_state", "workflow_executions", ["state"])
    op.create_index("ix_wf_ex_created", "workflow_executions", ["created_at"])
    op.create_table(
        "task_executions",
        sa.Column("id", sa.String(36), primary_key=True),
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
        sa.Column("project_id", sa.String(80), nullable=False, server_default="<default-project>"),
        sa.Column("scope", sa.String(20), nullable=False, server_default="private"),
        sa.Column("tags", sa.Text, nullable=False, server_default="[]"),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float),
    )
    op.create_index("ix_task_ex_created", "task_executions", ["created_at"])
    op.create_index("ix_task_ex_wf", "task_executions", ["workflow_execution_id", "seq"])
    op.create_table(
        "action_executions",
        sa.Column("id", sa.String(36), primary_key=True),
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
        sa.Column("project_id", sa.String(80), nullable=False, server_default="<default-project>"),
        sa.Column("scope", sa.String(20), nullable=False, server_default="private"),
        sa.Column("tags", sa.Text, nullable=False, server_default="[]"),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float),
    )
    op.create_index("ix_action_ex_task", "action_executions", ["task_execution_id", "idx"])
    op.create_index("ix_action_ex_created", "action_executions", ["created_at"])
    op.create_table(
        "jobs",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("key", sa.String(36), nullable=False),
        sa.Column("payload", sa.Text, nullable=False, server_default="{}"),
        sa.Column("due_at", sa.Float, nullable=False),
        sa.Column("lease_until", sa.Float),
        sa.Column("owner", sa.String(64)),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("created_at", sa.Float, nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_jobs_kind_due", "jobs", ["kind", "due_at"])


def downgrade() -> None:
    for name in reversed(TABLES):
        op.drop_table(name)
