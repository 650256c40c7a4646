"""Department budgets (seed 000: 部门月中费用超《部门费用预算表》则另按费用审批流的特殊费用进行申请):
finance and admins set each department's expense budget per month; a department expense that
would take the month's approved-plus-pending total over it follows the special-expense chain
(finance -> gm), and its approvers see budget, used, pending and remaining on its card.

Used: the month's approved department expenses of the department; pending: those still running
(a rejected or withdrawn request frees its amount by no longer being either). A request's month and
department are those of its start (the requester's department). Two requests started at once in
one department and month are decided one after the other: the start holds the budget row's lock
(PostgreSQL) or the database's write lock (SQLite) from the check to its commit, so together they
can never pass a budget that each alone would fit."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, case, func, select, update
from sqlalchemy.orm import Session, aliased

from engine import config
from engine.clock import aware
from engine.errors import NotFound, ValidationFailed
from engine.services import instance_fields
from engine.services.identity import Actor
from store.models import Budget, Department, InstanceField, ProcessInstance, User

if TYPE_CHECKING:
    from engine.authorization import Authorization
    from engine.services.history import HistoryService
    from store.db import Database

MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
PROCESS = "approval_chain"
COUNTED = "department_expense"
MAX_AMOUNT = Decimal("9999999999999999.99")


@dataclass(frozen=True)
class Figures:
    amount: Decimal | None  # None: no budget set for the month
    used: Decimal
    pending: Decimal

    @property
    def remaining(self) -> Decimal | None:
        return None if self.amount is None else self.amount - self.used - self.pending

    def as_dict(self) -> dict[str, Any]:
        def num(v: Decimal | None) -> float | None:
            return None if v is None else float(v)

        return {"amount": num(self.amount), "used": num(self.used), "pending": num(self.pending), "remaining": num(self.remaining)}


def month_of(text: str) -> tuple[date, date]:
    """The first day of the month and of the next; 422 for anything but YYYY-MM."""
    found = MONTH.match(text or "")
    if not found or not 1 <= int(found.group(1)) <= 9998:
        raise ValidationFailed({"month": "must be YYYY-MM (years 0001 to 9998)"})
    year, month = int(found.group(1)), int(found.group(2))
    return date(year, month, 1), date(year + month // 12, month % 12 + 1, 1)


def _totals(session: Session, month: str, department: str | None, besides: int | None = None) -> dict[str, tuple[Decimal, Decimal]]:
    """(approved, pending) of the month's department expenses per department (one, or all), leaving
    out the instance `besides` (a revised request is checked against the others)."""
    first, after = month_of(month)
    zone = config.current().timezone
    start, end = (datetime.combine(d, time.min, tzinfo=zone) for d in (first, after))
    amount_field, department_field = aliased(InstanceField), aliased(InstanceField)
    approved = and_(ProcessInstance.status == "completed", instance_fields.equals("outcome", "approved"))
    running = ProcessInstance.status.in_(("running", "suspended"))
    stmt = (
        select(
            department_field.text,
            func.coalesce(func.sum(case((approved, amount_field.number), else_=0)), 0),
            func.coalesce(func.sum(case((running, amount_field.number), else_=0)), 0),
        )
        .select_from(ProcessInstance)
        .join(amount_field, and_(amount_field.instance_id == ProcessInstance.id, amount_field.name == "amount"))
        .join(department_field, and_(department_field.instance_id == ProcessInstance.id, department_field.name == "department"))
        .where(
            ProcessInstance.process_key == PROCESS,
            ProcessInstance.started_at >= start,
            ProcessInstance.started_at < end,
            instance_fields.equals("request_type", COUNTED),
        )
        .group_by(department_field.text)
    )
    if department is not None:
        stmt = stmt.where(department_field.text == department.strip().lower())
    if besides is not None:
        stmt = stmt.where(ProcessInstance.id != besides)
    return {code: (Decimal(str(used)), Decimal(str(pending))) for code, used, pending in session.execute(stmt)}


def figures(session: Session, department: str, month: str, besides: int | None = None) -> Figures:
    """Budget, used and pending of a department's month."""
    used, pending = _totals(session, month, department, besides).get(department.strip().lower(), (Decimal(0), Decimal(0)))
    budget = session.get(Budget, (department, month))
    return Figures(budget.amount if budget else None, used, pending)


