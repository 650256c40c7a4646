"""Sales opportunities (销售机会, DOMAIN.md "Sales work between processes"): stages from qualified
to won or lost, value, expected close, and how long each has gone untouched (any activity on its
customer or stage change touches it). The pipeline board per owner and for the director; after 30
days untouched an opportunity is flagged and the director may give it to someone else (seed 001)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from engine import operations
from engine.clock import aware
from engine.errors import NotFound, ValidationFailed
from engine.services.identity import Actor
from store.models import MAX_ID, Customer, Opportunity, User

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from engine.authorization import Authorization
    from engine.services.history import HistoryService
    from store.db import Database

STAGES = ("qualified", "proposal", "negotiation", "won", "lost")
OPEN_STAGES = ("qualified", "proposal", "negotiation")
UNTOUCHED_DAYS = 30  # seed 001: the director decides whether to move it to another salesperson
BOARD_LIMIT = 500
last_touched = func.coalesce(Opportunity.last_touched_at, Opportunity.created_at)


@dataclass
class Card:
    opportunity: Opportunity
    customer: str
    untouched_days: int

    @property
    def flagged(self) -> bool:
        return self.opportunity.stage in OPEN_STAGES and self.untouched_days >= UNTOUCHED_DAYS


class OpportunityService:
    def __init__(self, *, authorization: Authorization, clock: Callable[[], datetime], db: Database, history: HistoryService) -> None:
        self._authorization = authorization
        self._clock = clock
        self._db = db
        self._history = history

    def query(
        self, session: Session, actor: Actor, owner: str | None = None, untouched_days: int | None = None, stage: str | None = None
    ) -> list[Card]:
        """The opportunities the actor may see, longest untouched first (at most 500)."""
        now = self._clock()
        stmt = (
            select(Opportunity, Customer.name)
            .join(Customer, Customer.id == Opportunity.customer_id)
            .where(self._authorization.opportunities_clause(session, actor))
        )
        if owner:
            stmt = stmt.where(Opportunity.owner == owner)
        if stage in STAGES:
            stmt = stmt.where(Opportunity.stage == stage)
        if untouched_days:
            stmt = stmt.where(Opportunity.stage.in_(OPEN_STAGES), last_touched < now - timedelta(days=untouched_days))
        rows = session.execute(stmt.order_by(last_touched, Opportunity.id).limit(BOARD_LIMIT)).all()
        return [Card(o, name, (now - aware(o.last_touched_at or o.created_at)).days) for o, name in rows]  # type: ignore[operator]

    def board(self, session: Session, actor: Actor, owner: str | None = None) -> dict[str, list[Card]]:
        """The pipeline: the stages in order, each with its cards."""
        columns: dict[str, list[Card]] = {s: [] for s in STAGES}
        for card in self.query(session, actor, owner):
            columns[card.opportunity.stage].append(card)
        return columns

    def open_of(self, session: Session, customer_id: int) -> list[Opportunity]:
        """A customer's open opportunities, newest first (what an activity on it may be about)."""
        stmt = select(Opportunity).where(Opportunity.customer_id == customer_id, Opportunity.stage.in_(OPEN_STAGES))
        return list(session.scalars(stmt.order_by(Opportunity.created_at.desc(), Opportunity.id.desc()).limit(50)))

    def get(self, session: Session, actor: Actor, opportunity_id: int) -> Opportunity:
        opportunity = session.get(Opportunity, opportunity_id) if 0 < opportunity_id <= MAX_ID else None
        visible = opportunity is not None and session.scalar(
            select(func.count()).where(Opportunity.id == opportunity_id, self._authorization.opportunities_clause(session, actor))
        )
        if opportunity is None or not visible:
            raise NotFound(f"no opportunity {opportunity_id}")
        return opportunity

    def update(self, actor: Actor, opportunity_id: int, data: Mapping[str, Any]) -> Opportunity:
        """Stage, value, expected close date; a change touches it."""
        errors: dict[str, str] = {}
        values: dict[str, Any] = {}
        if "stage" in data:
            if data["stage"] not in STAGES:
                errors["stage"] = f"must be one of {', '.join(STAGES)}"
            else:
                values["stage"] = data["stage"]
        if "estimated_value" in data:
            value = data["estimated_value"]
            try:
                number = None if value in (None, "") else float(value)
            except (TypeError, ValueError):
                number = -1.0
            if number is not None and not (0 <= number < 1e13):
                errors["estimated_value"] = "must be at least 0"
            else:
                values["estimated_value"] = number
        if "expected_close" in data:
            try:
                values["expected_close"] = date.fromisoformat(str(data["expected_close"])) if data["expected_close"] else None
            except ValueError:
                errors["expected_close"] = "must be a date (YYYY-MM-DD)"
        with self._db.transaction() as session:
            opportunity = self.get(session, actor, opportunity_id)
            self._authorization.check_edit_opportunity(session, actor, opportunity)
            if errors:
                raise ValidationFailed(errors)
            changed = {k: v for k, v in values.items() if getattr(opportunity, k) != v}
            for key, value in changed.items():
                setattr(opportunity, key, value)
            if changed:
                opportunity.last_touched_at = self._clock()
                shown = {k: (v.isoformat() if isinstance(v, date) else v) for k, v in changed.items()}
                self._history.record(session, actor.username, "opportunity_update", data={"opportunity_id": opportunity.id, **shown})
            return opportunity

    def assign(self, actor: Actor, opportunity_id: int, username: Any) -> Opportunity:
        """Give it to another salesperson (the director, the owner's superiors); they are told."""
        with self._db.transaction() as session:
            opportunity = self.get(session, actor, opportunity_id)
            self._authorization.check_reassign_opportunity(session, actor, opportunity)
            if (
                not isinstance(username, str)
                or session.scalar(select(User.id).where(User.username == username, User.active.is_(True))) is None
            ):
                raise ValidationFailed({"username": "no active user with this name"})
            before = opportunity.owner
            opportunity.owner = username
            self._history.record(
                session, actor.username, "opportunity_assign", data={"opportunity_id": opportunity.id, "from": before, "to": username}
            )
            if username != actor.username:
                now = self._clock()
                customer = session.get(Customer, opportunity.customer_id)
                with operations.action(operations.ActionContext(session=session, actor=actor.username, now=now)):
                    operations.notify([username], "assigned", f"销售机会：{opportunity.title}（{customer.name if customer else ''}）")
            return opportunity
