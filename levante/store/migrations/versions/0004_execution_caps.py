"""Execution caps: which root execution an execution counts against, and its depth.

Revision ID: 0004
Revises: 0003
"""
import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("workflow_executions") as batch:
        batch.add_column(sa.Column("budget_root_id", sa.String(36)))
        batch.add_column(sa.Column("depth", sa.Integer, nullable=False, server_default="0"))
    op.create_index("ix_wf_ex_budget_root", "workflow_executions", ["budget_root_id"])


def downgrade() -> None:
    op.drop_index("ix_wf_ex_budget_root", "workflow_executions")
    with op.batch_alter_table("workflow_executions") as batch:
        batch.drop_column("depth")
        batch.drop_column("budget_root_id")
