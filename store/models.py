"""Typed SQLAlchemy models: the organisation, deployed definitions, instances and the worklist.

The worklist (`tasks`, `task_candidates`) is materialised from the engine state at every wait
state, with the business columns people filter on, so that worklist queries never open an
instance blob.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from store.types import money, username, utc_datetime

MAX_ID = 2**31 - 1  # integer ids are 32-bit in the database; larger ones cannot exist


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


class Department(Base):
    __tablename__ = "departments"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str | None] = mapped_column(String(200))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    manager_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", use_alter=True, name="fk_departments_manager"))


class Role(Base):
    __tablename__ = "roles"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str] = mapped_column(String(200), default="")


class UserRole(Base):
    """Membership of a user in a role."""

    __tablename__ = "user_roles"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    role_id: Mapped[int] = mapped_column(ForeignKey("roles.id", ondelete="CASCADE"), primary_key=True)


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[username] = mapped_column(unique=True)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str | None] = mapped_column(String(254))
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    locale: Mapped[str] = mapped_column(String(16), default="zh_CN")
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    superior_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[utc_datetime]

    roles: Mapped[list[Role]] = relationship(secondary="user_roles", lazy="selectin")
    department: Mapped[Department | None] = relationship(foreign_keys=[department_id])
    superior: Mapped[User | None] = relationship(remote_side=[id], foreign_keys=[superior_id])

    @property
    def role_names(self) -> list[str]:
        return sorted(r.name for r in self.roles)


class LoginSession(Base):
    """A browser session or an API token: the server-side record that makes it valid.

    Only a SHA-256 of its secret is kept. Deleting the record ends the session whatever cookie or
    token is still around (logout, password reset, deactivation, the user ending it); its lifetime
    is absolute, never renewed by use."""

    __tablename__ = "sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(10))  # browser | api
    created_at: Mapped[utc_datetime]
    expires_at: Mapped[utc_datetime]
    address: Mapped[str] = mapped_column(String(64), default="", server_default="")
    user_agent: Mapped[str] = mapped_column(String(200), default="", server_default="")

    @property
    def public_id(self) -> str:
        """What lists and links name it by: part of the hash, never the secret."""
        return self.token_hash[:16]


class LoginAttempt(Base):
    """Failed logins, kept for throttling (by user and by address) and as an audit trail."""

    __tablename__ = "login_attempts"
    __table_args__ = (Index("ix_login_attempts_user_at", "username", "at"), Index("ix_login_attempts_ip_at", "ip", "at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[username]
    ip: Mapped[str] = mapped_column(String(64))
    at: Mapped[utc_datetime]


class DecisionDefinition(Base):
    __tablename__ = "decision_definitions"
    __table_args__ = (UniqueConstraint("key", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(128), index=True)
    version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200), default="")
    dmn_xml: Mapped[str] = mapped_column(Text)
    content_hash: Mapped[str] = mapped_column(String(64))
    deployed_by: Mapped[username | None]
    deployed_at: Mapped[utc_datetime]


class ProcessDefinition(Base):
    __tablename__ = "process_definitions"
    __table_args__ = (UniqueConstraint("key", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(128), index=True)
    version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200), default="")
    bpmn_xml: Mapped[str] = mapped_column(Text)
    # The DMN documents the spec was parsed with, so a version never changes under its instances.
    dmn_xml: Mapped[list[Any]] = mapped_column(JSON, default=list)
    content_hash: Mapped[str] = mapped_column(String(64))
    # The parsed spec, serialized once per version (instances store only their own state).
    spec_json: Mapped[str] = mapped_column(Text)
    serializer_version: Mapped[str] = mapped_column(String(16))
    # Start-event metadata read at deploy: start form, starter roles, initiator variable.
    start_meta: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Days a finished instance of this version is kept, then removed with its history by the
    # history cleanup (engine.services.history_cleanup); None keeps it for ever. From the BPMN's
    # camunda:historyTimeToLive at deploy; admins may change it.
    history_ttl_days: Mapped[int | None] = mapped_column(Integer)
    deployed_by: Mapped[username | None]
    deployed_at: Mapped[utc_datetime]


class DefinitionDraft(Base):
    """A designer's work in progress for a process key: saved, not deployed."""

    __tablename__ = "definition_drafts"

    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    xml: Mapped[str] = mapped_column(Text)
    updated_by: Mapped[username | None]
    updated_at: Mapped[utc_datetime]


