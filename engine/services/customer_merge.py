"""Merging two customer records into one (admins and the sales director; Odoo's and Salesforce's
habit for similar records): the kept customer takes the duplicate's contacts, activities,
opportunities, processes and notices, and every field it has empty; the duplicate is deleted;
one audited transaction, after a preview of what will move."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from engine.clock import aware
from engine.errors import NotFound, ValidationFailed
from engine.services.customers import TEXT_FIELDS
from engine.services.identity import Actor
from store.models import MAX_ID, Activity, Contact, Customer, CustomerAlias, Notification, Opportunity, ProcessInstance

if TYPE_CHECKING:
    from engine.authorization import Authorization
    from engine.services.history import HistoryService
    from store.db import Database

# What points at a customer, and moves with a merge.
LINKED = {"contacts": Contact, "activities": Activity, "opportunities": Opportunity, "instances": ProcessInstance, "notices": Notification}
# Fields a kept customer takes from the duplicate when its own is empty.
FILLED = (*TEXT_FIELDS, "grade", "phone_norm", "email_norm", "lead_id")


@dataclass
class MergePlan:
    keep: Customer
    duplicate: Customer
    moves: dict[str, int] = field(default_factory=dict)
    fills: dict[str, Any] = field(default_factory=dict)  # field -> the duplicate's value

    def as_dict(self) -> dict[str, Any]:
        return {
            "keep_id": self.keep.id,
            "duplicate_id": self.duplicate.id,
            "duplicate_name": self.duplicate.name,
            "moves": self.moves,
            "fills": sorted(self.fills),
        }


class CustomerMergeService:
    def __init__(self, *, authorization: Authorization, clock: Callable[[], datetime], db: Database, history: HistoryService) -> None:
        self._authorization = authorization
        self._clock = clock
        self._db = db
        self._history = history

    def _plan(self, session: Session, actor: Actor, keep_id: int, duplicate_id: Any, lock: bool = False) -> MergePlan:
        self._authorization.require_merge_customers(actor)
        if not isinstance(duplicate_id, int) or isinstance(duplicate_id, bool) or not 1 <= duplicate_id <= MAX_ID:
            raise ValidationFailed({"duplicate_id": "must be the id of another customer"})
        if duplicate_id == keep_id:
            raise ValidationFailed({"duplicate_id": "must be another customer than the one kept"})
        stmt = select(Customer).where(Customer.id.in_((keep_id, duplicate_id))).order_by(Customer.id)
        found = {c.id: c for c in session.scalars(stmt.with_for_update() if lock else stmt)}
        if keep_id not in found:
            raise NotFound(f"no customer {keep_id}")
        if duplicate_id not in found:
            raise ValidationFailed({"duplicate_id": f"no customer {duplicate_id}"})
        keep, duplicate = found[keep_id], found[duplicate_id]
        moves = {
            name: session.scalar(select(func.count()).select_from(model).where(model.customer_id == duplicate.id)) or 0
            for name, model in LINKED.items()
        }
        fills = {f: getattr(duplicate, f) for f in FILLED if getattr(keep, f) in (None, "") and getattr(duplicate, f) not in (None, "")}
        return MergePlan(keep, duplicate, moves, fills)

    def preview(self, session: Session, actor: Actor, keep_id: int, duplicate_id: Any) -> MergePlan:
        """What a merge would move and fill; changes nothing."""
        return self._plan(session, actor, keep_id, duplicate_id)

    def merge(self, actor: Actor, keep_id: int, duplicate_id: Any) -> MergePlan:
        with self._db.transaction() as session:
            plan = self._plan(session, actor, keep_id, duplicate_id, lock=True)
            keep, duplicate = plan.keep, plan.duplicate
            for model in LINKED.values():
                session.execute(
                    update(model)
                    .where(model.customer_id == duplicate.id)
                    .values(customer_id=keep.id)
                    .execution_options(synchronize_session=False)
                )
            for name, value in plan.fills.items():
                setattr(keep, name, value)
            touched = [aware(t) for t in (keep.last_touched_at, duplicate.last_touched_at) if t is not None]
            keep.last_touched_at = max(touched) if touched else None
            keep.updated_at = self._clock()
            details = {"customer_id": keep.id, "duplicate_id": duplicate.id, "duplicate_name": duplicate.name, **plan.moves}
            self._keep_names(session, keep, duplicate)
            session.delete(duplicate)
            self._history.record(session, actor.username, "customer_merge", data=details)
            return plan

    def _keep_names(self, session: Session, keep: Customer, duplicate: Customer) -> None:
        """The duplicate's name (and the names merged into it before) now mean the kept customer:
        process data naming them links to it, and a new customer by them is refused as its duplicate."""
        session.execute(
            update(CustomerAlias)
            .where(CustomerAlias.customer_id == duplicate.id)
            .values(customer_id=keep.id)
            .execution_options(synchronize_session=False)
        )
        if duplicate.name_norm and duplicate.name_norm != keep.name_norm and session.get(CustomerAlias, duplicate.name_norm) is None:
            session.add(CustomerAlias(name_norm=duplicate.name_norm, customer_id=keep.id, name=duplicate.name, created_at=self._clock()))
        session.flush()
