"""budgets: each department's monthly expense budget

Revision ID: 0022_budgets
Revises: 0021_notification_channels
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0022_budgets"
down_revision = "0021_notification_channels"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "budgets",
        sa.Column("department_code", sa.String(length=64), primary_key=True),
        sa.Column("month", sa.String(length=7), primary_key=True),
        sa.Column("amount", sa.Numeric(18, 2), nullable=False),
        sa.Column("updated_by", sa.String(length=64), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("budgets")
