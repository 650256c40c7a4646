"""calendar_years: holidays and make-up working days per year as admins enter them (over the
packaged chinesecalendar data: a year it lacks, or a correction)

Revision ID: 0025_calendar_years
Revises: 0024_attachment_files
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0025_calendar_years"
down_revision = "0024_attachment_files"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "calendar_years",
        sa.Column("year", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("holidays", sa.JSON(), nullable=False),
        sa.Column("workdays", sa.JSON(), nullable=False),
        sa.Column("updated_by", sa.String(length=64), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("calendar_years")
