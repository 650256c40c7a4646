"""Process statistics for the monitor (DOMAIN.md "Oversight", WfMC component 5): per process and
version the instances by status and the trend of starts and ends; per step of a process what is
open, overdue, completed and late in a period, and how long the step takes (p50 / p90, the
heatmap). Everything over the actor's scope (Scope): admins all, supervisors their organisation
subtree's work; others may not monitor.

Instance counts and the trend are read from the database's counters, open steps from their narrow
copy (engine.services.monitor_counters: migration 0018's triggers), completed steps from their
daily roll-ups (engine.services.step_rollups), written with each completion: no figure here reads
the instances or tasks themselves, except the short list of one step's waiting instances."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, and_, case, func, or_, select, true
from sqlalchemy.orm import Session

from engine.clock import aware
from engine.errors import NotFound
from engine.services import step_rollups
from engine.services.identity import Actor
from store.db import is_sqlite
from store.models import (
    InstanceCount,
    InstanceTrend,
    OpenStep,
    ProcessDefinition,
    ProcessInstance,
    Role,
    StepRollup,
    Task,
    TaskCandidate,
    User,
    UserRole,
)

if TYPE_CHECKING:
    from engine.authorization import Authorization
    from engine.config import Settings

STATUSES = ("running", "suspended", "completed", "terminated", "error")
TREND_DAYS = 30
PERIODS = (7, 30, 90, 365)  # days a step's completions are counted over
WAITING_SHOWN = 100


@dataclass
class VersionCounts:
    definition_id: int
    version: int
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(STATUSES, 0))


@dataclass
class ProcessSummary:
    key: str
    name: str
    versions: list[VersionCounts]
    counts: dict[str, int]
    open_tasks: int = 0
    overdue_tasks: int = 0
    started: list[int] = field(default_factory=list)  # per day, oldest first, TREND_DAYS long
    finished: list[int] = field(default_factory=list)


@dataclass
class StepStatistics:
    task_key: str
    name: str
    open: int = 0
    overdue: int = 0
    completed: int = 0
    late: int = 0
    avg_seconds: float | None = None
    p50_seconds: float | None = None
    p90_seconds: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "task_key": self.task_key,
            "name": self.name,
            "open": self.open,
            "overdue": self.overdue,
            "completed": self.completed,
            "late": self.late,
            "avg_seconds": _round(self.avg_seconds),
            "p50_seconds": _round(self.p50_seconds),
            "p90_seconds": _round(self.p90_seconds),
        }


@dataclass
class ProcessStatistics:
    key: str
    name: str
    definition_id: int
    since: datetime
    counts: dict[str, int]
    steps: list[StepStatistics]

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "name": self.name,
            "since": self.since.isoformat(),
            "instances": self.counts,
            "activities": [s.as_dict() for s in self.steps],
        }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


@dataclass(frozen=True)
class Scope:
    """Whose work the figures count: everyone's (admins), or a supervisor's team (themselves and
    everyone reporting to them, directly or not): the instances they started, the open steps they
    hold or that are offered to them or to their roles, the steps they completed."""

    people: frozenset[str] | None

    def instances(self, started_by: Any = ProcessInstance.started_by) -> ColumnElement[bool]:
        """Instances (or their counters, by their `started_by` column) started by the team."""
        return true() if self.people is None else started_by.in_(sorted(self.people))

    def open_tasks(self, task_id: Any = Task.id, assignee: Any = Task.assignee) -> ColumnElement[bool]:
        """Open tasks (rows of `tasks` or of `open_steps`) the team holds or is offered."""
        if self.people is None:
            return true()
        people = sorted(self.people)
        roles = (
            select(Role.name)
            .join(UserRole, UserRole.role_id == Role.id)
            .join(User, User.id == UserRole.user_id)
            .where(User.username.in_(people))
        )
        offered = select(TaskCandidate.task_id).where(
            ~TaskCandidate.claimed,  # an unassigned task's candidate rows are all unclaimed: fewer to match
            or_(
                and_(TaskCandidate.kind == "user", TaskCandidate.name.in_(people)),
                and_(TaskCandidate.kind == "role", TaskCandidate.name.in_(roles)),
            ),
        )
        return or_(assignee.in_(people), and_(assignee.is_(None), task_id.in_(offered)))

    def performers(self) -> ColumnElement[bool] | None:
        return None if self.people is None else StepRollup.completed_by.in_(sorted(self.people))


class StatisticsService:
    def __init__(self, *, authorization: Authorization, clock: Callable[[], datetime], settings: Settings) -> None:
        self._authorization = authorization
        self._clock = clock
        self._settings = settings

    def _scope(self, session: Session, actor: Actor) -> Scope:
        self._authorization.require_monitor(session, actor)
        return Scope(self._authorization.monitor_people(session, actor))

    def trend_days(self) -> list[date]:
        """The days of the trend, oldest first (today last), in the organisation's zone."""
        return self._days()[0]

    def _days(self) -> tuple[list[date], datetime]:
        zone = self._settings.timezone
        today = self._clock().astimezone(zone).date()
        days = [today - timedelta(days=n) for n in range(TREND_DAYS - 1, -1, -1)]
        return days, datetime.combine(days[0], time.min, tzinfo=zone).astimezone(UTC)

    def _local_day(self, session: Session, column: Any) -> Any:
        """The day, in the organisation's zone, of a stored UTC time (as ISO text)."""
        if is_sqlite(session.get_bind()):
            offset = self._clock().astimezone(self._settings.timezone).utcoffset() or timedelta()
            return func.date(column, f"{int(offset.total_seconds()) // 60:+d} minutes")
        return func.to_char(func.timezone(str(self._settings.timezone), column), "YYYY-MM-DD")

    # --- every process ------------------------------------------------------------------------

    def processes(self, session: Session, actor: Actor) -> list[ProcessSummary]:
        """Every process with its versions, counts by status, open and overdue steps, and the
        starts and ends of the last 30 days."""
        scope = self._scope(session, actor)
        definitions = session.execute(
            select(ProcessDefinition.id, ProcessDefinition.key, ProcessDefinition.name, ProcessDefinition.version).order_by(
                ProcessDefinition.key, ProcessDefinition.version
            )
        ).all()
        summaries: dict[str, ProcessSummary] = {}
        versions: dict[int, VersionCounts] = {}
        for d in definitions:
            summary = summaries.setdefault(d.key, ProcessSummary(d.key, d.name, [], dict.fromkeys(STATUSES, 0)))
            summary.name = d.name  # the latest version's name
            versions[d.id] = VersionCounts(d.id, d.version)
            summary.versions.append(versions[d.id])
        counted = session.execute(
            select(InstanceCount.definition_id, InstanceCount.status, func.sum(InstanceCount.n))
            .where(scope.instances(InstanceCount.started_by))
            .group_by(InstanceCount.definition_id, InstanceCount.status)
        )
        for definition_id, status, count in counted:
            if definition_id in versions and status in STATUSES:
                versions[definition_id].counts[status] += int(count or 0)
        for summary in summaries.values():
            for v in summary.versions:
                for status, count in v.counts.items():
                    summary.counts[status] += count
        now = self._clock()
        open_rows = session.execute(
            select(OpenStep.process_key, func.count(), func.sum(case((OpenStep.due_at < now, 1), else_=0)))
            .where(scope.open_tasks(OpenStep.task_id, OpenStep.assignee))
            .group_by(OpenStep.process_key)
        )
        for key, count, overdue in open_rows:
            if key in summaries:
                summaries[key].open_tasks, summaries[key].overdue_tasks = count, int(overdue or 0)
        days, since = self._days()
        index = {d.isoformat(): i for i, d in enumerate(days)}
        for summary in summaries.values():
            summary.started, summary.finished = [0] * len(days), [0] * len(days)
        day = self._local_day(session, InstanceTrend.hour)
        rows = session.execute(
            select(InstanceTrend.process_key, day, func.sum(InstanceTrend.started), func.sum(InstanceTrend.finished))
            .where(scope.instances(InstanceTrend.started_by), InstanceTrend.hour >= since)
            .group_by(InstanceTrend.process_key, day)
        )
        for key, on, started, finished in rows:
            if key in summaries and str(on) in index:
                summaries[key].started[index[str(on)]] += int(started or 0)
                summaries[key].finished[index[str(on)]] += int(finished or 0)
        return list(summaries.values())

    # --- one process, step by step --------------------------------------------------------------

    def process(self, session: Session, actor: Actor, key: str, days: int = 30, names: dict[str, str] | None = None) -> ProcessStatistics:
        """The latest version's steps with what is open and overdue now, and what was completed
        (and late) in the last `days`, with the step's average, p50 and p90 duration."""
        scope = self._scope(session, actor)
        definition = session.execute(
            select(ProcessDefinition.id, ProcessDefinition.name)
            .where(ProcessDefinition.key == key)
            .order_by(ProcessDefinition.version.desc())
            .limit(1)
        ).one_or_none()
        if definition is None:
            raise NotFound(f"no process '{key}'")
        now = self._clock()
        since = now - timedelta(days=days if days in PERIODS else 30)
        counts = dict.fromkeys(STATUSES, 0)
        for status, count in session.execute(
            select(InstanceCount.status, func.sum(InstanceCount.n))
            .where(InstanceCount.process_key == key, scope.instances(InstanceCount.started_by))
            .group_by(InstanceCount.status)
        ):
            if status in counts:
                counts[status] = int(count or 0)
        steps: dict[str, StepStatistics] = {}

        def step(task_key: str, name: str | None) -> StepStatistics:
            return steps.setdefault(task_key, StepStatistics(task_key, (names or {}).get(task_key) or name or task_key))

        for task_key, name, count, overdue in session.execute(
            select(OpenStep.task_key, func.min(OpenStep.name), func.count(), func.sum(case((OpenStep.due_at < now, 1), else_=0)))
            .where(OpenStep.process_key == key, scope.open_tasks(OpenStep.task_id, OpenStep.assignee))
            .group_by(OpenStep.task_key)
        ):
            s = step(task_key, name)
            s.open, s.overdue = count, int(overdue or 0)
        first_day = since.astimezone(self._settings.timezone).date()
        for task_key, done in step_rollups.figures(session, key, first_day, scope.performers()).items():
            s = step(task_key, None)
            s.completed, s.late = done.completed, done.late
            s.avg_seconds, s.p50_seconds, s.p90_seconds = done.average, done.percentile(0.5), done.percentile(0.9)
        return ProcessStatistics(key, definition.name, definition.id, since, counts, sorted(steps.values(), key=lambda s: s.task_key))

    def waiting(self, session: Session, actor: Actor, key: str, task_key: str, limit: int = WAITING_SHOWN) -> tuple[list[Task], int]:
        """The open tasks at one step, oldest first (the instances waiting there), and how many."""
        scope = self._scope(session, actor)
        where = (Task.status == "open", Task.process_key == key, Task.task_key == task_key, scope.open_tasks())
        total = session.scalar(select(func.count()).select_from(Task).where(*where)) or 0
        rows = session.scalars(select(Task).where(*where).order_by(Task.created_at, Task.id).limit(limit))
        return list(rows), total

    @staticmethod
    def age(task: Task, now: datetime) -> timedelta:
        return now - aware(task.created_at)  # type: ignore[operator]
