"""Opportunities: a qualified lead's opportunity on the owner's pipeline, stage changes and
activities touching it, the 30-day flag, and the director giving an untouched one to someone else."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from engine.errors import Forbidden, NotFound, ValidationFailed
from store.models import Notification, Opportunity
from tests.data import lead
from tests.flow import Flow


def _qualified(flow: Flow, owner: str = "sales1") -> tuple[int, int]:
    instance = flow.start(owner, "lead_qualification", lead(estimated_value=300_000))
    flow.complete(owner, instance.id, "verify_lead", {"outcome": "qualified", "grade": "A"})
    flow.complete("sales_dir", instance.id, "director_review", {"decision": "approve"})
    data = flow.instance(instance.id).data
    return int(data["opportunity_id"]), int(data["customer_id"])


def _cards(flow: Flow, username: str, **kw: object) -> dict[int, object]:
    with flow.engine.db.sessions() as session:
        return {c.opportunity.id: c for c in flow.engine.opportunities.query(session, flow.actor(username), **kw)}  # type: ignore[arg-type]


def test_a_qualified_lead_is_on_its_owners_pipeline_and_moves_through_the_stages(flow: Flow) -> None:
    opportunity_id, _customer = _qualified(flow)
    with flow.engine.db.sessions() as session:
        board = flow.engine.opportunities.board(session, flow.actor("sales1"), owner="sales1")
    assert opportunity_id in [c.opportunity.id for c in board["qualified"]]
    assert opportunity_id not in _cards(flow, "sales2") and opportunity_id in _cards(flow, "sales_dir")
    moved = flow.engine.opportunities.update(flow.actor("sales1"), opportunity_id, {"stage": "proposal", "expected_close": "2027-03-31"})
    assert moved.stage == "proposal" and moved.expected_close is not None
    with pytest.raises(ValidationFailed):
        flow.engine.opportunities.update(flow.actor("sales1"), opportunity_id, {"stage": "maybe", "estimated_value": -5})
    with pytest.raises(NotFound):
        flow.engine.opportunities.update(flow.actor("sales2"), opportunity_id, {"stage": "won"})


def test_thirty_days_untouched_is_flagged_and_an_activity_touches_it(flow: Flow) -> None:
    opportunity_id, customer_id = _qualified(flow)
    with flow.engine.db.transaction() as session:
        row = session.get(Opportunity, opportunity_id)
        assert row is not None
        row.last_touched_at = datetime.now(UTC) - timedelta(days=31)
    card = _cards(flow, "sales_dir", untouched_days=30)[opportunity_id]
    assert card.flagged and card.untouched_days == 31  # type: ignore[attr-defined]
    flow.engine.activities.on_customer(flow.actor("sales1"), customer_id, {"kind": "call", "summary": "电话跟进报价"})
    assert opportunity_id not in _cards(flow, "sales_dir", untouched_days=30)
    assert not _cards(flow, "sales1")[opportunity_id].flagged  # type: ignore[attr-defined]


def test_the_director_gives_an_opportunity_to_someone_else_who_is_told(flow: Flow) -> None:
    opportunity_id, _customer = _qualified(flow)
    with pytest.raises(Forbidden):
        flow.engine.opportunities.assign(flow.actor("sales1"), opportunity_id, "sales2")  # not the owner's to give away
    with pytest.raises(ValidationFailed):
        flow.engine.opportunities.assign(flow.actor("sales_dir"), opportunity_id, f"nobody{secrets.token_hex(2)}")
    moved = flow.engine.opportunities.assign(flow.actor("sales_dir"), opportunity_id, "sales2")
    assert moved.owner == "sales2" and opportunity_id in _cards(flow, "sales2") and opportunity_id not in _cards(flow, "sales1")
    with flow.engine.db.sessions() as session:
        notes = session.scalars(
            select(Notification.message).where(Notification.username == "sales2", Notification.kind == "assigned")
        ).all()
    assert any("销售机会" in n for n in notes)
