"""suspended instances: their open tasks stay in the worklists, marked (tasks.suspended)

Revision ID: 0013_instance_suspension
Revises: 0012_activity_follow_ups
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0013_instance_suspension"
down_revision = "0012_activity_follow_ups"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # In place (not a batch copy): the worklist's triggers on tasks stay (migration 0006).
    op.add_column("tasks", sa.Column("suspended", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    op.drop_column("tasks", "suspended")  # SQLite 3.35+ drops a column in place, triggers kept
