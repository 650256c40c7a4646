"""failed login attempts, for throttling

Revision ID: 0004_login_attempts
Revises: 0003_job_runner
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0004_login_attempts"
down_revision = "0003_job_runner"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "login_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("ip", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_login_attempts_user_at", "login_attempts", ["username", "at"], unique=False)
    op.create_index("ix_login_attempts_ip_at", "login_attempts", ["ip", "at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_login_attempts_ip_at", table_name="login_attempts")
    op.drop_index("ix_login_attempts_user_at", table_name="login_attempts")
    op.drop_table("login_attempts")
