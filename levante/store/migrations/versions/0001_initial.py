"""Initial schema: definitions, executions, the jobs queue.

Revision ID: 0001
Revises:
"""
from alembic import op

from levante.store import schema

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TABLES = ("workflow_definitions", "workbooks", "action_definitions", "environments",
          "workflow_executions", "task_executions", "action_executions", "jobs")


def upgrade() -> None:
    # The first revision creates the tables as schema.py defined them at this
    # revision; every later change to schema.py must come with its own
    # revision that alters the tables explicitly.
    bind = op.get_bind()
    for name in TABLES:
        schema.metadata.tables[name].create(bind=bind)


def downgrade() -> None:
    for name in reversed(TABLES):
        op.drop_table(name)
