"""The daily check of the sales work (job `daily_sweep`, 09:00 in the organisation's zone), which
reschedules itself for the next day:

- every open lead and opportunity needs at least one activity a month (seed 000): one untouched for
  30 days is flagged to its owner and, in one summary, to the sales director, who may give it to
  someone else from the pipeline (seed 001: 对长期未接触的机会是否需转移给其他业务员); each is
  flagged once per untouched spell (`flagged_at`), again only after a touch and 30 more days;
- key contacts' birthdays remind the customer's owner on the day (seed 001: 关键联系人的生日关怀);
  a 29 February birthday on 28 February in other years.

The first job is written by the migration that added it; each run writes the next."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import and_, case, extract, func, or_, select
from sqlalchemy.orm import Session

from engine.clock import aware, next_local
from store.models import Contact, Customer, HistoryEvent, Job, Lead, Notification, Opportunity, ProcessInstance, Role, User, UserRole

if TYPE_CHECKING:
    from engine.config import Settings

SWEEP_KIND = "daily_sweep"
SWEEP_TIME = time(9, 0)
UNTOUCHED = timedelta(days=30)
DIRECTOR_ROLE = "sales_director"
CLOSED_STAGES = ("won", "lost")


@dataclass
class SweepResult:
    opportunities: list[int] = field(default_factory=list)
    leads: list[int] = field(default_factory=list)
    birthdays: list[int] = field(default_factory=list)


class SweepService:
    def __init__(self, *, clock: Callable[[], datetime], settings: Settings) -> None:
        self._clock = clock
        self._settings = settings

    def next_run(self, after: datetime) -> datetime:
        """The next 09:00 in the organisation's zone after `after`, in UTC (as every job is stored)."""
        return next_local(after, SWEEP_TIME, self._settings.timezone)

    def run(self, session: Session, job: Job, at: datetime) -> str:
        """The job: the checks, then the next day's job (a retried run schedules only one)."""
        self.sweep(session, at)
        due = self.next_run(at)
        pending = select(Job.id).where(Job.kind == SWEEP_KIND, Job.status == "pending", Job.id != job.id)
        if session.scalar(pending.limit(1)) is None:
            session.add(Job(kind=SWEEP_KIND, due_at=due, run_at=due, payload={}, created_at=at))
        return "fired"

    def sweep(self, session: Session, at: datetime) -> SweepResult:
        result = SweepResult()
        flagged: list[str] = []
        for opportunity, customer in self._untouched_opportunities(session, at):
            opportunity.flagged_at = at
            days = (at - aware(opportunity.last_touched_at or opportunity.created_at)).days  # type: ignore[operator]
            text = f"销售机会「{opportunity.title}」（{customer}）已 {days} 天没有跟进，请安排一般行动。"
            if opportunity.owner:
                self._notify(session, opportunity.owner, at, text, customer_id=opportunity.customer_id)
            flagged.append(f"{opportunity.title}（{customer}，{opportunity.owner or '—'}）")
            result.opportunities.append(opportunity.id)
        for lead, days in self._untouched_leads(session, at):
            lead.flagged_at = at
            text = f"销售线索「{lead.company}」已 {days} 天没有跟进，请安排一般行动。"
            if lead.owner:
                self._notify(session, lead.owner, at, text, instance_id=lead.instance_id)
            flagged.append(f"{lead.company}（{lead.owner or '—'}）")
            result.leads.append(lead.id)
        if flagged:
            summary = f"{len(flagged)} 个销售机会或线索超过 {UNTOUCHED.days} 天没有跟进，可转给其他业务员：" + "；".join(flagged[:20])
            summary += "……" if len(flagged) > 20 else ""
            for director in self._directors(session):
                self._notify(session, director, at, summary)
        result.birthdays = self._birthdays(session, at)
        return result

    def _untouched_opportunities(self, session: Session, at: datetime) -> list[tuple[Opportunity, str]]:
        touched = func.coalesce(Opportunity.last_touched_at, Opportunity.created_at)
        stmt = (
            select(Opportunity, Customer.name)
            .join(Customer, Customer.id == Opportunity.customer_id)
            .where(
                Opportunity.stage.not_in(CLOSED_STAGES),
                touched <= at - UNTOUCHED,
                or_(Opportunity.flagged_at.is_(None), Opportunity.flagged_at < touched),
            )
            .order_by(Opportunity.id)
        )
        return [(o, name) for o, name in session.execute(stmt)]

    def _untouched_leads(self, session: Session, at: datetime) -> list[tuple[Lead, int]]:
        """Open leads whose process nobody has acted on (a person's step, not a timer) for 30 days."""
        acted = (
            select(func.max(HistoryEvent.at))
            .where(HistoryEvent.instance_id == Lead.instance_id, HistoryEvent.user.is_not(None))
            .correlate(Lead)
            .scalar_subquery()
        )
        acted_or_created = func.coalesce(acted, Lead.created_at)
        # An activity logged on the lead touches it as much as a step of its process.
        touched = case((Lead.last_touched_at > acted_or_created, Lead.last_touched_at), else_=acted_or_created)
        stmt = (
            select(Lead, touched)
            .join(ProcessInstance, ProcessInstance.id == Lead.instance_id)
            .where(
                Lead.status == "open",
                ProcessInstance.status == "running",
                touched <= at - UNTOUCHED,
                or_(Lead.flagged_at.is_(None), Lead.flagged_at < touched),
            )
            .order_by(Lead.id)
        )
        return [(lead, (at - aware(last)).days) for lead, last in session.execute(stmt)]  # type: ignore[operator]

    def _directors(self, session: Session) -> list[str]:
        stmt = (
            select(User.username)
            .join(UserRole, UserRole.user_id == User.id)
            .join(Role, Role.id == UserRole.role_id)
            .where(Role.name == DIRECTOR_ROLE, User.active.is_(True))
            .order_by(User.username)
        )
        return list(session.scalars(stmt))

    def _birthdays(self, session: Session, at: datetime) -> list[int]:
        today = at.astimezone(self._settings.timezone).date()
        days = [(today.month, today.day)]
        if (today.month, today.day) == (2, 28) and not _leap(today.year):
            days.append((2, 29))
        on_day = or_(*(and_(extract("month", Contact.birthday) == m, extract("day", Contact.birthday) == d) for m, d in days))
        stmt = (
            select(Contact, Customer)
            .join(Customer, Customer.id == Contact.customer_id)
            .where(Contact.relationship == "key", Contact.birthday.is_not(None), on_day, Customer.owner.is_not(None))
            .order_by(Contact.id)
        )
        found = []
        for contact, customer in session.execute(stmt):
            title = f"（{contact.title}）" if contact.title else ""
            text = f"{customer.name}：关键联系人 {contact.name}{title}今天生日，别忘了问候。"
            self._notify(session, customer.owner, at, text, customer_id=customer.id, kind="birthday")  # type: ignore[arg-type]
            found.append(contact.id)
        return found

    @staticmethod
    def _notify(
        session: Session,
        username: str,
        at: datetime,
        message: str,
        *,
        customer_id: int | None = None,
        instance_id: int | None = None,
        kind: str = "untouched",
    ) -> None:
        session.add(Notification(username=username, at=at, kind=kind, message=message, customer_id=customer_id, instance_id=instance_id))


def _leap(year: int) -> bool:
    try:
        date(year, 2, 29)
    except ValueError:
        return False
    return True
