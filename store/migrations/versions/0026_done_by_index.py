"""tasks done by someone, newest first: the worklist's "done by me" tab pages and counts (up to
its cap) from one partial index range, read backwards, instead of every task the person ever
completed

Revision ID: 0026_done_by_index
Revises: 0025_calendar_years
Create Date: 2026-12-08
"""

import sqlalchemy as sa
from alembic import op

revision = "0026_done_by_index"
down_revision = "0025_calendar_years"
branch_labels = None
depends_on = None

COMPLETED = sa.text("status = 'completed'")


def upgrade() -> None:
    op.create_index(
        "ix_tasks_done_by_order",
        "tasks",
        ["completed_by", "completed_at", "id"],
        postgresql_where=COMPLETED,
        sqlite_where=COMPLETED,
    )


def downgrade() -> None:
    op.drop_index("ix_tasks_done_by_order", table_name="tasks")
