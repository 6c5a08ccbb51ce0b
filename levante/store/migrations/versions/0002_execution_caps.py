"""Execution caps: which root execution an execution counts against, and its depth.

Revision ID: 0002_execution_caps
Revises: 0001

0001 creates the tables from the live schema, so on a fresh database the
columns may be there already: add only what is missing.
"""
import sqlalchemy as sa
from alembic import op

revision = "0002_execution_caps"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    inspector = sa.inspect(op.get_bind())
    columns = {c["name"] for c in inspector.get_columns("workflow_executions")}
    indexes = {i["name"] for i in inspector.get_indexes("workflow_executions")}
    with op.batch_alter_table("workflow_executions") as batch:
        if "budget_root_id" not in columns:
            batch.add_column(sa.Column("budget_root_id", sa.String(36)))
        if "depth" not in columns:
            batch.add_column(sa.Column("depth", sa.Integer, nullable=False, server_default="0"))
    if "ix_wf_ex_budget_root" not in indexes:
        op.create_index("ix_wf_ex_budget_root", "workflow_executions", ["budget_root_id"])


def downgrade() -> None:
    op.drop_index("ix_wf_ex_budget_root", "workflow_executions")
    with op.batch_alter_table("workflow_executions") as batch:
        batch.drop_column("depth")
        batch.drop_column("budget_root_id")
