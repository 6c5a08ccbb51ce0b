"""Tables of the built-in message queues (Zaqar's model: queues, messages, claims).

A message is visible to readers while it has not expired (``expires_at``) and,
for consumers, while nobody holds a live claim on it (``claim_expires_at``).
``seq`` comes from the queue's own counter, taken under the queue row's lock,
so its order is the order in which producers committed: FIFO even when
several producers write at once on PostgreSQL. A queue is keyed by
(project_id, name); its messages and claims carry both.
"""
from __future__ import annotations

import sqlalchemy as sa

from levante.store.schema import metadata

queues = sa.Table(
    "queues", metadata,
    # A queue is its project's (as in Zaqar): two projects may each have a queue "approvals".
    sa.Column("project_id", sa.String(80), primary_key=True, server_default="<default-project>"),
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("meta", sa.Text, nullable=False, server_default="{}"),   # JSON object
    sa.Column("counter", sa.BigInteger, nullable=False, server_default="0"),  # last seq given out
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("updated_at", sa.Float),
)

queue_messages = sa.Table(
    "queue_messages", metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("project_id", sa.String(80), nullable=False, server_default="<default-project>"),
    sa.Column("queue_name", sa.String(64), nullable=False),
    sa.Column("seq", sa.BigInteger, nullable=False),
    sa.Column("body", sa.Text, nullable=False),                         # JSON
    sa.Column("ttl", sa.Integer, nullable=False),
    sa.Column("client_id", sa.String(64)),                              # the producer (Zaqar's echo)
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("expires_at", sa.Float, nullable=False),
    sa.Column("claim_id", sa.String(36)),
    sa.Column("claim_expires_at", sa.Float),
    sa.Column("claim_count", sa.Integer, nullable=False, server_default="0"),
    sa.UniqueConstraint("project_id", "queue_name", "seq", name="uq_queue_message_seq"),
    sa.Index("ix_queue_messages_expiry", "project_id", "queue_name", "expires_at"),
    sa.Index("ix_queue_messages_claim", "claim_id"),
)

queue_claims = sa.Table(
    "queue_claims", metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("project_id", sa.String(80), nullable=False, server_default="<default-project>"),
    sa.Column("queue_name", sa.String(64), nullable=False),
    sa.Column("ttl", sa.Integer, nullable=False),
    sa.Column("grace", sa.Integer, nullable=False, server_default="0"),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("expires_at", sa.Float, nullable=False),
    sa.Index("ix_queue_claims_queue", "project_id", "queue_name", "expires_at"),
)

TABLES = ("queues", "queue_messages", "queue_claims")
