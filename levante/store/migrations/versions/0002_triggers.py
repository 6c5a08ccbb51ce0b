"""Cron triggers and event triggers.

Revision ID: 0002_triggers
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op

revision = "0002_triggers"
down_revision = "0001"
branch_labels = None
depends_on = None

# The tables are spelled out here rather than taken from levante.store.triggers,
# so this revision keeps creating what it created even after the models change.


def upgrade() -> None:
    op.create_table(
        "cron_triggers",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("pattern", sa.String(100)),
        sa.Column("workflow_name", sa.String(255), nullable=False),
        sa.Column("workflow_id", sa.String(36), nullable=False),
        sa.Column("workflow_input", sa.Text, nullable=False, server_default="{}"),
        sa.Column("workflow_params", sa.Text, nullable=False, server_default="{}"),
        sa.Column("first_execution_time", sa.Float),
        sa.Column("next_execution_time", sa.Float, nullable=False),
        sa.Column("remaining_executions", sa.Integer),
        sa.Column("scope", sa.String(20), nullable=False, server_default="private"),
        sa.Column("project_id", sa.String(80), nullable=False, server_default="<default-project>"),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float),
        sa.UniqueConstraint("name", "project_id", name="uq_cron_trigger_name"),
    )
    op.create_index("ix_cron_triggers_next", "cron_triggers", ["next_execution_time"])
    op.create_table(
        "event_triggers",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False, server_default=""),
        sa.Column("workflow_id", sa.String(36), nullable=False),
        sa.Column("workflow_input", sa.Text, nullable=False, server_default="{}"),
        sa.Column("workflow_params", sa.Text, nullable=False, server_default="{}"),
        sa.Column("exchange", sa.String(80), nullable=False),
        sa.Column("topic", sa.String(255), nullable=False),
        sa.Column("event", sa.String(80), nullable=False),
        sa.Column("scope", sa.String(20), nullable=False, server_default="private"),
        sa.Column("project_id", sa.String(80), nullable=False, server_default="<default-project>"),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float),
        sa.UniqueConstraint("exchange", "topic", "event", "workflow_id", "project_id",
                            name="uq_event_trigger"),
    )
    op.create_index("ix_event_triggers_route", "event_triggers", ["exchange", "topic", "event"])


def downgrade() -> None:
    op.drop_index("ix_event_triggers_route", table_name="event_triggers")
    op.drop_table("event_triggers")
    op.drop_index("ix_cron_triggers_next", table_name="cron_triggers")
    op.drop_table("cron_triggers")
