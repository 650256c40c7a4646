"""Invoked applications (WfMC interface 3): Python operations that service tasks call by topic.

Operations run inside the action's transaction, so what they write commits or rolls back with
the engine step that called them. They read the current action from a context variable.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from engine.bpmn import scripting
from engine.errors import EngineError, NotFound
from store.models import Customer, Lead, Notification, Opportunity, ProcessInstance, Role, Task, User, UserRole


@dataclass
class ActionContext:
    session: Session
    actor: str | None
    now: datetime
    instance: ProcessInstance | None = None
    jobs: Any = None  # engine.jobs.JobService: queues the email that goes with a notification
    notifications: list[Notification] = field(default_factory=list)


_ACTION: ContextVar[ActionContext | None] = ContextVar("crmflow_action", default=None)


@contextmanager
def action(ctx: ActionContext) -> Iterator[ActionContext]:
    token = _ACTION.set(ctx)
    try:
        yield ctx
    finally:
        _ACTION.reset(token)


def current() -> ActionContext:
    ctx = _ACTION.get()
    if ctx is None:
        raise EngineError("no action in progress")
    return ctx


Operation = Callable[[dict[str, Any], dict[str, Any]], dict[str, Any] | None]
OPERATIONS: dict[str, Operation] = {}


def operation(name: str) -> Callable[[Operation], Operation]:
    def register(fn: Operation) -> Operation:
        OPERATIONS[name] = fn
        return fn

    return register


def invoke(name: str, data: dict[str, Any], params: dict[str, Any]) -> dict[str, Any] | None:
    fn = OPERATIONS.get(name)
    if fn is None:
        raise NotFound(f"no operation is registered for topic '{name}'")
    return fn(data, params)


# --- organisation helpers (also offered to expressions) ------------------------------------


def superior_of(session: Session, username: str | None) -> str | None:
    if not username:
        return None
    user = session.scalar(select(User).where(User.username == username))
    if user is None or user.superior_id is None:
        return None
    return session.scalar(select(User.username).where(User.id == user.superior_id))


def users_with_role(session: Session, role: str) -> list[str]:
    return list(
        session.scalars(
            select(User.username)
            .join(UserRole, UserRole.user_id == User.id)
            .join(Role, Role.id == UserRole.role_id)
            .where(Role.name == role, User.active.is_(True))
            .order_by(User.username)
        )
    )


def manager_of(username: str) -> str | None:
    """Expression function: the user's direct superior."""
    return superior_of(current().session, username)


EXPRESSION_FUNCTIONS: dict[str, Any] = {"manager_of": manager_of}
scripting.offer(EXPRESSION_FUNCTIONS, invoke)


# --- notifications -------------------------------------------------------------------------


def _recipients(session: Session, instance: ProcessInstance | None, to: str) -> list[str]:
    kind, _, arg = to.partition(":")
    if kind == "initiator":
        return [instance.started_by] if instance and instance.started_by else []
    if kind == "user":
        return [arg]
    if kind == "role":
        return users_with_role(session, arg)
    if kind == "manager_of_role":
        return sorted({m for u in users_with_role(session, arg) if (m := superior_of(session, u))})
    if kind in ("assignee_of", "manager_of_assignee") and instance is not None:
        task = session.scalar(select(Task).where(Task.instance_id == instance.id, Task.task_key == arg, Task.status == "open").limit(1))
        if task is None:
            return []
        # An unclaimed task is its candidates' to do: remind them, alert their superiors.
        people = [task.assignee] if task.assignee else _candidates(session, task)
        if kind == "assignee_of":
            return people
        return sorted({m for p in people if (m := superior_of(session, p))})
    raise EngineError(f"unknown notification recipient '{to}'")


def _candidates(session: Session, task: Task) -> list[str]:
    users = [u for u in task.candidate_users.split(",") if u]
    for role in (r for r in task.candidate_roles.split(",") if r):
        users.extend(users_with_role(session, role))
    return sorted(set(users))


def notify(usernames: list[str], kind: str, message: str, task_id: str | None = None) -> None:
    """In-app notifications, and email through the outbox when mail is configured."""
    ctx = current()
    usernames = list(dict.fromkeys(u for u in usernames if u))
    if ctx.jobs is not None:
        ctx.jobs.enqueue_email(ctx.session, usernames, kind, message, ctx.instance, task_id, ctx.now)
    for username in usernames:
        note = Notification(
            username=username,
            at=ctx.now,
            kind=kind,
            message=message,
            instance_id=ctx.instance.id if ctx.instance else None,
            task_id=task_id,
        )
        ctx.session.add(note)
        ctx.notifications.append(note)


