"""four-eyes: the people a task may never be performed by

Revision ID: 0007_four_eyes
Revises: 0006_worklist_indexes
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0007_four_eyes"
down_revision = "0006_worklist_indexes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ALTER TABLE on both databases, up and down: a batch (copy and move) on SQLite would
    # break the worklist triggers of 0006.
    op.add_column("tasks", sa.Column("excluded_users", sa.String(length=500), nullable=False, server_default=""))


def downgrade() -> None:
    op.drop_column("tasks", "excluded_users")  # SQLite 3.35+ drops a column in place, triggers kept