class ProcessInstance(Base):
    __tablename__ = "process_instances"
    __table_args__ = (
        Index("ix_instances_key_status", "process_key", "status"),
        Index("ix_instances_customer_started", "customer_id", "started_at"),
        Index("ix_instances_definition_ended", "definition_id", "ended_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    definition_id: Mapped[int] = mapped_column(ForeignKey("process_definitions.id"), index=True)
    process_key: Mapped[str] = mapped_column(String(128))
    status: Mapped[str] = mapped_column(String(16), default="running")
    business_key: Mapped[str | None] = mapped_column(String(200), index=True)
    started_by: Mapped[username | None] = mapped_column(index=True)
    # Instance-only serialization (no spec): see engine.serializer.
    state: Mapped[bytes] = mapped_column(LargeBinary)
    serializer_version: Mapped[str] = mapped_column(String(16))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    error: Mapped[str | None] = mapped_column(Text)
    row_version: Mapped[int] = mapped_column(Integer, default=1)
    started_at: Mapped[utc_datetime]
    updated_at: Mapped[utc_datetime]
    ended_at: Mapped[utc_datetime | None]
    # The customer the instance is about (engine.services.customers.link): the form's customer id,
    # else the customer whose normalised name the customer field names. The customer's timeline.
    # A plain column, no foreign key (customers -> leads -> instances would be a cycle); customers are
    # never deleted, a merge re-links.
    customer_id: Mapped[int | None] = mapped_column(Integer)
    # The customer field's normalised name (engine.matching): a customer created later finds the
    # instances that named it before it existed.
    customer_norm: Mapped[str | None] = mapped_column(String(300), index=True)

    __mapper_args__ = {"version_id_col": row_version}


# The worklist order (engine.tasks.TaskService.query): due first, earliest first, then priority,
# then age; `id` last makes it total (the web UI pages with it).
WORKLIST_ORDER = (text("(due_at IS NULL)"), "due_at", text("priority DESC"), "created_at", "id")
OPEN = text("status = 'open'")
OPEN_UNCLAIMED = text("status = 'open' AND assignee IS NULL")
COMPLETED = text("status = 'completed'")


class Task(Base):
    """One row per user task that became ready: the materialised worklist."""

    __tablename__ = "tasks"
    __table_args__ = (
        Index("ix_tasks_status_assignee_due", "status", "assignee", "due_at"),
        Index("ix_tasks_instance_status", "instance_id", "status"),
        Index("ix_tasks_status_process", "status", "process_key"),
        # The worklist pages in their default order (WORKLIST_ORDER), so a page of 50 reads 50
        # index entries instead of sorting every open task: 'available' and 'mine'/'team'.
        Index("ix_tasks_open_unclaimed_order", *WORKLIST_ORDER, postgresql_where=OPEN_UNCLAIMED, sqlite_where=OPEN_UNCLAIMED),
        Index("ix_tasks_open_assignee_order", "assignee", *WORKLIST_ORDER, postgresql_where=OPEN, sqlite_where=OPEN),
        # The monitor (engine.services.statistics): a process's open steps and who waits longest at
        # one; its steps completed in a period.
        Index("ix_tasks_open_step", "process_key", "task_key", "created_at", postgresql_where=OPEN, sqlite_where=OPEN),
        Index("ix_tasks_completed_process", "process_key", "completed_at", postgresql_where=COMPLETED, sqlite_where=COMPLETED),
        # "Done by me", newest first (read backwards; engine.services.worklist): its page and its capped count.
        Index("ix_tasks_done_by_order", "completed_by", "completed_at", "id", postgresql_where=COMPLETED, sqlite_where=COMPLETED),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instances.id", ondelete="CASCADE"))
    process_key: Mapped[str] = mapped_column(String(128))
    task_key: Mapped[str] = mapped_column(String(128))
    name: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default="open")  # open, completed, cancelled
    assignee: Mapped[username | None]
    candidate_roles: Mapped[str] = mapped_column(String(500), default="")
    candidate_users: Mapped[str] = mapped_column(String(500), default="")
    # Four-eyes: who may never perform this task (the requester, who proposed what it decides),
    # resolved when the task is created from its `fourEyes` property; comma-separated.
    excluded_users: Mapped[str] = mapped_column(String(500), default="", server_default="")
    # The instance is suspended (engine.services.instance_control): shown, but nothing is done on it.
    suspended: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    priority: Mapped[int] = mapped_column(Integer, default=50)
    created_at: Mapped[utc_datetime]
    claimed_at: Mapped[utc_datetime | None]
    completed_at: Mapped[utc_datetime | None]
    completed_by: Mapped[username | None] = mapped_column(index=True)
    due_at: Mapped[utc_datetime | None]
    follow_up_at: Mapped[utc_datetime | None]
    business_key: Mapped[str | None] = mapped_column(String(200))
    started_by: Mapped[username | None]
    customer: Mapped[str | None] = mapped_column(String(200), index=True)
    title: Mapped[str | None] = mapped_column(String(300))
    amount: Mapped[money | None]


class TaskCandidate(Base):
    """Who an open task is offered to: one row per candidate role or user (indexed for 'available').

    Rows exist for open tasks only, `claimed` mirrors `tasks.assignee IS NOT NULL` and
    due_at/priority/created_at copy the task's: database triggers (migration 0006) delete the rows
    when the task closes and set the copies on insert, claim, unclaim and change of due date or
    priority, so the application never spends a statement on them. That keeps this table
    as small as the open worklist and lets 'available' be counted from its index alone.
    """

    __tablename__ = "task_candidates"
    __table_args__ = (
        Index("ix_task_candidates_lookup", "kind", "name", "task_id"),
        # 'available' in worklist order per candidate key (engine.task_counts.available_page),
        # and its count from the index alone.
        Index(
            "ix_task_candidates_unclaimed_order",
            "kind",
            "name",
            *WORKLIST_ORDER[:-1],
            "task_id",
            postgresql_where=text("NOT claimed"),
            sqlite_where=text("claimed = 0"),
        ),
        # The instances whose open steps a key is offered (engine.authorization.visible_instance_sets).
        Index("ix_task_candidates_instance", "kind", "name", "instance_id"),
    )

    task_id: Mapped[str] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(8), primary_key=True)  # role | user
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    # Written by the triggers only; the Python default just keeps inserts free of RETURNING.
    claimed: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # Copies of the task's worklist order columns, set by the same triggers.
    due_at: Mapped[utc_datetime | None]
    priority: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[utc_datetime | None]
    # The task's instance, set by the same insert trigger (migration 0019).
    instance_id: Mapped[int | None] = mapped_column(Integer)


class TaskAssignment(Base):
    """The assignee of each open, claimed task: a trigger-maintained copy of (tasks.id, assignee).

    'mine' and 'team' are counted here: this table holds only open claimed tasks, so counting a
    user's thousands of tasks reads a few hundred pages, not one heap page of `tasks` per task.
    The application never writes it (migration 0006's triggers on `tasks` do).
    """

    __tablename__ = "task_assignments"

    task_id: Mapped[str] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"), primary_key=True)
    assignee: Mapped[username] = mapped_column(index=True)


class TaskEscalation(Base):
    """An open task escalated to someone (a boundary timer's `crm.notify` of kind escalation): the
    person told to chase it sees it in their team view with the reason, whoever holds it."""

    __tablename__ = "task_escalations"
    __table_args__ = (Index("ix_task_escalations_user_task", "username", "task_id"),)

    task_id: Mapped[str] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"), primary_key=True)
    username: Mapped[username] = mapped_column(primary_key=True)
    at: Mapped[utc_datetime]
    reason: Mapped[str] = mapped_column(Text)  # the escalation's message, the latest when repeated
    event: Mapped[str | None] = mapped_column(String(128))  # the boundary event that fired


class Job(Base):
    """Timers, timer starts and outgoing email: due at a time, claimed by one worker at a time.

    `due_at` is when the event is due; `run_at` when the job may next run (later after a failed
    attempt). A claim sets `lock_owner` and a lease (`lock_expires_at`); a crashed worker's lease
    runs out and another worker takes the job over.
    """

    __tablename__ = "jobs"
    __table_args__ = (Index("ix_jobs_claim", "status", "run_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))  # timer | timer_start | email
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instances.id", ondelete="CASCADE"), index=True)
    definition_id: Mapped[int | None] = mapped_column(ForeignKey("process_definitions.id", name="fk_jobs_definition"))
    task_id: Mapped[str | None] = mapped_column(String(36))
    element_id: Mapped[str | None] = mapped_column(String(128))
    due_at: Mapped[utc_datetime]
    run_at: Mapped[utc_datetime]
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending | running | done | incident | obsolete
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    lock_owner: Mapped[str | None] = mapped_column(String(64))
    lock_expires_at: Mapped[utc_datetime | None]
    retries: Mapped[int] = mapped_column(Integer, default=3)
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_error: Mapped[str | None] = mapped_column(Text)
    fired_at: Mapped[utc_datetime | None]
    created_at: Mapped[utc_datetime]


class HistoryEvent(Base):
    __tablename__ = "history_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[utc_datetime]
    user: Mapped[username | None]
    action: Mapped[str] = mapped_column(String(32))
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instances.id", ondelete="CASCADE"), index=True)
    task_id: Mapped[str | None] = mapped_column(String(36))
    task_key: Mapped[str | None] = mapped_column(String(128))
    comment: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    on_behalf_of: Mapped[username | None]  # a substitute's action: whose work it was (代理, "A for B")


class StepRollup(Base):
    """The monitor's figures of completed steps, one row per process step, local day, performer and
    duration bucket (a quarter of an octave: about 19 % wide), added to with each completion in
    its own transaction (engine.services.step_rollups): a month of a step is ~30 x a few rows to
    read, however many tasks were done."""

    __tablename__ = "step_rollups"
    __table_args__ = (Index("ix_step_rollups_process_day", "process_key", "day"),)

    process_key: Mapped[str] = mapped_column(String(128), primary_key=True)
    task_key: Mapped[str] = mapped_column(String(128), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)  # in the organisation's zone
    completed_by: Mapped[str] = mapped_column(String(64), primary_key=True)
    bucket: Mapped[int] = mapped_column(Integer, primary_key=True)  # floor(4 * log2(seconds)), 0 under 1 s
    completed: Mapped[int] = mapped_column(Integer, default=0)
    late: Mapped[int] = mapped_column(Integer, default=0)  # completed after its due time
    seconds: Mapped[float] = mapped_column(Float, default=0.0)  # their durations, summed


class InstanceField(Base):
    """An instance's business fields, one row per top-level scalar value of its data, for search
    (engine.services.instance_fields): written with the instance's state, in its transaction.
    `text` is the value as lower-case text (numbers without a trailing .0, booleans true/false),
    `number` the value of a JSON number, `process_key` the instance's process (migration 0023), so
    that one process's matches of a field come from its index in instance order without reading
    the instances. On PostgreSQL a trigram index serves text containing."""

    __tablename__ = "instance_fields"
    __table_args__ = (
        Index("ix_instance_fields_text", "name", "text", "process_key", "instance_id"),
        Index("ix_instance_fields_number", "name", "number", "process_key", "instance_id"),
        # Text containing (`q`, `.like`): trigrams on PostgreSQL (the pg_trgm extension, migration
        # 0016); SQLite scans the table, which an embedded set-up's size allows.
        Index("ix_instance_fields_trgm", "text", postgresql_using="gin", postgresql_ops={"text": "gin_trgm_ops"}).ddl_if(
            dialect="postgresql"
        ),
    )

    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instances.id", ondelete="CASCADE"), primary_key=True)
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    text: Mapped[str] = mapped_column(String(200))
    number: Mapped[float | None] = mapped_column(Float)
    process_key: Mapped[str] = mapped_column(String(128))


class InstanceCount(Base):
    """The monitor's instance counts by version, status and starter, as signed deltas: database
    triggers on `process_instances` (migration 0018) add +1 for a row's new (version, status,
    starter) and -1 for its old one, whatever wrote it; the job `monitor_counters` folds the deltas
    into one row per key (engine.services.monitor_counters). Append-only between folds, so no two
    transactions ever wait for the same counter row."""

    __tablename__ = "instance_counts"
    __table_args__ = (Index("ix_instance_counts_process", "process_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    definition_id: Mapped[int] = mapped_column(Integer)
    process_key: Mapped[str] = mapped_column(String(128))
    status: Mapped[str] = mapped_column(String(16))
    started_by: Mapped[username | None]
    n: Mapped[int] = mapped_column(Integer)


class InstanceTrend(Base):
    """Instances started and finished per UTC hour (a local day is whole hours in the organisation's
    zone), process and starter, as deltas written by the same triggers and folded by the same job.
    Kept when history cleanup removes the instances: a past day's figures do not change."""

    __tablename__ = "instance_trend"
    __table_args__ = (Index("ix_instance_trend_hour", "hour"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    process_key: Mapped[str] = mapped_column(String(128))
    hour: Mapped[utc_datetime]
    started_by: Mapped[username | None]
    started: Mapped[int] = mapped_column(Integer)
    finished: Mapped[int] = mapped_column(Integer)


class OpenStep(Base):
    """Every open task's step, due time and holder: a trigger-maintained copy (migration 0018) of
    the few columns the monitor counts open and overdue steps by, so counting a process's open
    work reads this narrow table, not one page of `tasks` per open task."""

    __tablename__ = "open_steps"
    __table_args__ = (Index("ix_open_steps_process_step", "process_key", "task_key"),)

    task_id: Mapped[str] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"), primary_key=True)
    instance_id: Mapped[int] = mapped_column(Integer)
    process_key: Mapped[str] = mapped_column(String(128))
    task_key: Mapped[str] = mapped_column(String(128))
    name: Mapped[str] = mapped_column(String(200))
    due_at: Mapped[utc_datetime | None]
    assignee: Mapped[username | None]


class InstancePerson(Base):
    """Someone who took part in an instance: started it, held or completed one of its tasks (a
    trigger-maintained participant link, migration 0018; kept when the task moves on). Whose
    instances someone may list (engine.authorization) is a range of this table's key."""

    __tablename__ = "instance_people"
    __table_args__ = (Index("ix_instance_people_instance", "instance_id"),)  # for the cascade when an instance goes

    username: Mapped[str] = mapped_column(String(64), primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instances.id", ondelete="CASCADE"), primary_key=True)


class FieldCount(Base):
    """Instances by the value of a report field (a process package's `report_fields`), per local
    day started and starter, as deltas: written by the engine with the instance's data
    (engine.services.monitor_counters.record_fields), folded by the job `monitor_counters`."""

    __tablename__ = "field_counts"
    __table_args__ = (Index("ix_field_counts_field_day", "process_key", "name", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    process_key: Mapped[str] = mapped_column(String(128))
    name: Mapped[str] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(String(200))  # as stored in instance_fields; "" when not set
    day: Mapped[date] = mapped_column(Date)  # started, in the organisation's zone
    started_by: Mapped[username | None]
    n: Mapped[int] = mapped_column(Integer)


class CountedField(Base):
    """A (process, report field) whose field_counts are complete: built from the instances before it
    was counted, by the job, once (a report field a package adds later is built on its next run)."""

    __tablename__ = "counted_fields"

    process_key: Mapped[str] = mapped_column(String(128), primary_key=True)
    name: Mapped[str] = mapped_column(String(64), primary_key=True)


class CustomerAlias(Base):
    """A name a customer was also known by: a duplicate merged into it (engine.services.customer_merge).
    Process data naming it still links to the customer, and a new customer by it is a duplicate."""

    __tablename__ = "customer_aliases"

    name_norm: Mapped[str] = mapped_column(String(300), primary_key=True)  # engine.matching.company
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(300))  # as it was written
    created_at: Mapped[utc_datetime]


class Substitute(Base):
    """Out of office (代理人): while `username` is away (dates inclusive, in the working time zone)
    `substitute` sees and may act on the work offered or assigned to them; it ends by itself."""

    __tablename__ = "substitutes"
    __table_args__ = (Index("ix_substitutes_substitute_ends", "substitute", "ends_on"),)

    username: Mapped[username] = mapped_column(primary_key=True)  # one arrangement per absent person
    substitute: Mapped[username]
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    set_by: Mapped[username]
    set_at: Mapped[utc_datetime]


class Notification(Base):
    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_user_read", "username", "read"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[username]
    at: Mapped[utc_datetime]
    kind: Mapped[str] = mapped_column(String(32))
    message: Mapped[str] = mapped_column(Text)
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instances.id", ondelete="CASCADE"))
    task_id: Mapped[str | None] = mapped_column(String(36))
    customer_id: Mapped[int | None] = mapped_column(Integer)  # a notice about a customer (an activity's reminder) links to it
    read: Mapped[bool] = mapped_column(Boolean, default=False)


class Lead(Base):
    """A sales lead as captured, normalised for duplicate detection."""

    __tablename__ = "leads"

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instances.id", ondelete="SET NULL"))
    company: Mapped[str] = mapped_column(String(300))
    company_norm: Mapped[str] = mapped_column(String(300), index=True)
    phone_norm: Mapped[str | None] = mapped_column(String(64), index=True)
    email_norm: Mapped[str | None] = mapped_column(String(254), index=True)
    owner: Mapped[username | None]
    status: Mapped[str] = mapped_column(String(16), default="open")
    merged_into: Mapped[int | None] = mapped_column(ForeignKey("leads.id"))
    created_at: Mapped[utc_datetime]
    flagged_at: Mapped[utc_datetime | None]  # told its owner and the director it went untouched (engine.services.sweeps)
    last_touched_at: Mapped[utc_datetime | None]  # the latest activity logged on it


class Customer(Base):
    """The customer file (客户档案卡, seeds 004 and 003): created when a lead qualifies or by hand.

    `name_norm`, `phone_norm` and `email_norm` are engine.matching's normalised forms: a duplicate
    is refused by the same rule as leads. `last_touched_at`: the latest activity logged on it.
    """

    __tablename__ = "customers"
    __table_args__ = (
        Index("ix_customers_owner_status", "owner", "status"),
        # "Untouched for N days" and the longest-untouched order (engine.services.customers.last_touched).
        Index("ix_customers_touched", text("coalesce(last_touched_at, created_at)")),
        # Substring search over the normalised name: trigrams on PostgreSQL, a plain index on SQLite.
        Index("ix_customers_name_trgm", "name_norm", postgresql_using="gin", postgresql_ops={"name_norm": "gin_trgm_ops"}),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    name_norm: Mapped[str] = mapped_column(String(300), index=True)
    phone_norm: Mapped[str | None] = mapped_column(String(64), index=True)
    email_norm: Mapped[str | None] = mapped_column(String(254), index=True)
    status: Mapped[str] = mapped_column(String(16), default="potential")  # potential | trading | dormant | lost
    owner: Mapped[username | None]
    lead_id: Mapped[int | None] = mapped_column(ForeignKey("leads.id"))
    created_at: Mapped[utc_datetime]
    short_name: Mapped[str | None] = mapped_column(String(100))
    address: Mapped[str | None] = mapped_column(String(300))
    phone: Mapped[str | None] = mapped_column(String(64))
    email: Mapped[str | None] = mapped_column(String(254))
    website: Mapped[str | None] = mapped_column(String(200))
    industry: Mapped[str | None] = mapped_column(String(100), index=True)
    nature: Mapped[str | None] = mapped_column(String(100))  # company nature (企业性质)
    market: Mapped[str | None] = mapped_column(String(100))  # country / market
    trade_terms: Mapped[str | None] = mapped_column(Text)  # import/export rights, who clears and ships (seed 004)
    size: Mapped[str | None] = mapped_column(String(100))
    credit: Mapped[str | None] = mapped_column(String(100))  # credit status
    grade: Mapped[str | None] = mapped_column(String(1))  # value grade A/B/C
    notes: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[username | None]
    updated_at: Mapped[utc_datetime | None]
    last_touched_at: Mapped[utc_datetime | None] = mapped_column(index=True)


class Contact(Base):
    """A person at a customer (联系人资料, seed 003)."""

    __tablename__ = "contacts"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    title: Mapped[str | None] = mapped_column(String(100))
    phone: Mapped[str | None] = mapped_column(String(64))
    email: Mapped[str | None] = mapped_column(String(254))
    birthday: Mapped[date | None] = mapped_column(Date)
    relationship: Mapped[str | None] = mapped_column(String(32))  # how close: key | good | normal
    notes: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[utc_datetime]


class Activity(Base):
    """A call, visit, email, meeting or note on a customer (一般行动, seed 000), by someone or
    assigned to them; an optional next step is a reminder on its time (job `activity_reminder`)."""

    __tablename__ = "activities"
    __table_args__ = (
        Index("ix_activities_customer_at", "customer_id", "at"),
        # A person's open follow-ups due by a day (engine.services.activities): only the next steps
        # not done yet, a few per person however many activities they logged.
        Index(
            "ix_activities_follow_ups",
            "assignee",
            "next_at",
            postgresql_where=text("done_at IS NULL AND next_at IS NOT NULL"),
            sqlite_where=text("done_at IS NULL AND next_at IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # On a customer; or on one of its opportunities (both set); or on a lead before it became a
    # customer (lead only, until the qualification links its customer).
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    opportunity_id: Mapped[int | None] = mapped_column(ForeignKey("opportunities.id", ondelete="SET NULL"), index=True)
    lead_id: Mapped[int | None] = mapped_column(ForeignKey("leads.id", ondelete="SET NULL"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # call | visit | email | meeting | note
    summary: Mapped[str] = mapped_column(Text)
    at: Mapped[utc_datetime]
    created_by: Mapped[username]
    assignee: Mapped[username]  # whose activity it is (the creator, or a report a superior assigned it to)
    next_step: Mapped[str | None] = mapped_column(Text)
    next_at: Mapped[utc_datetime | None]
    done_at: Mapped[utc_datetime | None]  # the follow-up (next step) done, or dismissed, from the worklist
    created_at: Mapped[utc_datetime]


class Opportunity(Base):
    """A sales opportunity (销售机会, seeds 000 and 001): a qualified lead becomes one. Any stage
    change or activity on its customer touches it; 30 days untouched, the sales director is told."""

    __tablename__ = "opportunities"
    __table_args__ = (Index("ix_opportunities_owner_stage", "owner", "stage"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    title: Mapped[str] = mapped_column(String(300))
    estimated_value: Mapped[money | None]
    grade: Mapped[str | None] = mapped_column(String(1))
    owner: Mapped[username | None]
    stage: Mapped[str] = mapped_column(String(32), default="qualified")  # qualified | proposal | negotiation | won | lost
    created_at: Mapped[utc_datetime]
    expected_close: Mapped[date | None] = mapped_column(Date)
    last_touched_at: Mapped[utc_datetime | None]
    flagged_at: Mapped[utc_datetime | None]  # told its owner and the director it went untouched (engine.services.sweeps)


# Tables owned by the worklist UI live in their own module; importing it here keeps
# Base.metadata complete for migrations and create_all.
from store import ui_models  # noqa: E402,F401


class Attachment(Base):
    """A file attached to an instance (the contract PDF, the photo of the damaged carton): its
    bytes in the database, so the embedded set-up stays one file, or (`data` NULL, migration 0024)
    in the attachment directory under its sha256; removed with its instance."""

    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instances.id", ondelete="CASCADE"), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(128))  # as the product recognised the bytes, never as the client said
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_by: Mapped[username]
    uploaded_at: Mapped[utc_datetime]
    data: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)


class NotificationChannel(Base):
    """A group robot (WeCom, DingTalk, Feishu) or a JSON webhook that notifications also go to, as
    an admin configured it: which kinds (none: all) for which roles (none: everyone)."""

    __tablename__ = "notification_channels"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(16))  # wecom | dingtalk | feishu | webhook
    url: Mapped[str] = mapped_column(String(1000))
    secret: Mapped[str | None] = mapped_column(String(200))
    kinds: Mapped[str] = mapped_column(String(500), default="")
    roles: Mapped[str] = mapped_column(String(500), default="")
    locale: Mapped[str] = mapped_column(String(16), default="zh_CN")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[utc_datetime]


class Budget(Base):
    """A department's expense budget for one month (seed 000: 部门费用预算表), as finance set it."""

    __tablename__ = "budgets"

    department_code: Mapped[str] = mapped_column(String(64), primary_key=True)
    month: Mapped[str] = mapped_column(String(7), primary_key=True)  # YYYY-MM, in the organisation's zone
    amount: Mapped[money]
    updated_by: Mapped[username]
    updated_at: Mapped[utc_datetime]


class CalendarYear(Base):
    """A year's public holidays and make-up working days (调休) as an admin entered them: the
    business calendar (engine.calendar) takes them over the packaged data (chinesecalendar), for a
    correction or a year the package does not have yet."""

    __tablename__ = "calendar_years"

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    holidays: Mapped[list[str]] = mapped_column(JSON)  # ISO dates, sorted
    workdays: Mapped[list[str]] = mapped_column(JSON)  # ISO dates, sorted: weekend days worked
    updated_by: Mapped[username]
    updated_at: Mapped[utc_datetime]
