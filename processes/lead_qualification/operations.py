"""The lead's invoked applications: the duplicate check against leads and customers (the
normalised company, phone and email of engine.matching), completeness and a value grade, merging
a duplicate, and the customer and opportunity a qualified lead becomes."""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_, select, update

from engine import matching
from engine.operations import current, operation
from engine.services import customer_links
from store.models import Activity, Customer, CustomerAlias, Lead, Opportunity

GRADE_RULES = ((200_000, "A"), (50_000, "B"))


@operation("crm.check_lead")
def check_lead(data: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    """Duplicate detection (company, phone, email), completeness and a value grade."""
    ctx = current()
    company = matching.company(str(data.get("company") or ""))
    phone = matching.phone(data.get("phone"))
    email = matching.email(data.get("email"))
    matches = matching.same_party(
        Lead.company_norm, Lead.phone_norm, Lead.email_norm, data.get("company"), data.get("phone"), data.get("email")
    )
    own_id = data.get("lead_id")
    duplicate = None
    if matches:
        duplicate = ctx.session.scalar(
            select(Lead.id).where(or_(*matches), Lead.status != "merged", Lead.id != (own_id or -1)).order_by(Lead.id).limit(1)
        )
    customer_matches = matching.same_party(
        Customer.name_norm, Customer.phone_norm, Customer.email_norm, data.get("company"), data.get("phone"), data.get("email")
    )
    existing_customer = ctx.session.scalar(select(Customer.id).where(or_(*customer_matches)).limit(1)) if customer_matches else None
    if existing_customer is None and company:  # a name merged into a customer on file
        existing_customer = ctx.session.scalar(select(CustomerAlias.customer_id).where(CustomerAlias.name_norm == company))
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
def merge_lead(data: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    session = current().session
    lead = session.get(Lead, data.get("lead_id"))
    if lead is not None:
        lead.status = "merged"
        lead.merged_into = data.get("duplicate_of")
    return {"merged_into": data.get("duplicate_of")}


@operation("crm.create_customer")
def create_customer(data: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    ctx = current()
    owner = ctx.instance.started_by if ctx.instance else ctx.actor
    customer = Customer(
        name=str(data.get("company") or ""),
        name_norm=matching.company(str(data.get("company") or "")),
        phone_norm=matching.phone(data.get("phone")),
        email_norm=matching.email(data.get("email")),
        owner=owner,
        lead_id=data.get("lead_id"),
        created_at=ctx.now,
    )
    ctx.session.add(customer)
    ctx.session.flush()
    customer_links.link_earlier(ctx.session, customer)  # complaints that named the company before
    opportunity = Opportunity(
        customer_id=customer.id,
        title=str(data.get("need") or data.get("company") or ""),
        estimated_value=data.get("estimated_value"),
        grade=data.get("grade"),
        owner=owner,
        created_at=ctx.now,
        last_touched_at=ctx.now,
    )
    ctx.session.add(opportunity)
    lead = ctx.session.get(Lead, data.get("lead_id")) if data.get("lead_id") else None
    if lead is not None:
        lead.status = "qualified"
        # What was logged on the lead is now the customer's history (its timeline, its touch).
        ctx.session.execute(
            update(Activity).where(Activity.lead_id == lead.id, Activity.customer_id.is_(None)).values(customer_id=customer.id)
        )
    ctx.session.flush()
    return {"customer_id": customer.id, "opportunity_id": opportunity.id}
