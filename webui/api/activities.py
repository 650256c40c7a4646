"""Activities over the API (docs/api.md "Customers and sales work"): log one on a customer, an
opportunity or a lead; one's follow-ups due today or earlier; close a follow-up, with what was done."""

from __future__ import annotations

from typing import Any

from flask.typing import ResponseReturnValue

from engine.clock import iso
from store.models import Activity
from webui.api import actor, bp, engine, json_body

INT = "int(min=1, max=2147483647)"


def activity_view(a: Activity) -> dict[str, Any]:
    return {
        "id": a.id,
        "customer_id": a.customer_id,
        "opportunity_id": a.opportunity_id,
        "lead_id": a.lead_id,
        "kind": a.kind,
        "summary": a.summary,
        "at": iso(a.at),
        "assignee": a.assignee,
        "created_by": a.created_by,
        "next_step": a.next_step,
        "next_at": iso(a.next_at),
        "done_at": iso(a.done_at),
    }


@bp.post(f"/customers/<{INT}:customer_id>/activities")
def log_on_customer(customer_id: int) -> ResponseReturnValue:
    return activity_view(engine().activities.on_customer(actor(), customer_id, json_body())), 201


@bp.post(f"/opportunities/<{INT}:opportunity_id>/activities")
def log_on_opportunity(opportunity_id: int) -> ResponseReturnValue:
    return activity_view(engine().activities.on_opportunity(actor(), opportunity_id, json_body())), 201


@bp.post(f"/leads/<{INT}:lead_id>/activities")
def log_on_lead(lead_id: int) -> ResponseReturnValue:
    return activity_view(engine().activities.on_lead(actor(), lead_id, json_body())), 201


@bp.get("/me/follow-ups")
def my_follow_ups() -> ResponseReturnValue:
    eng = engine()
    with eng.db.sessions() as session:
        items, total = eng.activities.follow_ups(session, actor())
    return {"items": [i.as_dict() for i in items], "total": total}


@bp.post(f"/activities/<{INT}:activity_id>/done")
def close_follow_up(activity_id: int) -> ResponseReturnValue:
    """The follow-up is done; with `summary` (and `kind`, `next_step`, `next_at`) what was done is
    logged as a new activity, returned as `logged`."""
    logged = engine().activities.done(actor(), activity_id, json_body())
    return {"id": activity_id, "done": True, "logged": activity_view(logged) if logged else None}
