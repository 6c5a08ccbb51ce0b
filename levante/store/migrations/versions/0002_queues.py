"""Built-in message queues: queues, queue_messages, queue_claims.

Revision ID: 0002_queues
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op

revision = "0002_queues"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The tables as levante/store/queues.py defines them at this revision,
    # spelled out so that later changes to that module need their own revision.
    op.create_table(
        "queues",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("meta", sa.Text, nullable=False, server_default="{}"),
        sa.Column("counter", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float),
    )
    op.create_table(
        "queue_messages",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("queue_name", sa.String(64), nullable=False),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("ttl", sa.Integer, nullable=False),
        sa.Column("client_id", sa.String(64)),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("expires_at", sa.Float, nullable=False),
        sa.Column("claim_id", sa.String(36)),
        sa.Column("claim_expires_at", sa.Float),
        sa.Column("claim_count", sa.Integer, nullable=False, server_default="0"),
        sa.UniqueConstraint("queue_name", "seq", name="uq_queue_message_seq"),
    )
    op.create_index("ix_queue_messages_expiry", "queue_messages", ["queue_name", "expires_at"])
    op.create_index("ix_queue_messages_claim", "queue_messages", ["claim_id"])
    op.create_table(
        "queue_claims",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("queue_name", sa.String(64), nullable=False),
        sa.Column("ttl", sa.Integer, nullable=False),
        sa.Column("grace", sa.Integer, nullable=False, server_default="0"),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("expires_at", sa.Float, nullable=False),
    )
    op.create_index("ix_queue_claims_queue", "queue_claims", ["queue_name", "expires_at"])


def downgrade() -> None:
    op.drop_index("ix_queue_claims_queue", table_name="queue_claims")
    op.drop_table("queue_claims")
    op.drop_index("ix_queue_messages_claim", table_name="queue_messages")
    op.drop_index("ix_queue_messages_expiry", table_name="queue_messages")
    op.drop_table("queue_messages")
    op.drop_table("queues")
