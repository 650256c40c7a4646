"""the monitor's daily roll-ups of completed steps (step_rollups), filled from the completed tasks
so far

Revision ID: 0015_step_rollups
Revises: 0014_monitor_indexes
Create Date: 2026-12-07
"""

import math
from collections import Counter
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from engine import config

revision = "0015_step_rollups"
down_revision = "0014_monitor_indexes"
branch_labels = None
depends_on = None

BATCH = 10_000


def _aware(value: datetime | str) -> datetime:
    if isinstance(value, str):  # SQLite hands back text
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def upgrade() -> None:
    table = op.create_table(
        "step_rollups",
        sa.Column("process_key", sa.String(length=128), primary_key=True),
        sa.Column("task_key", sa.String(length=128), primary_key=True),
        sa.Column("day", sa.Date(), primary_key=True),
        sa.Column("completed_by", sa.String(length=64), primary_key=True),
        sa.Column("bucket", sa.Integer(), primary_key=True),
        sa.Column("completed", sa.Integer(), nullable=False),
        sa.Column("late", sa.Integer(), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=False),
    )
    op.create_index("ix_step_rollups_process_day", "step_rollups", ["process_key", "day"])
    # The steps completed before: summed here once (the same rule as engine.services.step_rollups).
    zone = config.current().timezone
    sums: Counter[tuple[object, ...]] = Counter()
    late: Counter[tuple[object, ...]] = Counter()
    seconds: Counter[tuple[object, ...]] = Counter()
    rows = op.get_bind().execute(
        sa.text(
            "SELECT process_key, task_key, created_at, due_at, completed_at, completed_by FROM tasks"
            " WHERE status = 'completed' AND completed_at IS NOT NULL AND completed_by IS NOT NULL"
        )
    )
    for process_key, task_key, created_at, due_at, completed_at, completed_by in rows:
        done, started = _aware(completed_at), _aware(created_at)
        took = max(0.0, (done - started).total_seconds())
        key = (process_key, task_key, done.astimezone(zone).date(), completed_by, 0 if took < 1 else math.floor(4 * math.log2(took)))
        sums[key] += 1
        late[key] += 1 if due_at is not None and done > _aware(due_at) else 0
        seconds[key] += took
    names = ("process_key", "task_key", "day", "completed_by", "bucket")
    batch = [{**dict(zip(names, key, strict=True)), "completed": n, "late": late[key], "seconds": seconds[key]} for key, n in sums.items()]
    for start in range(0, len(batch), BATCH):
        op.bulk_insert(table, batch[start : start + BATCH])


def downgrade() -> None:
    op.drop_index("ix_step_rollups_process_day", table_name="step_rollups")
    op.drop_table("step_rollups")
