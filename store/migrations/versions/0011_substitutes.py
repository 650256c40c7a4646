"""out of office: substitutes for a date range, and whose work a substitute's action was; the daily
check of untouched leads and opportunities (flagged_at, the first daily_sweep job)

Revision ID: 0011_substitutes
Revises: 0010_customer_file
Create Date: 2026-12-06
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0011_substitutes"
down_revision = "0010_customer_file"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "substitutes",
        sa.Column("username", sa.String(length=64), primary_key=True),
        sa.Column("substitute", sa.String(length=64), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("set_by", sa.String(length=64), nullable=False),
        sa.Column("set_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_substitutes_substitute_ends", "substitutes", ["substitute", "ends_on"])
    with op.batch_alter_table("history_events") as batch:
        batch.add_column(sa.Column("on_behalf_of", sa.String(length=64), nullable=True))
    for table in ("leads", "opportunities"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("flagged_at", sa.DateTime(timezone=True), nullable=True))
    # The daily check reschedules itself (engine.services.sweeps); this is its first run: now.
    jobs = sa.table(
        "jobs",
        sa.column("kind", sa.String),
        sa.column("due_at", sa.DateTime(timezone=True)),
        sa.column("run_at", sa.DateTime(timezone=True)),
        sa.column("status", sa.String),
        sa.column("payload", sa.JSON),
        sa.column("retries", sa.Integer),
        sa.column("attempts", sa.Integer),
        sa.column("created_at", sa.DateTime(timezone=True)),
    )
    now = datetime.now(UTC)
    op.bulk_insert(
        jobs, [{"kind": "daily_sweep", "due_at": now, "run_at": now, "status": "pending", "payload": {}, "retries": 3, "attempts": 0, "created_at": now}]
    )


def downgrade() -> None:
    op.execute("DELETE FROM jobs WHERE kind = 'daily_sweep'")
    for table in ("leads", "opportunities"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("flagged_at")
    with op.batch_alter_table("history_events") as batch:
        batch.drop_column("on_behalf_of")
    op.drop_index("ix_substitutes_substitute_ends", table_name="substitutes")
    op.drop_table("substitutes")
