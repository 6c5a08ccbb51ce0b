"""Tables of authentication and sharing: API tokens (hashed), the service's
signing secret, and workflow members (Mistral's resource sharing)."""
from __future__ import annotations

import sqlalchemy as sa

from levante.store.schema import metadata

api_tokens = sa.Table(
    "api_tokens", metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),   # sha256 hex
    sa.Column("project_id", sa.String(80), nullable=False),
    sa.Column("is_admin", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("expires_at", sa.Float),                                     # None: never
)

auth_secrets = sa.Table(
    "auth_secrets", metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("value", sa.String(128), nullable=False),
)

resource_members = sa.Table(
    "resource_members", metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("resource_id", sa.String(80), nullable=False),
    sa.Column("resource_type", sa.String(50), nullable=False, server_default="workflow"),
    sa.Column("project_id", sa.String(80), nullable=False),     # the owner's project
    sa.Column("member_id", sa.String(80), nullable=False),      # the project it is shared with
    sa.Column("status", sa.String(20), nullable=False, server_default="pending"),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("updated_at", sa.Float),
    sa.UniqueConstraint("resource_id", "resource_type", "member_id", name="uq_resource_member"),
)
