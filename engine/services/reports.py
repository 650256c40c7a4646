"""The monitor's reports for a period (local days, both included), over the caller's scope as the
monitor's other figures (engine.services.statistics.Scope: admins everything, a supervisor their
team):

- on time and late per step and per department (the performer's), from the daily roll-ups of
  completed steps (engine.services.step_rollups): a step is late when completed after its due time;
- approval cycle time per request type (requests finished in the period, start to end) and per
  approver (their approval steps, from being offered to deciding, from the roll-ups);
- lead conversion per source and owner: captured in the period -> qualified -> a customer trading;
- a process's instances started in the period counted by one of its business fields (complaints by
  category and by responsible department, approvals by request type, leads by source: the fields
  a process package names in `report_fields`), from their counters, with the
  rate per month and, given an order count, per 100 orders (投诉率)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session

from engine.clock import aware
from engine.errors import ValidationFailed
from engine.services.identity import Actor
from engine.services.monitor_counters import NOT_SET
from engine.services.statistics import Scope
from store.models import Customer, Department, FieldCount, InstanceField, Lead, ProcessInstance, StepRollup, User

if TYPE_CHECKING:
    from engine.authorization import Authorization
    from engine.config import Settings

MAX_DAYS = 366 * 2


@dataclass
class OnTime:
    key: tuple[str, ...]  # (process key, task key) or (department name,)
    completed: int = 0
    late: int = 0

    @property
    def on_time(self) -> int:
        return self.completed - self.late

    @property
    def on_time_rate(self) -> float | None:
        return round(100 * self.on_time / self.completed, 1) if self.completed else None


@dataclass
class Sla:
    steps: list[OnTime] = field(default_factory=list)
    departments: list[OnTime] = field(default_factory=list)


@dataclass
class FieldCounts:
    process_key: str
    field: str
    counts: list[tuple[str, int]] = field(default_factory=list)  # (stored text, instances), most first
    total: int = 0


@dataclass
class CycleTime:
    key: str  # a request type, or an approver's username
    count: int = 0
    seconds: float = 0.0

    @property
    def average_seconds(self) -> float | None:
        return self.seconds / self.count if self.count else None


@dataclass
class Approvals:
    by_type: list[CycleTime] = field(default_factory=list)  # requests finished in the period: start to end
    by_approver: list[CycleTime] = field(default_factory=list)  # approval steps completed: offered to decided


@dataclass
class Conversion:
    source: str
    owner: str
    captured: int = 0
    qualified: int = 0
    trading: int = 0  # its customer now trades (status `trading`)


@dataclass(frozen=True)
class Period:
    first: date
    last: date

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    @property
    def months(self) -> float:
        return self.days / 30.4375

    def rate_per_month(self, count: int) -> float:
        return round(count / self.months, 1)


class ReportService:
    def __init__(self, *, authorization: Authorization, clock: Callable[[], datetime], settings: Settings) -> None:
        self._authorization = authorization
        self._clock = clock
        self._settings = settings

    def period(self, first: date | None, last: date | None) -> Period:
        """The period asked for; the last 30 days to today by default; refused when backwards or too long."""
        today = self._clock().astimezone(self._settings.timezone).date()
        last = last or today
        first = first or last - timedelta(days=29)
        if first > last:
            raise ValidationFailed({"from": "must not be after the end of the period"})
        if (last - first).days >= MAX_DAYS:
            raise ValidationFailed({"from": f"the period is at most {MAX_DAYS} days"})
        return Period(first, last)

    def _scope(self, session: Session, actor: Actor) -> Scope:
        self._authorization.require_monitor(session, actor)
        return Scope(self._authorization.monitor_people(session, actor))

    def sla(self, session: Session, actor: Actor, period: Period) -> Sla:
        scope = self._scope(session, actor)
        in_period = and_(StepRollup.day >= period.first, StepRollup.day <= period.last)
        performers = scope.performers()
        conditions = [in_period] if performers is None else [in_period, performers]
        steps = session.execute(
            select(StepRollup.process_key, StepRollup.task_key, func.sum(StepRollup.completed), func.sum(StepRollup.late))
            .where(*conditions)
            .group_by(StepRollup.process_key, StepRollup.task_key)
            .order_by(StepRollup.process_key, StepRollup.task_key)
        )
        departments = session.execute(
            select(Department.name, func.sum(StepRollup.completed), func.sum(StepRollup.late))
            .select_from(StepRollup)
            .outerjoin(User, User.username == StepRollup.completed_by)
            .outerjoin(Department, Department.id == User.department_id)
            .where(*conditions)
            .group_by(Department.name)
        )
        report = Sla(
            [OnTime((p, t), int(c or 0), int(late or 0)) for p, t, c, late in steps],
            [OnTime((name or NOT_SET,), int(c or 0), int(late or 0)) for name, c, late in departments],
        )
        report.departments.sort(key=lambda d: (-d.completed, d.key))
        return report

    def counts_by_field(self, session: Session, actor: Actor, process_key: str, name: str, period: Period) -> FieldCounts:
        """The process's instances started in the period, by the value of one of its report fields
        (ProcessParts.report_fields), from their counters (engine.services.monitor_counters)."""
        scope = self._scope(session, actor)
        rows = session.execute(
            select(FieldCount.text, func.sum(FieldCount.n))
            .where(
                FieldCount.process_key == process_key,
                FieldCount.name == name,
                FieldCount.day >= period.first,
                FieldCount.day <= period.last,
                scope.instances(FieldCount.started_by),
            )
            .group_by(FieldCount.text)
        ).all()
        counts = sorted(((v or NOT_SET, int(n)) for v, n in rows if n), key=lambda c: (-c[1], c[0]))
        return FieldCounts(process_key, name, counts, sum(n for _v, n in counts))

    def _bounds(self, period: Period) -> tuple[datetime, datetime]:
        zone = self._settings.timezone
        start = datetime.combine(period.first, time.min, tzinfo=zone).astimezone(UTC)
        return start, datetime.combine(period.last + timedelta(days=1), time.min, tzinfo=zone).astimezone(UTC)

    def approvals(self, session: Session, actor: Actor, period: Period, process_key: str = "approval_chain") -> Approvals:
        scope = self._scope(session, actor)
        start, end = self._bounds(period)
        rows = session.execute(
            select(InstanceField.text, ProcessInstance.started_at, ProcessInstance.ended_at)
            .select_from(ProcessInstance)
            .outerjoin(InstanceField, and_(InstanceField.instance_id == ProcessInstance.id, InstanceField.name == "request_type"))
            .where(
                ProcessInstance.process_key == process_key,
                ProcessInstance.status == "completed",
                ProcessInstance.ended_at >= start,
                ProcessInstance.ended_at < end,
                scope.instances(),
            )
        )
        by_type: dict[str, CycleTime] = {}
        for request_type, started, ended in rows:
            entry = by_type.setdefault(request_type or NOT_SET, CycleTime(request_type or NOT_SET))
            entry.count += 1
            entry.seconds += max(0.0, (aware(ended) - aware(started)).total_seconds())  # type: ignore[operator]
        performers = scope.performers()
        conditions = [StepRollup.process_key == process_key, StepRollup.day >= period.first, StepRollup.day <= period.last]
        if performers is not None:
            conditions.append(performers)
        approvers = session.execute(
            select(StepRollup.completed_by, func.sum(StepRollup.completed), func.sum(StepRollup.seconds))
            .where(*conditions, StepRollup.task_key == "approve")
            .group_by(StepRollup.completed_by)
        )
        return Approvals(
            sorted(by_type.values(), key=lambda c: (-c.count, c.key)),
            sorted((CycleTime(who, int(n or 0), float(sec or 0)) for who, n, sec in approvers), key=lambda c: (-c.count, c.key)),
        )

    def lead_conversion(self, session: Session, actor: Actor, period: Period) -> list[Conversion]:
        """Leads captured in the period (duplicates merged away not counted), per source and owner."""
        scope = self._scope(session, actor)
        start, end = self._bounds(period)
        stmt = (
            select(
                InstanceField.text,
                Lead.owner,
                func.count(Lead.id.distinct()),
                func.count(case((Lead.status == "qualified", Lead.id)).distinct()),
                func.count(case((Customer.status == "trading", Lead.id)).distinct()),
            )
            .select_from(Lead)
            .outerjoin(InstanceField, and_(InstanceField.instance_id == Lead.instance_id, InstanceField.name == "source"))
            .outerjoin(Customer, Customer.lead_id == Lead.id)
            .where(Lead.created_at >= start, Lead.created_at < end, Lead.status != "merged")
            .group_by(InstanceField.text, Lead.owner)
        )
        if scope.people is not None:
            stmt = stmt.where(Lead.owner.in_(sorted(scope.people)))
        found = [Conversion(s_ or NOT_SET, o or NOT_SET, int(c), int(q), int(t)) for s_, o, c, q, t in session.execute(stmt)]
        return sorted(found, key=lambda c: (-c.captured, c.source, c.owner))
