"""Authentication and sharing: api_tokens, auth_secrets, resource_members.

Revision ID: 0005
Revises: 0004
"""
import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

# Spelled out rather than taken from levante.store.auth, so that this revision
# keeps creating what it created after the models change.


def upgrade() -> None:
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("project_id", sa.String(80), nullable=False),
        sa.Column("is_admin", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("created_at", sa.Float, nullable=False),
    )
    op.create_table(
        "auth_secrets",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("value", sa.String(128), nullable=False),
    )
    op.create_table(
        "resource_members",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("resource_id", sa.String(80), nullable=False),
        sa.Column("resource_type", sa.String(50), nullable=False, server_default="workflow"),
        sa.Column("project_id", sa.String(80), nullable=False),
        sa.Column("member_id", sa.String(80), nullable=False),
        sa.Column("status", sa.String(20), nullable=False, server_default="pending"),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float),
        sa.UniqueConstraint("resource_id", "resource_type", "member_id", name="uq_resource_member"),
    )
    # Execution lists are filtered by project on every request.
    op.create_index("ix_wf_ex_project", "workflow_executions", ["project_id", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_wf_ex_project", "workflow_executions")
    op.drop_table("resource_members")
    op.drop_table("auth_secrets")
    op.drop_table("api_tokens")
