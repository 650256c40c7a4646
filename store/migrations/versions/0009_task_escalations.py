"""task escalations: whom an open task was escalated to, and why

Revision ID: 0009_task_escalations
Revises: 0008_sessions
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0009_task_escalations"
down_revision = "0008_sessions"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "task_escalations",
        sa.Column("task_id", sa.String(length=36), sa.ForeignKey("tasks.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("username", sa.String(length=64), primary_key=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("event", sa.String(length=128), nullable=True),
    )
    op.create_index("ix_task_escalations_user_task", "task_escalations", ["username", "task_id"])


def downgrade() -> None:
    op.drop_index("ix_task_escalations_user_task", table_name="task_escalations")
    op.drop_table("task_escalations")
