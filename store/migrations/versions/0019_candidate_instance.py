"""task_candidates.instance_id: the instance of each offered open task, beside its candidate key

An instance list of a supervisor reads, per person of their team and per key their open steps are
offered by, the newest ids of one index (engine.authorization.visible_instance_sets); the offered
half was a join of task_candidates with open_steps (20k candidate rows hashed against 100k open
steps: 30 ms a list). The insert trigger that already copies the task's claim state and order
columns now copies its instance too, so every writer (the engine, a bulk load) fills it.

Revision ID: 0019_candidate_instance
Revises: 0018_monitor_counters
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0019_candidate_instance"
down_revision = "0018_monitor_counters"
branch_labels = None
depends_on = None

# The insert triggers of migration 0006, written for the copied columns they fill: the task's
# claim state and order columns, and from this revision its instance.
PG_FILL = """
CREATE OR REPLACE FUNCTION crmflow_task_candidates_fill() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    SELECT t.assignee IS NOT NULL, {tasks}
    INTO NEW.claimed, {new}
    FROM tasks t WHERE t.id = NEW.task_id;
    IF NOT FOUND THEN
        NEW.claimed := false;  -- the foreign key rejects the row
    END IF;
    RETURN NEW;
END $$
"""
SQLITE_FILL = """
CREATE TRIGGER task_candidates_fill AFTER INSERT ON task_candidates
BEGIN
    UPDATE task_candidates SET (claimed, {columns}) = (
        SELECT assignee IS NOT NULL, {columns} FROM tasks WHERE id = NEW.task_id
    )
    WHERE task_id = NEW.task_id AND kind = NEW.kind AND name = NEW.name
      AND EXISTS (SELECT 1 FROM tasks WHERE id = NEW.task_id);
END
"""
BEFORE = ("due_at", "priority", "created_at")
AFTER = (*BEFORE, "instance_id")


def fill_trigger(sqlite: bool, columns: tuple[str, ...]) -> list[str]:
    if sqlite:
        return ["DROP TRIGGER IF EXISTS task_candidates_fill", SQLITE_FILL.format(columns=", ".join(columns))]
    return [PG_FILL.format(tasks=", ".join(f"t.{c}" for c in columns), new=", ".join(f"NEW.{c}" for c in columns))]


BACKFILL = "UPDATE task_candidates SET instance_id = (SELECT t.instance_id FROM tasks t WHERE t.id = task_candidates.task_id)"


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    op.add_column("task_candidates", sa.Column("instance_id", sa.Integer(), nullable=True))
    for statement in fill_trigger(sqlite, AFTER):
        op.execute(statement)
    op.execute(BACKFILL)
    op.create_index("ix_task_candidates_instance", "task_candidates", ["kind", "name", "instance_id"])


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    op.drop_index("ix_task_candidates_instance", "task_candidates")
    for statement in fill_trigger(sqlite, BEFORE):
        op.execute(statement)
    if sqlite:  # in place (SQLite 3.35+): a batch copy of the table would trip the triggers on tasks.
        op.execute("ALTER TABLE task_candidates DROP COLUMN instance_id")
    else:
        op.drop_column("task_candidates", "instance_id")
