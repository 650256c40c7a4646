"""monitor counters: instance counts and the starts/ends trend as trigger-written deltas, the open
steps' narrow copy, report-field counts, and the first monitor_counters job

The monitor's first pages counted `process_instances` and `tasks` (a scan of every instance and one
heap page per open task: 250 ms at 200k instances and 100k open tasks). Now:
- instance_counts / instance_trend: signed deltas (+1 for a row's new key, -1 for its old one) from
  triggers on process_instances, so every writer is counted (starts, completions, suspensions,
  terminations, version migrations, history cleanup, a bulk load) and no two transactions wait for
  the same counter row; the job folds them (engine.services.monitor_counters);
- open_steps: (task, instance, process, step, name, due, assignee) of every open task, kept by
  triggers on tasks, as task_assignments is;
- instance_people: who took part in each instance (started it, held or completed one of its
  tasks; Camunda's participant identity links), kept by triggers, so an instance list of
  someone's own and their team's instances is a range of an index, not a test per instance;
- field_counts: written by the engine with instance data (the report fields are a process
  package's knowledge); the job builds each (process, field) from the instances before it once,
  recorded in counted_fields.
Hours are UTC: a local day of a whole-hour zone is 24 of them.

Revision ID: 0018_monitor_counters
Revises: 0017_history_cleanup
Create Date: 2026-12-07
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0018_monitor_counters"
down_revision = "0017_history_cleanup"
branch_labels = None
depends_on = None

PG_HOUR = "date_trunc('hour', {} AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'"
SQLITE_HOUR = "strftime('%Y-%m-%d %H:00:00.000000', {})"

PG_TRIGGERS = [
    # Inserts and deletes (a bulk load, a cleanup batch) as statements over their transition
    # tables: one delta row per key, not per instance.
    f"""
    CREATE FUNCTION crmflow_instances_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO instance_counts (definition_id, process_key, status, started_by, n)
        SELECT definition_id, process_key, status, started_by, count(*) FROM added GROUP BY 1, 2, 3, 4;
        INSERT INTO instance_trend (process_key, hour, started_by, started, finished)
        SELECT process_key, {PG_HOUR.format("started_at")}, started_by, count(*), 0 FROM added GROUP BY 1, 2, 3;
        INSERT INTO instance_trend (process_key, hour, started_by, started, finished)
        SELECT process_key, {PG_HOUR.format("ended_at")}, started_by, 0, count(*) FROM added
        WHERE ended_at IS NOT NULL GROUP BY 1, 2, 3;
        INSERT INTO instance_people (username, instance_id)
        SELECT started_by, id FROM added WHERE started_by IS NOT NULL ON CONFLICT DO NOTHING;
        RETURN NULL;
    END $$
    """,
    """
    CREATE TRIGGER process_instances_inserted AFTER INSERT ON process_instances
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION crmflow_instances_inserted()
    """,
    """
    CREATE FUNCTION crmflow_instances_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO instance_counts (definition_id, process_key, status, started_by, n)
        SELECT definition_id, process_key, status, started_by, -count(*) FROM removed GROUP BY 1, 2, 3, 4;
        RETURN NULL;
    END $$
    """,
    """
    CREATE TRIGGER process_instances_deleted AFTER DELETE ON process_instances
    REFERENCING OLD TABLE AS removed FOR EACH STATEMENT EXECUTE FUNCTION crmflow_instances_deleted()
    """,
    # Updates row by row: the WHEN clause keeps the trigger off the common case (an action that
    # changes only the state).
    """
    CREATE FUNCTION crmflow_instances_recounted() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO instance_counts (definition_id, process_key, status, started_by, n) VALUES
            (OLD.definition_id, OLD.process_key, OLD.status, OLD.started_by, -1),
            (NEW.definition_id, NEW.process_key, NEW.status, NEW.started_by, 1);
        IF NEW.started_by IS NOT NULL AND NEW.started_by IS DISTINCT FROM OLD.started_by THEN
            INSERT INTO instance_people (username, instance_id) VALUES (NEW.started_by, NEW.id) ON CONFLICT DO NOTHING;
        END IF;
        RETURN NULL;
    END $$
    """,
    """
    CREATE TRIGGER process_instances_recounted AFTER UPDATE OF status, definition_id, process_key, started_by
    ON process_instances FOR EACH ROW
    WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.definition_id IS DISTINCT FROM NEW.definition_id
          OR OLD.process_key IS DISTINCT FROM NEW.process_key OR OLD.started_by IS DISTINCT FROM NEW.started_by)
    EXECUTE FUNCTION crmflow_instances_recounted()
    """,
    f"""
    CREATE FUNCTION crmflow_instances_finished() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO instance_trend (process_key, hour, started_by, started, finished)
        VALUES (NEW.process_key, {PG_HOUR.format("NEW.ended_at")}, NEW.started_by, 0, 1);
        RETURN NULL;
    END $$
    """,
    """
    CREATE TRIGGER process_instances_finished AFTER UPDATE OF ended_at ON process_instances FOR EACH ROW
    WHEN (OLD.ended_at IS NULL AND NEW.ended_at IS NOT NULL)
    EXECUTE FUNCTION crmflow_instances_finished()
    """,
    """
    CREATE FUNCTION crmflow_tasks_open_steps() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'UPDATE' AND NEW.status <> 'open' THEN
            DELETE FROM open_steps WHERE task_id = NEW.id;
        ELSE
            INSERT INTO open_steps (task_id, instance_id, process_key, task_key, name, due_at, assignee)
            VALUES (NEW.id, NEW.instance_id, NEW.process_key, NEW.task_key, NEW.name, NEW.due_at, NEW.assignee)
            ON CONFLICT (task_id) DO UPDATE SET due_at = EXCLUDED.due_at, assignee = EXCLUDED.assignee;
        END IF;
        RETURN NULL;
    END $$
    """,
    """
    CREATE TRIGGER tasks_open_steps_insert AFTER INSERT ON tasks FOR EACH ROW WHEN (NEW.status = 'open')
    EXECUTE FUNCTION crmflow_tasks_open_steps()
    """,
    """
    CREATE TRIGGER tasks_open_steps_update AFTER UPDATE OF status, assignee, due_at ON tasks FOR EACH ROW
    WHEN ((OLD.status = 'open' OR NEW.status = 'open')
          AND (OLD.status IS DISTINCT FROM NEW.status OR OLD.assignee IS DISTINCT FROM NEW.assignee
               OR OLD.due_at IS DISTINCT FROM NEW.due_at))
    EXECUTE FUNCTION crmflow_tasks_open_steps()
    """,
    """
    CREATE FUNCTION crmflow_tasks_people() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO instance_people (username, instance_id)
        SELECT who, NEW.instance_id FROM (VALUES (NEW.assignee), (NEW.completed_by)) AS holders (who)
        WHERE who IS NOT NULL ON CONFLICT DO NOTHING;
        RETURN NULL;
    END $$
    """,
    """
    CREATE TRIGGER tasks_people_insert AFTER INSERT ON tasks FOR EACH ROW
    WHEN (NEW.assignee IS NOT NULL OR NEW.completed_by IS NOT NULL)
    EXECUTE FUNCTION crmflow_tasks_people()
    """,
    """
    CREATE TRIGGER tasks_people_update AFTER UPDATE OF assignee, completed_by ON tasks FOR EACH ROW
    WHEN ((NEW.assignee IS NOT NULL AND NEW.assignee IS DISTINCT FROM OLD.assignee)
          OR (NEW.completed_by IS NOT NULL AND NEW.completed_by IS DISTINCT FROM OLD.completed_by))
    EXECUTE FUNCTION crmflow_tasks_people()
    """,
]

_COUNT = "INSERT INTO instance_counts (definition_id, process_key, status, started_by, n) VALUES"
_TREND = "INSERT INTO instance_trend (process_key, hour, started_by, started, finished)"
_OPEN = "INSERT OR REPLACE INTO open_steps (task_id, instance_id, process_key, task_key, name, due_at, assignee)"
_PERSON = "INSERT OR IGNORE INTO instance_people (username, instance_id)"
SQLITE_TRIGGERS = [
    f"""
    CREATE TRIGGER process_instances_inserted AFTER INSERT ON process_instances
    BEGIN
        {_COUNT} (NEW.definition_id, NEW.process_key, NEW.status, NEW.started_by, 1);
        {_TREND} VALUES (NEW.process_key, {SQLITE_HOUR.format("NEW.started_at")}, NEW.started_by, 1, 0);
        {_TREND} SELECT NEW.process_key, {SQLITE_HOUR.format("NEW.ended_at")}, NEW.started_by, 0, 1 WHERE NEW.ended_at IS NOT NULL;
        {_PERSON} SELECT NEW.started_by, NEW.id WHERE NEW.started_by IS NOT NULL;
    END
    """,
    f"""
    CREATE TRIGGER process_instances_deleted AFTER DELETE ON process_instances
    BEGIN
        {_COUNT} (OLD.definition_id, OLD.process_key, OLD.status, OLD.started_by, -1);
    END
    """,
    f"""
    CREATE TRIGGER process_instances_recounted AFTER UPDATE OF status, definition_id, process_key, started_by ON process_instances
    WHEN OLD.status IS NOT NEW.status OR OLD.definition_id IS NOT NEW.definition_id
         OR OLD.process_key IS NOT NEW.process_key OR OLD.started_by IS NOT NEW.started_by
    BEGIN
        {_COUNT} (OLD.definition_id, OLD.process_key, OLD.status, OLD.started_by, -1);
        {_COUNT} (NEW.definition_id, NEW.process_key, NEW.status, NEW.started_by, 1);
        {_PERSON} SELECT NEW.started_by, NEW.id WHERE NEW.started_by IS NOT NULL;
    END
    """,
    f"""
    CREATE TRIGGER process_instances_finished AFTER UPDATE OF ended_at ON process_instances
    WHEN OLD.ended_at IS NULL AND NEW.ended_at IS NOT NULL
    BEGIN
        {_TREND} VALUES (NEW.process_key, {SQLITE_HOUR.format("NEW.ended_at")}, NEW.started_by, 0, 1);
    END
    """,
    f"""
    CREATE TRIGGER tasks_open_steps_insert AFTER INSERT ON tasks WHEN NEW.status = 'open'
    BEGIN
        {_OPEN} VALUES (NEW.id, NEW.instance_id, NEW.process_key, NEW.task_key, NEW.name, NEW.due_at, NEW.assignee);
    END
    """,
    """
    CREATE TRIGGER tasks_open_steps_close AFTER UPDATE OF status ON tasks WHEN OLD.status = 'open' AND NEW.status <> 'open'
    BEGIN
        DELETE FROM open_steps WHERE task_id = NEW.id;
    END
    """,
    f"""
    CREATE TRIGGER tasks_open_steps_update AFTER UPDATE OF status, assignee, due_at ON tasks
    WHEN NEW.status = 'open' AND (OLD.status IS NOT NEW.status OR OLD.assignee IS NOT NEW.assignee OR OLD.due_at IS NOT NEW.due_at)
    BEGIN
        {_OPEN} VALUES (NEW.id, NEW.instance_id, NEW.process_key, NEW.task_key, NEW.name, NEW.due_at, NEW.assignee);
    END
    """,
    f"""
    CREATE TRIGGER tasks_people_insert AFTER INSERT ON tasks WHEN NEW.assignee IS NOT NULL OR NEW.completed_by IS NOT NULL
    BEGIN
        {_PERSON} SELECT NEW.assignee, NEW.instance_id WHERE NEW.assignee IS NOT NULL;
        {_PERSON} SELECT NEW.completed_by, NEW.instance_id WHERE NEW.completed_by IS NOT NULL;
    END
    """,
    f"""
    CREATE TRIGGER tasks_people_update AFTER UPDATE OF assignee, completed_by ON tasks
    WHEN NEW.assignee IS NOT NULL OR NEW.completed_by IS NOT NULL
    BEGIN
        {_PERSON} SELECT NEW.assignee, NEW.instance_id WHERE NEW.assignee IS NOT NULL;
        {_PERSON} SELECT NEW.completed_by, NEW.instance_id WHERE NEW.completed_by IS NOT NULL;
    END
    """,
]

PG_DROP = [
    "DROP TRIGGER IF EXISTS tasks_people_update ON tasks",
    "DROP TRIGGER IF EXISTS tasks_people_insert ON tasks",
    "DROP FUNCTION IF EXISTS crmflow_tasks_people()",
    "DROP TRIGGER IF EXISTS tasks_open_steps_update ON tasks",
    "DROP TRIGGER IF EXISTS tasks_open_steps_insert ON tasks",
    "DROP TRIGGER IF EXISTS process_instances_finished ON process_instances",
    "DROP TRIGGER IF EXISTS process_instances_recounted ON process_instances",
    "DROP TRIGGER IF EXISTS process_instances_deleted ON process_instances",
    "DROP TRIGGER IF EXISTS process_instances_inserted ON process_instances",
    "DROP FUNCTION IF EXISTS crmflow_tasks_open_steps()",
    "DROP FUNCTION IF EXISTS crmflow_instances_finished()",
    "DROP FUNCTION IF EXISTS crmflow_instances_recounted()",
    "DROP FUNCTION IF EXISTS crmflow_instances_deleted()",
    "DROP FUNCTION IF EXISTS crmflow_instances_inserted()",
]
SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS tasks_people_update",
    "DROP TRIGGER IF EXISTS tasks_people_insert",
    "DROP TRIGGER IF EXISTS tasks_open_steps_update",
    "DROP TRIGGER IF EXISTS tasks_open_steps_close",
    "DROP TRIGGER IF EXISTS tasks_open_steps_insert",
    "DROP TRIGGER IF EXISTS process_instances_finished",
    "DROP TRIGGER IF EXISTS process_instances_recounted",
    "DROP TRIGGER IF EXISTS process_instances_deleted",
    "DROP TRIGGER IF EXISTS process_instances_inserted",
]


def _run(statement: str) -> None:
    """As written: the SQLite hour format's colons are not bind parameters."""
    op.get_bind().exec_driver_sql(statement)


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    hour = SQLITE_HOUR if sqlite else PG_HOUR
    op.create_table(
        "instance_counts",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("definition_id", sa.Integer(), nullable=False),
        sa.Column("process_key", sa.String(length=128), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("started_by", sa.String(length=64), nullable=True),
        sa.Column("n", sa.Integer(), nullable=False),
    )
    op.create_index("ix_instance_counts_process", "instance_counts", ["process_key"])
    op.create_table(
        "instance_trend",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("process_key", sa.String(length=128), nullable=False),
        sa.Column("hour", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_by", sa.String(length=64), nullable=True),
        sa.Column("started", sa.Integer(), nullable=False),
        sa.Column("finished", sa.Integer(), nullable=False),
    )
    op.create_index("ix_instance_trend_hour", "instance_trend", ["hour"])
    op.create_table(
        "open_steps",
        sa.Column("task_id", sa.String(length=36), sa.ForeignKey("tasks.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("instance_id", sa.Integer(), nullable=False),
        sa.Column("process_key", sa.String(length=128), nullable=False),
        sa.Column("task_key", sa.String(length=128), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("assignee", sa.String(length=64), nullable=True),
    )
    op.create_index("ix_open_steps_process_step", "open_steps", ["process_key", "task_key"])
    op.create_table(
        "instance_people",
        sa.Column("username", sa.String(length=64), primary_key=True),
        sa.Column("instance_id", sa.Integer(), sa.ForeignKey("process_instances.id", ondelete="CASCADE"), primary_key=True),
    )
    op.create_index("ix_instance_people_instance", "instance_people", ["instance_id"])
    op.create_table(
        "field_counts",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("process_key", sa.String(length=128), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("text", sa.String(length=200), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("started_by", sa.String(length=64), nullable=True),
        sa.Column("n", sa.Integer(), nullable=False),
    )
    op.create_index("ix_field_counts_field_day", "field_counts", ["process_key", "name", "day"])
    op.create_table(
        "counted_fields",
        sa.Column("process_key", sa.String(length=128), primary_key=True),
        sa.Column("name", sa.String(length=64), primary_key=True),
    )
    # What is there now, then the triggers (in one transaction: nothing is counted twice or missed).
    _run(
        "INSERT INTO instance_counts (definition_id, process_key, status, started_by, n)"
        " SELECT definition_id, process_key, status, started_by, count(*) FROM process_instances GROUP BY 1, 2, 3, 4"
    )
    _run(
        f"INSERT INTO instance_trend (process_key, hour, started_by, started, finished)"
        f" SELECT process_key, {hour.format('started_at')}, started_by, count(*), 0 FROM process_instances GROUP BY 1, 2, 3"
    )
    _run(
        f"INSERT INTO instance_trend (process_key, hour, started_by, started, finished)"
        f" SELECT process_key, {hour.format('ended_at')}, started_by, 0, count(*) FROM process_instances"
        f" WHERE ended_at IS NOT NULL GROUP BY 1, 2, 3"
    )
    _run(
        "INSERT INTO open_steps (task_id, instance_id, process_key, task_key, name, due_at, assignee)"
        " SELECT id, instance_id, process_key, task_key, name, due_at, assignee FROM tasks WHERE status = 'open'"
    )
    _run(
        "INSERT INTO instance_people (username, instance_id)"
        " SELECT started_by, id FROM process_instances WHERE started_by IS NOT NULL"
        " UNION SELECT assignee, instance_id FROM tasks WHERE assignee IS NOT NULL"
        " UNION SELECT completed_by, instance_id FROM tasks WHERE completed_by IS NOT NULL"
    )
    for statement in SQLITE_TRIGGERS if sqlite else PG_TRIGGERS:
        _run(statement)
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
        [{"kind": "monitor_counters", "due_at": now, "run_at": now, "status": "pending", "payload": {}, "retries": 3, "attempts": 0, "created_at": now}],
    )


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    op.execute("DELETE FROM jobs WHERE kind = 'monitor_counters'")
    for statement in SQLITE_DROP if sqlite else PG_DROP:
        op.execute(statement)
    for table in ("counted_fields", "field_counts", "instance_people", "open_steps", "instance_trend", "instance_counts"):
        op.drop_table(table)
