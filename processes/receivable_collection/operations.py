"""The receivable's invoked application: who chases it and when. The owner is the one given, else
the customer's owner in the file, else whoever started it; the deadlines are 09:00 in the
organisation's zone: 7 days before the due date (reminder), the due date (dunning), 30 days after
it (escalation)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select

from engine import config, matching
from engine.errors import EngineError
from engine.operations import current, operation
from store.models import Customer, User

REMIND_BEFORE = timedelta(days=7)
ESCALATE_AFTER = timedelta(days=30)


def _active(session: Any, username: Any) -> str | None:
    if not isinstance(username, str) or not username:
        return None
    return session.scalar(select(User.username).where(User.username == username, User.active.is_(True)))


@operation("crm.plan_receivable")
def plan_receivable(data: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    ctx = current()
    try:
        due = date.fromisoformat(str(data.get("due_date") or ""))
    except ValueError as exc:
        raise EngineError("the due date must be a date (YYYY-MM-DD)") from exc
    customer = None
    name = matching.company(str(data.get("customer") or ""))
    if name:
        customer = ctx.session.scalar(select(Customer).where(Customer.name_norm == name).order_by(Customer.id).limit(1))
    owner = (
        _active(ctx.session, data.get("owner"))
        or _active(ctx.session, customer.owner if customer else None)
        or (ctx.instance.started_by if ctx.instance else ctx.actor)
    )
    due_at = datetime.combine(due, time(9, 0), tzinfo=config.current().timezone)
    amount = float(data.get("amount") or 0)
    return {
        "owner": owner,
        "customer_id": customer.id if customer else None,
        "currency": data.get("currency") or "CNY",
        "paid_total": 0.0,
        "outstanding": amount,
        "due_at": due_at.isoformat(),
        "remind_at": (due_at - REMIND_BEFORE).isoformat(),
        "escalate_at": (due_at + ESCALATE_AFTER).isoformat(),
    }
