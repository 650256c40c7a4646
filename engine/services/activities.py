"""Activities (一般行动, DOMAIN.md "Sales work between processes"): a call, visit, email, meeting
or note logged on a customer, on one of its opportunities, or on a lead before it is a customer;
superiors assign them to their reports (seed 000). An optional next step is a reminder at its time
(job `activity_reminder`) and, from its day on, a follow-up in its assignee's worklist until it is
done. Logging touches what it is about (the customer, its open opportunities or the one named, the
lead), which the daily check (engine.services.sweeps) reads."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from engine import config
from engine.clock import aware, iso
from engine.errors import Conflict, NotFound, ValidationFailed
from engine.services import fields
from engine.services.identity import Actor
from engine.services.opportunities import OPEN_STAGES
from store.models import MAX_ID, Activity, Customer, Job, Lead, Notification, Opportunity, User

if TYPE_CHECKING:
    from engine.authorization import Authorization
    from engine.services.history import HistoryService
    from engine.services.identity import IdentityService
    from engine.services.opportunities import OpportunityService
    from store.db import Database

ACTIVITY_KINDS = ("call", "visit", "email", "meeting", "note")
MAX_TEXT = 2000
REMINDER_KIND = "activity_reminder"
FOLLOW_UPS_SHOWN = 50  # the worklist's card; more than this is a backlog the count tells of


@dataclass(frozen=True)
class Target:
    """What an activity is about: a customer (maybe one of its opportunities), or an open lead."""

    customer: Customer | None = None
    opportunity: Opportunity | None = None
    lead: Lead | None = None

    @property
    def name(self) -> str:
        if self.customer is not None:
            return self.customer.name
        return self.lead.company if self.lead is not None else ""


@dataclass(frozen=True)
class FollowUp:
    """A next step that has come due: what to do, about whom, and where to go for it."""

    activity_id: int
    step: str
    kind: str
    next_at: datetime
    about: str
    customer_id: int | None
    opportunity: str | None
    lead_instance_id: int | None
    overdue: bool
    assignee: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.activity_id,
            "next_step": self.step,
            "kind": self.kind,
            "next_at": iso(self.next_at),
            "about": self.about,
            "customer_id": self.customer_id,
            "opportunity": self.opportunity,
            "instance_id": self.lead_instance_id,
            "overdue": self.overdue,
            "assignee": self.assignee,
        }


def when(value: Any, name: str, errors: dict[str, str]) -> datetime | None:
    """An ISO date-time (or date) with its zone; a date without a time means 09:00 in the
    organisation's zone."""
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) > 40:
        errors[name] = "must be an ISO date or date-time"
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        errors[name] = "must be an ISO date or date-time"
        return None
    if len(value) <= 10:  # a day: the morning of that day, in the organisation's zone
        parsed = parsed.replace(hour=9)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=config.current().timezone)
    try:
        return parsed.astimezone(UTC)
    except OverflowError:  # year 9999 and an offset
        errors[name] = "must be an ISO date or date-time"
        return None


