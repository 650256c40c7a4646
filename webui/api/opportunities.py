"""Sales opportunities over the API: the list (who may see them as for customers), changing stage,
value and expected close, and giving one to another salesperson."""

from __future__ import annotations

from typing import Any

from flask import request
from flask.typing import ResponseReturnValue

from engine.clock import iso
from engine.services.opportunities import Card
from store.models import Opportunity
from webui.api import actor, bp, engine, int_arg, json_body

ID = "<int(min=1, max=2147483647):opportunity_id>"


def opportunity_view(o: Opportunity, customer: str | None = None, untouched_days: int | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": o.id,
        "customer_id": o.customer_id,
        "title": o.title,
        "stage": o.stage,
        "estimated_value": float(o.estimated_value) if o.estimated_value is not None else None,
        "expected_close": o.expected_close.isoformat() if o.expected_close else None,
        "owner": o.owner,
        "created_at": iso(o.created_at),
        "last_touched_at": iso(o.last_touched_at or o.created_at),
    }
    if customer is not None:
        body["customer"] = customer
    if untouched_days is not None:
        body["untouched_days"] = untouched_days
    return body


def _card_view(card: Card) -> dict[str, Any]:
    return {**opportunity_view(card.opportunity, card.customer, card.untouched_days), "flagged": card.flagged}


@bp.get("/opportunities")
def list_opportunities() -> ResponseReturnValue:
    eng = engine()
    days = int_arg("untouched_days", 0, 0, 3650) or None
    with eng.db.sessions() as session:
        cards = eng.opportunities.query(session, actor(), request.args.get("owner") or None, days, request.args.get("stage") or None)
        return {"items": [_card_view(c) for c in cards], "total": len(cards)}


@bp.patch(f"/opportunities/{ID}")
def update_opportunity(opportunity_id: int) -> ResponseReturnValue:
    return opportunity_view(engine().opportunities.update(actor(), opportunity_id, json_body()))


@bp.post(f"/opportunities/{ID}/assign")
def assign_opportunity(opportunity_id: int) -> ResponseReturnValue:
    return opportunity_view(engine().opportunities.assign(actor(), opportunity_id, json_body().get("username")))
