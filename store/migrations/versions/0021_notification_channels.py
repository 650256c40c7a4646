"""notification_channels: group robots and webhooks that notifications also go to

Revision ID: 0021_notification_channels
Revises: 0020_attachments
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0021_notification_channels"
down_revision = "0020_attachments"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "notification_channels",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("url", sa.String(length=1000), nullable=False),
        sa.Column("secret", sa.String(length=200), nullable=True),
        sa.Column("kinds", sa.String(length=500), nullable=False),
        sa.Column("roles", sa.String(length=500), nullable=False),
        sa.Column("locale", sa.String(length=16), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("notification_channels")