class ActivityService:
    def __init__(
        self,
        *,
        authorization: Authorization,
        clock: Callable[[], datetime],
        db: Database,
        history: HistoryService,
        identity: IdentityService,
        opportunities: OpportunityService,
    ) -> None:
        self._authorization = authorization
        self._clock = clock
        self._db = db
        self._history = history
        self._identity = identity
        self._opportunities = opportunities

    # --- logging ------------------------------------------------------------------------------

    def on_customer(self, actor: Actor, customer_id: int, data: Mapping[str, Any]) -> Activity:
        """An activity on a customer; with `opportunity_id` on that one of its opportunities."""
        checked = self._checked(data)
        with self._db.transaction() as session:
            customer = self._customer(session, actor, customer_id)
            opportunity = None
            if data.get("opportunity_id") not in (None, ""):
                opportunity = self._opportunity_of(session, actor, customer, data["opportunity_id"])
            return self._log(session, actor, Target(customer=customer, opportunity=opportunity), checked)

    def on_opportunity(self, actor: Actor, opportunity_id: int, data: Mapping[str, Any]) -> Activity:
        checked = self._checked(data)
        with self._db.transaction() as session:
            opportunity = self._opportunities.get(session, actor, opportunity_id)
            customer = session.get(Customer, opportunity.customer_id)
            return self._log(session, actor, Target(customer=customer, opportunity=opportunity), checked)

    def on_lead(self, actor: Actor, lead_id: int, data: Mapping[str, Any]) -> Activity:
        """An activity on an open lead (once qualified, it is logged on its customer instead)."""
        checked = self._checked(data)
        with self._db.transaction() as session:
            lead = self.lead(session, actor, lead_id)
            if lead.status != "open":
                raise Conflict(f"lead {lead_id} is {lead.status}: log the activity on its customer")
            return self._log(session, actor, Target(lead=lead), checked)

    def lead(self, session: Session, actor: Actor, lead_id: int) -> Lead:
        lead = session.get(Lead, lead_id) if isinstance(lead_id, int) and 0 < lead_id <= MAX_ID else None
        if lead is None or not self._authorization.may_view_lead(session, actor, lead):
            raise NotFound(f"no lead {lead_id}")
        return lead

    def of_instance(self, session: Session, instance_id: int) -> tuple[Lead | None, list[Activity]]:
        """The lead a lead_qualification instance captured and its activities, newest first (the
        instance page, whose viewer may see the lead)."""
        lead = session.scalar(select(Lead).where(Lead.instance_id == instance_id).limit(1))
        if lead is None:
            return None, []
        stmt = select(Activity).where(Activity.lead_id == lead.id).order_by(Activity.at.desc(), Activity.id.desc()).limit(200)
        return lead, list(session.scalars(stmt))

    def _customer(self, session: Session, actor: Actor, customer_id: int) -> Customer:
        if not isinstance(customer_id, int) or not 0 < customer_id <= MAX_ID:
            raise NotFound(f"no customer {customer_id}")
        return self._authorization.require_view_customer(session, actor, session.get(Customer, customer_id), customer_id)

    def _opportunity_of(self, session: Session, actor: Actor, customer: Customer, value: Any) -> Opportunity:
        try:
            opportunity_id = int(value)
        except (TypeError, ValueError):
            raise ValidationFailed({"opportunity_id": "must be an opportunity of this customer"}) from None
        opportunity = session.get(Opportunity, opportunity_id) if 0 < opportunity_id <= MAX_ID else None
        if opportunity is None or opportunity.customer_id != customer.id:
            raise ValidationFailed({"opportunity_id": "must be an opportunity of this customer"})
        return opportunity

    def _checked(self, data: Mapping[str, Any]) -> dict[str, Any]:
        """The activity's own fields, validated before anything is read or written."""
        if not isinstance(data, Mapping):
            raise ValidationFailed({"body": "must be an object"})
        errors: dict[str, str] = {}
        kind = data.get("kind")
        if kind in (None, ""):
            errors["kind"] = "is required"
        elif kind not in ACTIVITY_KINDS:
            errors["kind"] = f"must be one of {', '.join(ACTIVITY_KINDS)}"
        summary = fields.text(data, "summary", errors, limit=MAX_TEXT)
        if not summary and "summary" not in errors:
            errors["summary"] = "is required"
        next_step = fields.text(data, "next_step", errors, limit=MAX_TEXT) or None
        now = self._clock()
        at = when(data.get("at"), "at", errors) or now
        next_at = when(data.get("next_at"), "next_at", errors)
        if next_at is not None and next_at <= now:
            errors["next_at"] = "must be in the future"
        if next_step and next_at is None and "next_at" not in errors:
            errors["next_at"] = "is required for a next step"
        assignee = data.get("assignee") or None
        if assignee is not None and (not isinstance(assignee, str) or len(assignee) > 64):
            errors["assignee"] = "must be a username"
        if errors:
            raise ValidationFailed(errors)
        return {"kind": kind, "summary": summary, "at": at, "next_step": next_step, "next_at": next_at, "assignee": assignee}

    def _log(self, session: Session, actor: Actor, target: Target, checked: Mapping[str, Any]) -> Activity:
        now = self._clock()
        assignee = checked["assignee"] or actor.username
        if assignee != actor.username:
            if not session.scalar(select(User.id).where(User.username == assignee, User.active.is_(True))):
                raise ValidationFailed({"assignee": "must be an active user"})
            self._authorization.check_activity_assignee(session, actor, assignee)
        at: datetime = checked["at"]
        activity = Activity(
            customer_id=target.customer.id if target.customer else None,
            opportunity_id=target.opportunity.id if target.opportunity else None,
            lead_id=target.lead.id if target.lead else None,
            kind=checked["kind"],
            summary=checked["summary"],
            at=at,
            created_by=actor.username,
            assignee=assignee,
            next_step=checked["next_step"],
            next_at=checked["next_at"],
            created_at=now,
        )
        session.add(activity)
        session.flush()
        self._touch(session, target, at, now)
        if activity.next_at is not None:
            session.add(
                Job(
                    kind=REMINDER_KIND,
                    due_at=activity.next_at,
                    run_at=activity.next_at,
                    payload={"activity_id": activity.id},
                    created_at=now,
                )
            )
        if assignee != actor.username:
            session.add(
                Notification(
                    username=assignee,
                    at=now,
                    kind="activity",
                    message=f"{target.name}：{activity.summary}",
                    customer_id=activity.customer_id,
                    instance_id=target.lead.instance_id if target.lead else None,
                )
            )
        self._history.record(
            session,
            actor.username,
            "activity_create",
            data={
                "customer_id": activity.customer_id,
                "opportunity_id": activity.opportunity_id,
                "lead_id": activity.lead_id,
                "kind": activity.kind,
                "assignee": assignee,
            },
        )
        return activity

    @staticmethod
    def _touch(session: Session, target: Target, at: datetime, now: datetime) -> None:
        """What the activity is about was touched: the customer (by the activity's time), the named
        opportunity or else all its open ones, the lead."""
        if target.customer is not None and (target.customer.last_touched_at is None or at > aware(target.customer.last_touched_at)):  # type: ignore[operator]
            target.customer.last_touched_at = at
        if target.opportunity is not None:
            target.opportunity.last_touched_at = now
        elif target.customer is not None:
            session.execute(
                update(Opportunity)
                .where(Opportunity.customer_id == target.customer.id, Opportunity.stage.in_(OPEN_STAGES))
                .values(last_touched_at=now)
                .execution_options(synchronize_session=False)
            )
        if target.lead is not None:
            target.lead.last_touched_at = now

    # --- follow-ups ---------------------------------------------------------------------------

    def _day_ends(self) -> tuple[datetime, datetime]:
        """Today's start and tomorrow's start in the organisation's zone, in UTC."""
        zone = config.current().timezone
        today = self._clock().astimezone(zone).date()
        start = datetime.combine(today, time.min, tzinfo=zone)
        return start.astimezone(UTC), (start + timedelta(days=1)).astimezone(UTC)

    def follow_ups(self, session: Session, actor: Actor, limit: int = FOLLOW_UPS_SHOWN) -> tuple[list[FollowUp], int]:
        """The actor's next steps due today or earlier and not yet done, oldest first, and how many."""
        today, tomorrow = self._day_ends()
        # Out of office, the absent person's follow-ups too (their substitute may close them).
        people = [actor.username, *(p.username for p in self._identity.principals(session, actor.username))]
        due = (Activity.assignee.in_(people), Activity.next_at < tomorrow, Activity.done_at.is_(None))
        rows = session.execute(
            select(Activity, Customer.name, Opportunity.title, Lead.company, Lead.instance_id)
            .outerjoin(Customer, Customer.id == Activity.customer_id)
            .outerjoin(Opportunity, Opportunity.id == Activity.opportunity_id)
            .outerjoin(Lead, Lead.id == Activity.lead_id)
            .where(*due)
            .order_by(Activity.next_at, Activity.id)
            .limit(limit)
        ).all()
        total = len(rows)
        if total == limit:
            total = session.scalar(select(func.count()).select_from(Activity).where(*due)) or 0
        items = [
            FollowUp(
                activity_id=a.id,
                step=a.next_step or a.summary,
                kind=a.kind,
                next_at=aware(a.next_at),  # type: ignore[arg-type]
                about=customer or company or "",
                customer_id=a.customer_id,
                opportunity=title,
                lead_instance_id=instance_id if a.customer_id is None else None,
                overdue=aware(a.next_at) < today,  # type: ignore[operator]
                assignee=a.assignee,
            )
            for a, customer, title, company, instance_id in rows
        ]
        return items, total

    def done(self, actor: Actor, activity_id: int, data: Mapping[str, Any]) -> Activity | None:
        """The follow-up is done (or dismissed). With a `summary`, what was done is logged as a new
        activity on the same customer, opportunity or lead (and may carry the next step after it).
        Its assignee, whoever assigned it, and those who stand in for the assignee close it."""
        if not isinstance(data, Mapping):
            raise ValidationFailed({"body": "must be an object"})
        outcome = self._checked({**data, "kind": data.get("kind") or "note"}) if data.get("summary") else None
        with self._db.transaction() as session:
            activity = session.get(Activity, activity_id) if isinstance(activity_id, int) and 0 < activity_id <= MAX_ID else None
            if activity is None or activity.next_at is None or not self._authorization.may_close_follow_up(session, actor, activity):
                raise NotFound(f"no follow-up {activity_id}")
            if activity.done_at is not None:
                raise Conflict(f"follow-up {activity_id} is already done")
            activity.done_at = self._clock()
            self._history.record(session, actor.username, "follow_up_done", data={"activity_id": activity.id})
            if outcome is None:
                return None
            target = Target(
                customer=session.get(Customer, activity.customer_id) if activity.customer_id else None,
                opportunity=session.get(Opportunity, activity.opportunity_id) if activity.opportunity_id else None,
                lead=session.get(Lead, activity.lead_id) if activity.lead_id and not activity.customer_id else None,
            )
            return self._log(session, actor, target, outcome)

    def remind(self, session: Session, job: Job, at: datetime) -> str:
        """The job of an activity's next step: a reminder notification for its assignee."""
        activity = session.get(Activity, (job.payload or {}).get("activity_id"))
        if activity is None or activity.next_at is None or activity.done_at is not None:
            return "obsolete"
        if activity.customer_id is not None:
            about = session.scalar(select(Customer.name).where(Customer.id == activity.customer_id)) or ""
            instance_id = None
        else:
            lead = session.get(Lead, activity.lead_id) if activity.lead_id else None
            about, instance_id = (lead.company, lead.instance_id) if lead else ("", None)
        step = activity.next_step or activity.summary
        session.add(
            Notification(
                username=activity.assignee,
                at=at,
                kind="reminder",
                message=f"{about}：{step}",
                customer_id=activity.customer_id,
                instance_id=instance_id,
            )
        )
        return "fired"
