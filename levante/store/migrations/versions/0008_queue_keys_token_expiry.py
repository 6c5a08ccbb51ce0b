"""Queues are per project: the key of a queue is (project_id, name), and its
messages and claims carry the project too. API tokens may expire:
api_tokens.expires_at (null: never).

Revision ID: 0008
Revises: 0007
"""
import warnings

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

DEFAULT_PROJECT = "<default-project>"


def _project_column() -> sa.Column:
    return sa.Column("project_id", sa.String(80), nullable=False, server_default=DEFAULT_PROJECT)


def _set_queue_projects(table: str) -> None:
    """Existing messages and claims belong to their queue's project (names were unique)."""
    op.execute(f"UPDATE {table} SET project_id = (SELECT queues.project_id FROM queues "
               f"WHERE queues.name = {table}.queue_name) "
               f"WHERE EXISTS (SELECT 1 FROM queues WHERE queues.name = {table}.queue_name)")


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    op.add_column("api_tokens", sa.Column("expires_at", sa.Float))
    op.add_column("queue_messages", _project_column())
    op.add_column("queue_claims", _project_column())
    _set_queue_projects("queue_messages")
    _set_queue_projects("queue_claims")

    op.drop_index("ix_queue_messages_expiry", table_name="queue_messages")
    op.drop_index("ix_queue_claims_queue", table_name="queue_claims")
    with op.batch_alter_table("queue_messages") as batch:
        batch.drop_constraint("uq_queue_message_seq", type_="unique")
        batch.create_unique_constraint("uq_queue_message_seq", ["project_id", "queue_name", "seq"])
    op.create_index("ix_queue_messages_expiry", "queue_messages", ["project_id", "queue_name", "expires_at"])
    op.create_index("ix_queue_claims_queue", "queue_claims", ["project_id", "queue_name", "expires_at"])

    if sqlite:
        # SQLite cannot change a primary key in place: the batch copies the table.
        # The copy's columns still say `name` alone was the key; SQLAlchemy warns
        # that the new key replaces that, which is what is meant.
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*_alembic_tmp_queues.*primary_key",
                                    category=sa.exc.SAWarning)
            with op.batch_alter_table("queues", recreate="always") as batch:
                batch.create_primary_key("pk_queues", ["project_id", "name"])
    else:
        op.drop_constraint("queues_pkey", "queues", type_="primary")
        op.create_primary_key("queues_pkey", "queues", ["project_id", "name"])


def downgrade() -> None:
    # Only possible while no two projects have a queue of the same name.
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        with op.batch_alter_table("queues", recreate="always") as batch:
            batch.create_primary_key("pk_queues", ["name"])
    else:
        op.drop_constraint("queues_pkey", "queues", type_="primary")
        op.create_primary_key("queues_pkey", "queues", ["name"])
    op.drop_index("ix_queue_claims_queue", table_name="queue_claims")
    op.drop_index("ix_queue_messages_expiry", table_name="queue_messages")
    with op.batch_alter_table("queue_messages") as batch:
        batch.drop_constraint("uq_queue_message_seq", type_="unique")
        batch.create_unique_constraint("uq_queue_message_seq", ["queue_name", "seq"])
    op.create_index("ix_queue_messages_expiry", "queue_messages", ["queue_name", "expires_at"])
    op.create_index("ix_queue_claims_queue", "queue_claims", ["queue_name", "expires_at"])
    with op.batch_alter_table("queue_claims") as batch:
        batch.drop_column("project_id")
    with op.batch_alter_table("queue_messages") as batch:
        batch.drop_column("project_id")
    with op.batch_alter_table("api_tokens") as batch:
        batch.drop_column("expires_at")
