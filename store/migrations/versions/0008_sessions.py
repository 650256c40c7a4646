"""sessions: browser sessions and API tokens as server-side records that can be ended

Revision ID: 0008_sessions
Revises: 0007_four_eyes
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0008_sessions"
down_revision = "0007_four_eyes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sessions",
        sa.Column("token_hash", sa.String(length=64), primary_key=True),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False, server_default=""),
        sa.Column("user_agent", sa.String(length=200), nullable=False, server_default=""),
    )
    op.create_index("ix_sessions_user_id", "sessions", ["user_id"])
    # Tokens issued before this version carry on until they expire (12 hours at most).
    op.execute(
        "INSERT INTO sessions (token_hash, user_id, kind, created_at, expires_at, address, user_agent) "
        "SELECT token_hash, user_id, 'api', created_at, expires_at, '', '' FROM api_tokens"
    )
    op.drop_index("ix_api_tokens_user_id", table_name="api_tokens")
    op.drop_table("api_tokens")


def downgrade() -> None:
    op.create_table(
        "api_tokens",
        sa.Column("token_hash", sa.String(length=64), primary_key=True),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_api_tokens_user_id", "api_tokens", ["user_id"])
    op.execute("INSERT INTO api_tokens SELECT token_hash, user_id, created_at, expires_at FROM sessions WHERE kind = 'api'")
    op.drop_index("ix_sessions_user_id", table_name="sessions")
    op.drop_table("sessions")
