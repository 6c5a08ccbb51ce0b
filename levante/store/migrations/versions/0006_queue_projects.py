"""Queues belong to a project: queues.project_id.

Revision ID: 0006
Revises: 0005
"""
import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("queues") as batch:
        batch.add_column(sa.Column("project_id", sa.String(80), nullable=False,
                                   server_default="<default-project>"))


def downgrade() -> None:
    with op.batch_alter_table("queues") as batch:
        batch.drop_column("project_id")