class _Missing(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


@operation("crm.notify")
def op_notify(data: dict[str, Any], params: dict[str, Any]) -> None:
    ctx = current()
    kind = str(params.get("kind") or "info")
    message = str(params.get("message") or kind).format_map(_Missing({k: v for k, v in data.items() if isinstance(v, (str, int, float))}))
    notify(_recipients(ctx.session, ctx.instance, str(params.get("to") or "initiator")), kind, message)


# --- leads and customers -------------------------------------------------------------------

_COMPANY_NOISE = re.compile(
    r"(有限责任公司|股份有限公司|有限公司|集团|公司|co\.?|ltd\.?|inc\.?|limited|corp\.?|corporation|company|[\s\.,()（）·-])", re.I
)


def normalise_company(name: str) -> str:
    text = unicodedata.normalize("NFKC", name or "").lower()
    return _COMPANY_NOISE.sub("", text)


def normalise_phone(phone: str | None) -> str | None:
    digits = re.sub(r"\D", "", phone or "")
    if digits.startswith("86") and len(digits) > 11:
        digits = digits[2:]
    return digits or None


def normalise_email(email: str | None) -> str | None:
    value = (email or "").strip().lower()
    return value or None


GRADE_RULES = ((200_000, "A"), (50_000, "B"))


@operation("crm.check_lead")
def op_check_lead(data: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    """Duplicate detection (company, phone, email), completeness and a value grade."""
    ctx = current()
    company = normalise_company(str(data.get("company") or ""))
    phone = normalise_phone(data.get("phone"))
    email = normalise_email(data.get("email"))
    matches = [Lead.company_norm == company] if company else []
    if phone:
        matches.append(Lead.phone_norm == phone)
    if email:
        matches.append(Lead.email_norm == email)
    own_id = data.get("lead_id")
    duplicate = None
    if matches:
        duplicate = ctx.session.scalar(
            select(Lead.id).where(or_(*matches), Lead.status != "merged", Lead.id != (own_id or -1)).order_by(Lead.id).limit(1)
        )
    customer_matches = [Customer.name_norm == company] if company else []
    if phone:
        customer_matches.append(Customer.phone_norm == phone)
    if email:
        customer_matches.append(Customer.email_norm == email)
    existing_customer = ctx.session.scalar(select(Customer.id).where(or_(*customer_matches)).limit(1)) if customer_matches else None
    lead = Lead(
        instance_id=ctx.instance.id if ctx.instance else None,
        company=str(data.get("company") or ""),
        company_norm=company,
        phone_norm=phone,
        email_norm=email,
        owner=ctx.instance.started_by if ctx.instance else ctx.actor,
        created_at=ctx.now,
    )
    ctx.session.add(lead)
    ctx.session.flush()
    missing = [f for f in ("contact_name", "phone", "email", "need") if not data.get(f)]
    value = float(data.get("estimated_value") or 0)
    score = min(100, int(value / 5000) + 10 * (4 - len(missing)))
    grade = next((g for threshold, g in GRADE_RULES if value >= threshold), "C")
    return {
        "lead_id": lead.id,
        "is_duplicate": duplicate is not None or existing_customer is not None,
        "duplicate_of": duplicate,
        "existing_customer_id": existing_customer,
        "missing_fields": missing,
        "score": score,
        "suggested_grade": grade,
    }


@operation("crm.merge_lead")
def op_merge_lead(data: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    session = current().session
    lead = session.get(Lead, data.get("lead_id"))
    if lead is not None:
        lead.status = "merged"
        lead.merged_into = data.get("duplicate_of")
    return {"merged_into": data.get("duplicate_of")}


@operation("crm.create_customer")
def op_create_customer(data: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    ctx = current()
    owner = ctx.instance.started_by if ctx.instance else ctx.actor
    customer = Customer(
        name=str(data.get("company") or ""),
        name_norm=normalise_company(str(data.get("company") or "")),
        phone_norm=normalise_phone(data.get("phone")),
        email_norm=normalise_email(data.get("email")),
        owner=owner,
        lead_id=data.get("lead_id"),
        created_at=ctx.now,
    )
    ctx.session.add(customer)
    ctx.session.flush()
    opportunity = Opportunity(
        customer_id=customer.id,
        title=str(data.get("need") or data.get("company") or ""),
        estimated_value=data.get("estimated_value"),
        grade=data.get("grade"),
        owner=owner,
        created_at=ctx.now,
    )
    ctx.session.add(opportunity)
    lead = ctx.session.get(Lead, data.get("lead_id")) if data.get("lead_id") else None
    if lead is not None:
        lead.status = "qualified"
    ctx.session.flush()
    return {"customer_id": customer.id, "opportunity_id": opportunity.id}


DEPARTMENT_BY_CATEGORY = {"transport": "transport", "customs": "customs", "quality": "quality"}


@operation("crm.propose_department")
def op_propose_department(data: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    return {"proposed_department": DEPARTMENT_BY_CATEGORY.get(str(data.get("category")))}
