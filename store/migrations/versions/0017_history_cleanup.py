"""history cleanup: how long each version keeps finished instances (history_ttl_days, from the
BPMN's camunda:historyTimeToLive), and the first history_cleanup job

Revision ID: 0017_history_cleanup
Revises: 0016_instance_fields
Create Date: 2026-12-07
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from engine.bpmn import validation
from engine.bpmn.parser import history_ttl_days

revision = "0017_history_cleanup"
down_revision = "0016_instance_fields"
branch_labels = None
depends_on = None


def _ttl(key: str, xml: str) -> int | None:
    """The deployed process's retention, read as a deploy reads it (none when it says nothing valid)."""
    try:
        doc = validation.parse_document(f"{key}.bpmn", xml.encode())
    except Exception:  # noqa: BLE001 - a stored definition was valid when deployed; keep it for ever otherwise
        return None
    for process in validation.executable_processes(doc.root):
        if process.get("id") == key:
            try:
                return history_ttl_days(process)
            except ValueError:
                return None
    return None


def upgrade() -> None:
    op.add_column("process_definitions", sa.Column("history_ttl_days", sa.Integer(), nullable=True))
    # The cleanup's question: a version's instances that ended before a day.
    op.create_index("ix_instances_definition_ended", "process_instances", ["definition_id", "ended_at"])
    bind = op.get_bind()
    for definition_id, key, xml in bind.execute(sa.text("SELECT id, key, bpmn_xml FROM process_definitions")).all():
        days = _ttl(key, xml)
        if days is not None:
            bind.execute(sa.text("UPDATE process_definitions SET history_ttl_days = :d WHERE id = :i"), {"d": days, "i": definition_id})
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
        jobs,
        [{"kind": "history_cleanup", "due_at": now, "run_at": now, "status": "pending", "payload": {}, "retries": 3, "attempts": 0, "created_at": now}],
    )


def downgrade() -> None:
    op.execute("DELETE FROM jobs WHERE kind = 'history_cleanup'")
    op.drop_index("ix_instances_definition_ended", table_name="process_instances")
    op.drop_column("process_definitions", "history_ttl_days")
