"""designer drafts

Revision ID: 0005_definition_drafts
Revises: 0004_login_attempts
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_definition_drafts"
down_revision = "0004_login_attempts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "definition_drafts",
        sa.Column("key", sa.String(length=128), nullable=False),
        sa.Column("xml", sa.Text(), nullable=False),
        sa.Column("updated_by", sa.String(length=64), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )


def downgrade() -> None:
    op.drop_table("definition_drafts")
