"""Join the execution-caps branch to the main line: one head again.

Revision ID: 0004
Revises: 0003, 0002_execution_caps
"""
revision = "0004"
down_revision = ("0003", "0002_execution_caps")
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