def month_figures(session: Session, month: str) -> list[tuple[Department, Figures]]:
    """Every department's month, in two queries (the totals grouped, the budgets)."""
    totals = _totals(session, month, None)
    budgets = {b.department_code: b.amount for b in session.scalars(select(Budget).where(Budget.month == month))}
    zero = (Decimal(0), Decimal(0))
    return [
        (d, Figures(budgets.get(d.code), *totals.get(d.code.lower(), zero)))
        for d in session.scalars(select(Department).order_by(Department.code))
    ]


def department_of(session: Session, username: str) -> tuple[str | None, str | None]:
    """The requester's department: its code and its name."""
    found = session.execute(
        select(Department.code, Department.name).join(User, User.department_id == Department.id).where(User.username == username)
    ).first()
    return (found.code, found.name) if found else (None, None)


def check_revision(session: Session, instance: Any, values: dict[str, Any], now: datetime) -> dict[str, Any]:
    """A returned request revised (its type or amount may have changed): the same check again, in
    the month of its start, against the department's other requests."""
    return check_request(session, instance.started_by or "", values, aware(instance.started_at), besides=instance.id)


def check_request(session: Session, requester: str, values: dict[str, Any], now: datetime, besides: int | None = None) -> dict[str, Any]:
    """At a department expense's start: its department, and whether it takes the month
    over the budget (then it follows the special-expense chain), with the figures it was decided
    on for its approvers. Holds the budget row's lock until the start commits."""
    if values.get("request_type") != COUNTED:
        return {**values, "over_budget": False}
    department, department_name = department_of(session, requester)
    checked = {**values, "department": department, "department_name": department_name, "over_budget": False}
    if department is None:
        return checked
    month = now.astimezone(config.current().timezone).strftime("%Y-%m")
    # A write to the budget row first: PostgreSQL's row lock, SQLite's write lock, held to commit.
    held = session.execute(
        update(Budget).where(Budget.department_code == department, Budget.month == month).values(amount=Budget.amount)
    ).rowcount
    budget = session.get(Budget, (department, month)) if held else None
    if budget is None:
        return checked
    found = figures(session, department, month, besides)
    amount = Decimal(str(values.get("amount") or 0))
    remaining = found.remaining if found.remaining is not None else Decimal(0)
    return {
        **checked,
        "over_budget": amount > remaining,
        "budget": float(budget.amount),
        "budget_used": float(found.used),
        "budget_pending": float(found.pending),
        "budget_remaining": float(remaining),
    }


class BudgetService:
    def __init__(self, *, authorization: Authorization, clock: Callable[[], datetime], db: Database, history: HistoryService) -> None:
        self._authorization = authorization
        self._clock = clock
        self._db = db
        self._history = history

    def _department(self, session: Session, code: str) -> None:
        if session.scalar(select(Department.id).where(Department.code == code)) is None:
            raise NotFound(f"no department '{code}'")

    def get(self, session: Session, actor: Actor, department: str, month: str) -> Figures:
        self._authorization.require_budgets(actor)
        month_of(month)
        self._department(session, department)
        return figures(session, department, month)

    def month(self, session: Session, actor: Actor, month: str) -> list[tuple[Department, Figures]]:
        self._authorization.require_budgets(actor)
        return month_figures(session, month)

    def set(self, actor: Actor, department: str, month: str, data: Any) -> Figures:
        self._authorization.require_budgets(actor)
        month_of(month)
        value = data.get("amount") if isinstance(data, dict) else None
        try:
            amount = Decimal(str(value)) if isinstance(value, (int, float, str)) and not isinstance(value, bool) else None
        except InvalidOperation:
            amount = None
        if amount is None or not amount.is_finite() or amount < 0 or amount > MAX_AMOUNT:
            raise ValidationFailed({"amount": "must be a number, 0 or more"})
        amount = amount.quantize(Decimal("0.01"))
        with self._db.transaction() as session:
            self._department(session, department)
            row = session.get(Budget, (department, month), with_for_update=True)
            before = None if row is None else float(row.amount)
            if row is None:
                row = Budget(department_code=department, month=month, amount=amount, updated_by=actor.username, updated_at=self._clock())
                session.add(row)
            else:
                row.amount, row.updated_by, row.updated_at = amount, actor.username, self._clock()
            self._history.record(
                session,
                actor.username,
                "budget.set",
                data={"department": department, "month": month, "amount": float(amount), "before": before},
            )
            session.flush()
            return figures(session, department, month)
