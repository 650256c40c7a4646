"""Which customer a process instance is about, kept on the instance row (`customer_id`) so that a
customer's timeline is one indexed read: the form's explicit `customer_id` when it names an
existing customer, else the customer whose normalised name (engine.matching) the process's
customer field holds (or a name merged into a customer, customer_aliases). Looked up only when that field changes, so a step costs no query."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from engine import matching, process_parts
from store.models import MAX_ID, Customer, CustomerAlias, ProcessInstance


def _explicit(data: dict[str, Any]) -> int | None:
    value = data.get("customer_id")
    return value if isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_ID else None


def customer_for(session: Session, instance: ProcessInstance, data: dict[str, Any]) -> tuple[int | None, str | None]:
    """The customer id and normalised customer name to store with the instance's new state (the
    action's own writes go out at commit: no autoflush here)."""
    with session.no_autoflush:
        return _customer_for(session, instance, data)


def _customer_for(session: Session, instance: ProcessInstance, data: dict[str, Any]) -> tuple[int | None, str | None]:
    columns = process_parts.parts_of(instance.process_key).columns
    name = columns(data)["customer"]
    before = instance.data or {}
    explicit = _explicit(data)
    unchanged = before and name == columns(before)["customer"] and _explicit(before) == explicit
    if unchanged and (instance.customer_norm is not None or not name):
        return instance.customer_id, instance.customer_norm  # nothing about the customer changed in this step
    # (an instance from before migration 0010 has no normalised name yet: looked up once, on its next step)
    normalised = (matching.company(name) if name else "")[:300] or None
    if explicit is not None and (explicit == instance.customer_id or session.get(Customer, explicit) is not None):
        return explicit, normalised
    if normalised is None:
        return instance.customer_id, None
    found = session.scalar(select(Customer.id).where(Customer.name_norm == normalised).order_by(Customer.id).limit(1))
    if found is None:  # a name merged away into another customer
        found = session.scalar(select(CustomerAlias.customer_id).where(CustomerAlias.name_norm == normalised))
    return (found if found is not None else instance.customer_id), normalised


def link_earlier(session: Session, customer: Customer) -> int:
    """A new (or renamed) customer takes the instances that named it before it was on file."""
    result = session.execute(
        update(ProcessInstance)
        .where(ProcessInstance.customer_id.is_(None), ProcessInstance.customer_norm == customer.name_norm)
        .values(customer_id=customer.id)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)
