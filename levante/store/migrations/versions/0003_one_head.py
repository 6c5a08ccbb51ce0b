"""Join the queues and triggers branches: the schema has one head from here on.

Revision ID: 0003
Revises: 0002_queues, 0002_triggers

New revisions revise the single head; tests/store/test_migrations.py fails
when there are two.
"""
revision = "0003"
down_revision = ("0002_queues", "0002_triggers")
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
