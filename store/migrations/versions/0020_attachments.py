"""attachments: files on an instance, their bytes in the database

Revision ID: 0020_attachments
Revises: 0019_candidate_instance
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0020_attachments"
down_revision = "0019_candidate_instance"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "attachments",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("instance_id", sa.Integer(), sa.ForeignKey("process_instances.id", ondelete="CASCADE"), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("content_type", sa.String(length=128), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("uploaded_by", sa.String(length=64), nullable=False),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
    )
    op.create_index("ix_attachments_instance_id", "attachments", ["instance_id"])


def downgrade() -> None:
    op.drop_index("ix_attachments_instance_id", "attachments")
    op.drop_table("attachments")
