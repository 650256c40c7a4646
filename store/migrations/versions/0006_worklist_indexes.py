"""worklist indexes: ordered partial indexes, open-only candidates, trigger-maintained counts

The worklist's count plus first page must stay ~ms at 1M task rows (issue #6). Pages come from
partial indexes in worklist order. Counts come from two small tables that hold open tasks only
and are kept right by triggers, so the application spends no statement on them:
- task_candidates: rows of closed tasks are deleted; `claimed` mirrors tasks.assignee, and the
  worklist order columns (due_at, priority, created_at) are copies of the task's;
- task_assignments: (task_id, assignee) of every open claimed task.
The 'available' page reads ix_task_candidates_unclaimed_order, in worklist order per candidate key,
so a user whose roles match few of the open tasks still reads ~one page of index entries.

Revision ID: 0006_worklist_indexes
Revises: 0005_definition_drafts
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0006_worklist_indexes"
down_revision = "0005_definition_drafts"
branch_labels = None
depends_on = None

ORDER = [sa.text("(due_at IS NULL)"), "due_at", sa.text("priority DESC"), "created_at", "id"]
OPEN = sa.text("status = 'open'")
OPEN_UNCLAIMED = sa.text("status = 'open' AND assignee IS NULL")
CANDIDATE_ORDER = ["kind", "name", sa.text("(due_at IS NULL)"), "due_at", sa.text("priority DESC"), "created_at", "task_id"]

PG_TUNING = [
    # Planner statistics on the pair: 'open and unclaimed' is ~60 % of the open tasks, not the
    # product of the two columns' frequencies (10x too low), which made 'available' sort all of
    # them instead of walking ix_tasks_open_unclaimed_order for the first page.
    "CREATE STATISTICS IF NOT EXISTS tasks_status_assignee (mcv) ON status, assignee FROM tasks",
    # Worklist reads are LIMIT-50 index walks; a parallel worker costs more to start (~5 ms) than
    # the whole query and takes a core from concurrent requests.
    "ALTER TABLE tasks SET (parallel_workers = 0)",
    "ANALYZE tasks",
]

PG_TRIGGERS = [
    # tasks -> task_assignments / task_candidates. Row triggers, so Core multi-row UPDATEs (the
    # cancellation of tasks an instance left behind) are covered as well as ORM flushes.
    """
    CREATE FUNCTION crmflow_tasks_worklist_sync() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'INSERT' THEN
            INSERT INTO task_assignments (task_id, assignee) VALUES (NEW.id, NEW.assignee);
        ELSIF NEW.status <> 'open' THEN
            DELETE FROM task_candidates WHERE task_id = NEW.id;
            DELETE FROM task_assignments WHERE task_id = NEW.id;
        ELSE
            IF NEW.assignee IS NULL THEN
                DELETE FROM task_assignments WHERE task_id = NEW.id;
            ELSE
                INSERT INTO task_assignments (task_id, assignee) VALUES (NEW.id, NEW.assignee)
                ON CONFLICT (task_id) DO UPDATE SET assignee = EXCLUDED.assignee;
            END IF;
            UPDATE task_candidates SET claimed = (NEW.assignee IS NOT NULL)
            WHERE task_id = NEW.id AND claimed <> (NEW.assignee IS NOT NULL);
        END IF;
        RETURN NULL;
    END $$
    """,
    """
    CREATE TRIGGER tasks_worklist_insert AFTER INSERT ON tasks FOR EACH ROW
    WHEN (NEW.status = 'open' AND NEW.assignee IS NOT NULL)
    EXECUTE FUNCTION crmflow_tasks_worklist_sync()
    """,
    """
    CREATE TRIGGER tasks_worklist_update AFTER UPDATE OF status, assignee ON tasks FOR EACH ROW
    WHEN ((OLD.status = 'open' OR NEW.status = 'open')
          AND (OLD.status IS DISTINCT FROM NEW.status OR OLD.assignee IS DISTINCT FROM NEW.assignee))
    EXECUTE FUNCTION crmflow_tasks_worklist_sync()
    """,
    # A candidate row is born with its task's claim state and order columns (tasks are inserted
    # before their candidates). One primary-key read of the task per candidate row.
    """
    CREATE FUNCTION crmflow_task_candidates_fill() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        SELECT t.assignee IS NOT NULL, t.due_at, t.priority, t.created_at
        INTO NEW.claimed, NEW.due_at, NEW.priority, NEW.created_at
        FROM tasks t WHERE t.id = NEW.task_id;
        IF NOT FOUND THEN
            NEW.claimed := false;  -- the foreign key rejects the row
        END IF;
        RETURN NEW;
    END $$
    """,
    """
    CREATE TRIGGER task_candidates_fill BEFORE INSERT ON task_candidates FOR EACH ROW
    EXECUTE FUNCTION crmflow_task_candidates_fill()
    """,
    # The order columns follow the task (a migrated definition may change due date or priority).
    """
    CREATE FUNCTION crmflow_tasks_order_sync() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE task_candidates SET due_at = NEW.due_at, priority = NEW.priority, created_at = NEW.created_at
        WHERE task_id = NEW.id;
        RETURN NULL;
    END $$
    """,
    """
    CREATE TRIGGER tasks_worklist_order AFTER UPDATE OF due_at, priority, created_at ON tasks FOR EACH ROW
    WHEN (NEW.status = 'open' AND (OLD.due_at IS DISTINCT FROM NEW.due_at OR OLD.priority IS DISTINCT FROM NEW.priority
                                   OR OLD.created_at IS DISTINCT FROM NEW.created_at))
    EXECUTE FUNCTION crmflow_tasks_order_sync()
    """,
]

SQLITE_TRIGGERS = [
    """
    CREATE TRIGGER tasks_worklist_insert AFTER INSERT ON tasks
    WHEN NEW.status = 'open' AND NEW.assignee IS NOT NULL
    BEGIN
        INSERT OR REPLACE INTO task_assignments (task_id, assignee) VALUES (NEW.id, NEW.assignee);
    END
    """,
    """
    CREATE TRIGGER tasks_worklist_close AFTER UPDATE OF status ON tasks
    WHEN OLD.status = 'open' AND NEW.status <> 'open'
    BEGIN
        DELETE FROM task_candidates WHERE task_id = NEW.id;
        DELETE FROM task_assignments WHERE task_id = NEW.id;
    END
    """,
    """
    CREATE TRIGGER tasks_worklist_assign AFTER UPDATE OF status, assignee ON tasks
    WHEN NEW.status = 'open' AND (OLD.assignee IS NOT NEW.assignee OR OLD.status IS NOT NEW.status)
    BEGIN
        DELETE FROM task_assignments WHERE task_id = NEW.id;
        INSERT INTO task_assignments (task_id, assignee) SELECT NEW.id, NEW.assignee WHERE NEW.assignee IS NOT NULL;
        UPDATE task_candidates SET claimed = (NEW.assignee IS NOT NULL) WHERE task_id = NEW.id;
    END
    """,
    """
    CREATE TRIGGER task_candidates_fill AFTER INSERT ON task_candidates
    BEGIN
        UPDATE task_candidates SET (claimed, due_at, priority, created_at) = (
            SELECT assignee IS NOT NULL, due_at, priority, created_at FROM tasks WHERE id = NEW.task_id
        )
        WHERE task_id = NEW.task_id AND kind = NEW.kind AND name = NEW.name
          AND EXISTS (SELECT 1 FROM tasks WHERE id = NEW.task_id);
    END
    """,
    """
    CREATE TRIGGER tasks_worklist_order AFTER UPDATE OF due_at, priority, created_at ON tasks
    WHEN NEW.status = 'open'
         AND (OLD.due_at IS NOT NEW.due_at OR OLD.priority IS NOT NEW.priority OR OLD.created_at IS NOT NEW.created_at)
    BEGIN
        UPDATE task_candidates SET due_at = NEW.due_at, priority = NEW.priority, created_at = NEW.created_at
        WHERE task_id = NEW.id;
    END
    """,
]

PG_DROP = [
    "ALTER TABLE tasks RESET (parallel_workers)",
    "DROP STATISTICS IF EXISTS tasks_status_assignee",
    "DROP TRIGGER IF EXISTS tasks_worklist_order ON tasks",
    "DROP TRIGGER IF EXISTS task_candidates_fill ON task_candidates",
    "DROP TRIGGER IF EXISTS tasks_worklist_update ON tasks",
    "DROP TRIGGER IF EXISTS tasks_worklist_insert ON tasks",
    "DROP FUNCTION IF EXISTS crmflow_tasks_order_sync()",
    "DROP FUNCTION IF EXISTS crmflow_task_candidates_fill()",
    "DROP FUNCTION IF EXISTS crmflow_tasks_worklist_sync()",
]
SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS tasks_worklist_order",
    "DROP TRIGGER IF EXISTS task_candidates_fill",
    "DROP TRIGGER IF EXISTS tasks_worklist_assign",
    "DROP TRIGGER IF EXISTS tasks_worklist_close",
    "DROP TRIGGER IF EXISTS tasks_worklist_insert",
]


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    op.add_column("task_candidates", sa.Column("claimed", sa.Boolean(), server_default=sa.false(), nullable=False))
    op.add_column("task_candidates", sa.Column("due_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("task_candidates", sa.Column("priority", sa.Integer(), nullable=True))
    op.add_column("task_candidates", sa.Column("created_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "task_assignments",
        sa.Column("task_id", sa.String(length=36), nullable=False),
        sa.Column("assignee", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["task_id"], ["tasks.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("task_id"),
    )
    op.create_index("ix_task_assignments_assignee", "task_assignments", ["assignee"], unique=False)
    # Existing data: candidates of closed tasks go, the others learn their claim state.
    op.execute("DELETE FROM task_candidates WHERE task_id IN (SELECT id FROM tasks WHERE status <> 'open')")
    op.execute(
        sa.text(
            "UPDATE task_candidates SET claimed = :claimed"
            " WHERE task_id IN (SELECT id FROM tasks WHERE status = 'open' AND assignee IS NOT NULL)"
        ).bindparams(claimed=True)
    )
    op.execute(
        "UPDATE task_candidates SET due_at = (SELECT due_at FROM tasks WHERE tasks.id = task_candidates.task_id),"
        " priority = (SELECT priority FROM tasks WHERE tasks.id = task_candidates.task_id),"
        " created_at = (SELECT created_at FROM tasks WHERE tasks.id = task_candidates.task_id)"
    )
    op.execute(
        "INSERT INTO task_assignments (task_id, assignee) SELECT id, assignee FROM tasks WHERE status = 'open' AND assignee IS NOT NULL"
    )
    op.create_index("ix_tasks_open_unclaimed_order", "tasks", ORDER, postgresql_where=OPEN_UNCLAIMED, sqlite_where=OPEN_UNCLAIMED)
    op.create_index("ix_tasks_open_assignee_order", "tasks", ["assignee", *ORDER], postgresql_where=OPEN, sqlite_where=OPEN)
    op.create_index(
        "ix_task_candidates_unclaimed_order",
        "task_candidates",
        CANDIDATE_ORDER,
        postgresql_where=sa.text("NOT claimed"),
        sqlite_where=sa.text("claimed = 0"),
    )
    for statement in SQLITE_TRIGGERS if sqlite else PG_TRIGGERS + PG_TUNING:
        op.execute(statement)


def downgrade() -> None:
    """Candidate rows of tasks closed while 0006 was in force are not brought back: nothing reads them."""
    sqlite = op.get_bind().dialect.name == "sqlite"
    for statement in SQLITE_DROP if sqlite else PG_DROP:
        op.execute(statement)
    op.drop_index("ix_task_candidates_unclaimed_order", table_name="task_candidates")
    op.drop_index("ix_tasks_open_assignee_order", table_name="tasks")
    op.drop_index("ix_tasks_open_unclaimed_order", table_name="tasks")
    op.drop_index("ix_task_assignments_assignee", table_name="task_assignments")
    op.drop_table("task_assignments")
    with op.batch_alter_table("task_candidates") as batch_op:
        for column in ("created_at", "priority", "due_at", "claimed"):
            batch_op.drop_column(column)
