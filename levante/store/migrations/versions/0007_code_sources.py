"""Code sources, dynamic action definitions and the maintenance status.

Revision ID: 0007
Revises: 0006
"""
import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

# Spelled out rather than taken from levante.store.code_sources and
# levante.store.maintenance, so this revision keeps creating what it created.


def upgrade() -> None:
    op.create_table(
        "code_sources",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("namespace", sa.String(255), nullable=False, server_default=""),
        sa.Column("content", sa.Text, nullable=False),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
        sa.Column("tags", sa.Text, nullable=False, server_default="[]"),
        sa.Column("scope", sa.String(20), nullable=False, server_default="private"),
        sa.Column("project_id", sa.String(80), nullable=False, server_default="<default-project>"),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float),
        sa.UniqueConstraint("name", "namespace", "project_id", name="uq_code_source_name"),
    )
    op.create_table(
        "dynamic_action_definitions",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("namespace", sa.String(255), nullable=False, server_default=""),
        sa.Column("class_name", sa.String(255), nullable=False),
        sa.Column("code_source_id", sa.String(36),
                  sa.ForeignKey("code_sources.id", ondelete="CASCADE"), nullable=False),
        sa.Column("code_source_name", sa.String(255), nullable=False),
        sa.Column("scope", sa.String(20), nullable=False, server_default="private"),
        sa.Column("project_id", sa.String(80), nullable=False, server_default="<default-project>"),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float),
        sa.UniqueConstraint("name", "namespace", "project_id", name="uq_dynamic_action_name"),
    )
    op.create_index("ix_dynamic_actions_code_source", "dynamic_action_definitions", ["code_source_id"])
    op.create_table(
        "maintenance",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("status", sa.String(20), nullable=False, server_default="RUNNING"),
        sa.Column("paused", sa.Text, nullable=False, server_default="[]"),
        sa.Column("updated_at", sa.Float),
    )


def downgrade() -> None:
    op.drop_table("maintenance")
    op.drop_index("ix_dynamic_actions_code_source", table_name="dynamic_action_definitions")
    op.drop_table("dynamic_action_definitions")
    op.drop_table("code_sources")
