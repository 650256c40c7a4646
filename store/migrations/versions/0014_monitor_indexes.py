"""the monitor's indexes: a process's open steps (and the longest waiting at one), and its steps
completed in a period

Revision ID: 0014_monitor_indexes
Revises: 0013_instance_suspension
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0014_monitor_indexes"
down_revision = "0013_instance_suspension"
branch_labels = None
depends_on = None

OPEN = sa.text("status = 'open'")
COMPLETED = sa.text("status = 'completed'")


def upgrade() -> None:
    op.create_index("ix_tasks_open_step", "tasks", ["process_key", "task_key", "created_at"], postgresql_where=OPEN, sqlite_where=OPEN)
    op.create_index(
        "ix_tasks_completed_process", "tasks", ["process_key", "completed_at"], postgresql_where=COMPLETED, sqlite_where=COMPLETED
    )


def downgrade() -> None:
    op.drop_index("ix_tasks_completed_process", table_name="tasks")
    op.drop_index("ix_tasks_open_step", table_name="tasks")
