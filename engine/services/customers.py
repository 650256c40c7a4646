"""The customer file (DOMAIN.md "Around the processes"): customers, their contacts, the activities
logged on them with their reminders, and the timeline of everything about a customer across the
processes. Who may see and change what is decided by engine.authorization; every change is in the
history (audit log)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, Select, false, func, or_, select
from sqlalchemy.orm import Session, defer

from engine import matching, process_parts
from engine.errors import Conflict, NotFound, ValidationFailed
from engine.services import customer_links, fields
from engine.services.identity import Actor
from store.models import MAX_ID, Activity, Contact, Customer, CustomerAlias, Opportunity, ProcessInstance, User

if TYPE_CHECKING:
    from engine.authorization import Authorization
    from engine.services.history import HistoryService
    from engine.services.identity import IdentityService
    from store.db import Database

STATUSES = ("potential", "trading", "dormant", "lost")
GRADES = ("A", "B", "C")
RELATIONSHIPS = ("key", "good", "normal")
SORTS = ("name", "-created", "touched", "-touched")
PAGE_SIZE = 25
MAX_TEXT = 2000
MAX_TIMELINE = 500
# Free-text fields of the file and their lengths (the columns of store.models.Customer).
TEXT_FIELDS: dict[str, int] = {
    "short_name": 100,
    "address": 300,
    "phone": 64,
    "email": 254,
    "website": 200,
    "industry": 100,
    "nature": 100,
    "market": 100,
    "trade_terms": MAX_TEXT,
    "size": 100,
    "credit": 100,
    "notes": MAX_TEXT,
}
CONTACT_FIELDS: dict[str, int] = {"title": 100, "phone": 64, "email": 254, "notes": MAX_TEXT}
# The process whose instances are which kind of timeline entry.
TIMELINE_KINDS = {
    "lead_qualification": "lead",
    "complaint_handling": "complaint",
    "approval_chain": "approval",
    "receivable_collection": "receivable",
}


# When a customer was last touched: its latest activity, else its creation (indexed, migration 0010).
last_touched = func.coalesce(Customer.last_touched_at, Customer.created_at)


class Duplicate(Conflict):
    """A customer with the same normalised name, phone or email exists (its id in `existing_id`)."""

    code = "duplicate"


@dataclass(frozen=True)
class CustomerFilter:
    """One customer-list query, built from request parameters; unknown values fall back to defaults."""

    q: str | None = None
    owner: str | None = None
    status: str | None = None
    grade: str | None = None
    industry: str | None = None
    untouched_days: int | None = None
    sort: str = "name"

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> CustomerFilter:
        def text(name: str, limit: int) -> str | None:
            value = params.get(name)
            return " ".join(value.split())[:limit] or None if isinstance(value, str) else None

        def pick(name: str, allowed: tuple[str, ...]) -> str | None:
            value = params.get(name)
            return value if isinstance(value, str) and value in allowed else None

        days = params.get("untouched_days")
        untouched = int(days) if isinstance(days, str) and days.isdigit() and 0 < int(days) <= 3650 else None
        return cls(
            q=text("q", 100),
            owner=text("owner", 64),
            status=pick("status", STATUSES),
            grade=pick("grade", GRADES),
            industry=text("industry", 100),
            untouched_days=untouched,
            sort=pick("sort", SORTS) or "name",
        )

    def params(self) -> dict[str, str]:
        values = {
            "q": self.q,
            "owner": self.owner,
            "status": self.status,
            "grade": self.grade,
            "industry": self.industry,
            "untouched_days": str(self.untouched_days) if self.untouched_days else None,
            "sort": self.sort if self.sort != "name" else None,
        }
        return {k: v for k, v in values.items() if v}


@dataclass
class TimelineEntry:
    at: datetime
    kind: str  # lead | complaint | approval | receivable | activity | opportunity | other
    summary: str
    instance_id: int | None = None
    status: str | None = None
    by: str | None = None
    activity_kind: str | None = None
    next_step: str | None = None
    next_at: datetime | None = None
    about: str | None = None  # the opportunity an activity was about

    def as_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"at": self.at, "kind": self.kind, "summary": self.summary}
        for key in ("instance_id", "status", "by", "activity_kind", "next_step", "about"):
            if getattr(self, key) is not None:
                body[key] = getattr(self, key)
        return body


def _choice(data: Mapping[str, Any], name: str, allowed: tuple[str, ...], errors: dict[str, str]) -> str | None:
    value = data.get(name)
    if value is None or value == "":
        return None
    if value not in allowed:
        errors[name] = f"must be one of {', '.join(allowed)}"
        return None
    return str(value)


class CustomerService:
    def __init__(
        self,
        *,
        authorization: Authorization,
        clock: Callable[[], datetime],
        db: Database,
        history: HistoryService,
        identity: IdentityService,
    ) -> None:
        self._authorization = authorization
        self._clock = clock
        self._db = db
        self._history = history
        self._identity = identity

    # --- reading ------------------------------------------------------------------------------

    def _statement(self, session: Session, actor: Actor, f: CustomerFilter) -> Select[tuple[Customer]]:
        stmt = select(Customer).where(self._authorization.customers_clause(session, actor))
        if f.q:
            # The normalised name (a trigram index on PostgreSQL, migration 0010), or the phone.
            norm = matching.company(f.q)
            clauses: list[ColumnElement[bool]] = [Customer.name_norm.contains(norm, autoescape=True)] if norm else []
            if (phone := matching.phone(f.q)) is not None and len(phone) >= 5:
                clauses.append(Customer.phone_norm == phone)
            stmt = stmt.where(or_(*clauses) if clauses else false())
        if f.owner:
            stmt = stmt.where(Customer.owner == f.owner)
        if f.status:
            stmt = stmt.where(Customer.status == f.status)
        if f.grade:
            stmt = stmt.where(Customer.grade == f.grade)
        if f.industry:
            stmt = stmt.where(Customer.industry == f.industry)
        if f.untouched_days:
            since = self._clock() - timedelta(days=f.untouched_days)
            stmt = stmt.where(last_touched < since)
        return stmt

    def query(
        self, session: Session, actor: Actor, f: CustomerFilter, page: int = 1, per_page: int = PAGE_SIZE
    ) -> tuple[list[Customer], int, int]:
        """A page of the customers the actor may see, how many match, and the page shown."""
        stmt = self._statement(session, actor, f)
        total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
        pages = max(1, -(-total // per_page))
        page = max(1, min(page, pages))
        order = {
            "name": [Customer.name_norm],
            "-created": [Customer.created_at.desc()],
            "touched": [last_touched],
            "-touched": [last_touched.desc()],
        }[f.sort]
        rows = session.scalars(stmt.order_by(*order, Customer.id).limit(per_page).offset((page - 1) * per_page))
        return list(rows), total, page

    def get(self, session: Session, actor: Actor, customer_id: int) -> Customer:
        if not 0 < customer_id <= MAX_ID:
            raise NotFound(f"no customer {customer_id}")
        return self._authorization.require_view_customer(session, actor, session.get(Customer, customer_id), customer_id)

    def contacts(self, session: Session, customer_id: int) -> list[Contact]:
        return list(session.scalars(select(Contact).where(Contact.customer_id == customer_id).order_by(Contact.name, Contact.id)))

    def timeline(self, session: Session, customer: Customer, limit: int = MAX_TIMELINE) -> list[TimelineEntry]:
        """Everything about the customer, newest first: the instances of every process that names
        it (leads, complaints, approval requests, receivables), its activities, its opportunities."""
        entries: list[TimelineEntry] = []
        instances = session.scalars(
            select(ProcessInstance)
            .options(defer(ProcessInstance.state))
            .where(ProcessInstance.customer_id == customer.id)
            .order_by(ProcessInstance.started_at.desc(), ProcessInstance.id.desc())
            .limit(limit)
        )
        for instance in instances:
            columns = process_parts.parts_of(instance.process_key).columns(instance.data or {})
            entries.append(
                TimelineEntry(
                    at=instance.started_at,
                    kind=TIMELINE_KINDS.get(instance.process_key, "other"),
                    summary=str(columns.get("title") or instance.business_key or instance.process_key),
                    instance_id=instance.id,
                    status=(instance.data or {}).get("outcome") or instance.status,
                    by=instance.started_by,
                )
            )
        # Plain rows, not ORM objects: a 500-entry timeline is read in a few milliseconds.
        activities = session.execute(
            select(Activity.at, Activity.summary, Activity.assignee, Activity.kind, Activity.next_step, Activity.next_at, Opportunity.title)
            .outerjoin(Opportunity, Opportunity.id == Activity.opportunity_id)
            .where(Activity.customer_id == customer.id)
            .order_by(Activity.at.desc(), Activity.id.desc())
            .limit(limit)
        )
        for at, summary, assignee, kind, next_step, next_at, about in activities:
            entries.append(
                TimelineEntry(at, "activity", summary, by=assignee, activity_kind=kind, next_step=next_step, next_at=next_at, about=about)
            )
        for opportunity in session.scalars(
            select(Opportunity).where(Opportunity.customer_id == customer.id).order_by(Opportunity.created_at.desc()).limit(limit)
        ):
            entries.append(
                TimelineEntry(opportunity.created_at, "opportunity", opportunity.title, status=opportunity.stage, by=opportunity.owner)
            )
        entries.sort(key=lambda e: (e.at, e.kind), reverse=True)
        return entries[:limit]

    def owners(self, session: Session) -> list[User]:
        """Who may own customers: active users (the owner filter and the reassign choice)."""
        return list(session.scalars(select(User).where(User.active.is_(True)).order_by(User.username)))

    # --- changing -----------------------------------------------------------------------------

    def _fields(self, data: Mapping[str, Any], creating: bool) -> tuple[dict[str, Any], dict[str, str]]:
        errors: dict[str, str] = {}
        values: dict[str, Any] = {}
        if creating or "name" in data:
            name = fields.text(data, "name", errors, limit=300)
            if not name and "name" not in errors:
                errors["name"] = "is required"
            elif name and not matching.company(name):
                errors["name"] = "must contain letters or digits"
            values["name"] = name
        for field, limit in TEXT_FIELDS.items():
            if field in data:
                values[field] = fields.text(data, field, errors, limit=limit) or None
        if "status" in data:
            values["status"] = _choice(data, "status", STATUSES, errors) or "potential"
        if "grade" in data:
            values["grade"] = _choice(data, "grade", GRADES, errors)
        if values.get("email") and "@" not in values["email"]:
            errors["email"] = "is not an email address"
        return values, errors

    def _duplicate(self, session: Session, values: Mapping[str, Any], own_id: int | None) -> int | None:
        matches = matching.same_party(
            Customer.name_norm, Customer.phone_norm, Customer.email_norm, values.get("name"), values.get("phone"), values.get("email")
        )
        if not matches:
            return None
        stmt = select(Customer.id).where(or_(*matches))
        if own_id is not None:
            stmt = stmt.where(Customer.id != own_id)
        found = session.scalar(stmt.order_by(Customer.id).limit(1))
        if found is None and values.get("name") and (norm := matching.company(values["name"])):
            alias = select(CustomerAlias.customer_id).where(CustomerAlias.name_norm == norm)  # a name merged away
            found = session.scalar(alias if own_id is None else alias.where(CustomerAlias.customer_id != own_id))
        return found

    def _owner(self, session: Session, username: Any) -> str:
        if not isinstance(username, str) or not session.scalar(select(User.id).where(User.username == username, User.active.is_(True))):
            raise ValidationFailed({"owner": "must be an active user"})
        return username

    def create(self, actor: Actor, data: Mapping[str, Any]) -> Customer:
        """A customer by hand; the owner is the creator unless given (then only by those who may
        hand customers out). A normalised duplicate is refused with the existing customer's id."""
        with self._db.transaction() as session:
            return self.create_in(session, actor, data)

    def create_in(self, session: Session, actor: Actor, data: Mapping[str, Any]) -> Customer:
        """`create` inside the caller's transaction (an import creates many in one); refuses
        before it writes anything."""
        self._authorization.require_create_customer(actor)
        values, errors = self._fields(data, creating=True)
        if errors:
            raise ValidationFailed(errors)
        now = self._clock()
        owner = actor.username
        if data.get("owner") not in (None, "", actor.username):
            owner = self._owner(session, data.get("owner"))
            self._authorization.check_customer_owner(session, actor, owner)
        existing = self._duplicate(session, values, None)
        if existing is not None:
            raise Duplicate(f"this customer exists already (customer {existing})", existing_id=existing)
        customer = Customer(
            **{k: v for k, v in values.items() if k != "status"},
            status=values.get("status") or "potential",
            name_norm=matching.company(values["name"]),
            phone_norm=matching.phone(values.get("phone")),
            email_norm=matching.email(values.get("email")),
            owner=owner,
            created_by=actor.username,
            created_at=now,
            updated_at=now,
        )
        session.add(customer)
        session.flush()
        customer_links.link_earlier(session, customer)
        self._history.record(
            session, actor.username, "customer_create", data={"customer_id": customer.id, "name": customer.name, "owner": owner}
        )
        return customer

    def update(self, actor: Actor, customer_id: int, data: Mapping[str, Any]) -> Customer:
        values, errors = self._fields(data, creating=False)
        with self._db.transaction() as session:
            customer = self.get(session, actor, customer_id)
            owner_changes = "owner" in data and data.get("owner") != customer.owner
            self._authorization.check_edit_customer(session, actor, customer, owner_changes)
            if owner_changes:
                values["owner"] = self._owner(session, data.get("owner"))
            if errors:
                raise ValidationFailed(errors)
            merged = {"name": customer.name, "phone": customer.phone, "email": customer.email, **values}
            existing = self._duplicate(session, merged, customer.id) if {"name", "phone", "email"} & values.keys() else None
            if existing is not None:
                raise Duplicate(f"another customer has this name, phone or email (customer {existing})", existing_id=existing)
            changed = {k: v for k, v in values.items() if getattr(customer, k) != v}
            for key, value in changed.items():
                setattr(customer, key, value)
            if {"name", "phone", "email"} & changed.keys():
                customer.name_norm = matching.company(customer.name)
                customer.phone_norm = matching.phone(customer.phone)
                customer.email_norm = matching.email(customer.email)
                session.flush()
                customer_links.link_earlier(session, customer)
            if changed:
                customer.updated_at = self._clock()
                self._history.record(session, actor.username, "customer_update", data={"customer_id": customer.id, **changed})
            return customer

    def add_contact(self, actor: Actor, customer_id: int, data: Mapping[str, Any]) -> Contact:
        errors: dict[str, str] = {}
        name = fields.text(data, "name", errors, limit=100)
        if not name and "name" not in errors:
            errors["name"] = "is required"
        values = {field: fields.text(data, field, errors, limit=limit) or None for field, limit in CONTACT_FIELDS.items()}
        relationship = _choice(data, "relationship", RELATIONSHIPS, errors)
        birthday = None
        if data.get("birthday"):
            try:
                birthday = date.fromisoformat(str(data["birthday"])[:10])
            except ValueError:
                errors["birthday"] = "must be a date (YYYY-MM-DD)"
        with self._db.transaction() as session:
            customer = self.get(session, actor, customer_id)
            self._authorization.check_edit_customer(session, actor, customer, owner_changes=False)
            if errors:
                raise ValidationFailed(errors)
            contact = Contact(
                customer_id=customer.id,
                name=name,
                relationship=relationship,
                birthday=birthday,
                created_at=self._clock(),
                **values,
            )
            session.add(contact)
            session.flush()
            self._history.record(session, actor.username, "contact_create", data={"customer_id": customer.id, "name": name})
            return contact
