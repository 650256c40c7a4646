"""Merging a duplicate customer into the one kept: the preview says what will move and changes
nothing; the merge moves contacts, activities, opportunities, processes and notices, fills the
kept record's empty fields, deletes the duplicate and is audited; only admins and the sales
director may; mistakes are refused whole."""

from __future__ import annotations

import secrets

import pytest
from sqlalchemy import func, select

from engine.errors import Forbidden, NotFound, ValidationFailed
from engine.services.customers import Duplicate
from store.models import Activity, Contact, Customer, CustomerAlias, HistoryEvent, Opportunity, ProcessInstance
from tests.data import COMPLAINT
from tests.flow import Flow


def _pair(flow: Flow) -> tuple[Customer, Customer, int]:
    tag = secrets.token_hex(3)
    keep = flow.engine.customers.create(flow.actor("sales1"), {"name": f"宁波{tag}海联贸易有限公司"})
    duplicate = flow.engine.customers.create(
        flow.actor("sales2"), {"name": f"海联{tag}（宁波）", "phone": f"0574-8{secrets.randbelow(10**6):06d}", "industry": "货运代理"}
    )
    flow.engine.customers.add_contact(flow.actor("sales2"), duplicate.id, {"name": "王经理"})
    flow.engine.activities.on_customer(flow.actor("sales2"), duplicate.id, {"kind": "call", "summary": "电话回访"})
    with flow.engine.db.transaction() as session:
        session.add(Opportunity(customer_id=duplicate.id, title="年度合同", owner="sales2", created_at=duplicate.created_at))
    complaint = flow.start("cs_agent1", "complaint_handling", {**COMPLAINT, "customer": duplicate.name})
    return keep, duplicate, complaint.id


def _count(flow: Flow, model: type, customer_id: int) -> int:
    with flow.engine.db.sessions() as session:
        return session.scalar(select(func.count()).select_from(model).where(model.customer_id == customer_id)) or 0


def test_the_preview_lists_what_the_merge_then_moves(flow: Flow) -> None:
    keep, duplicate, complaint_id = _pair(flow)
    with flow.engine.db.sessions() as session:
        plan = flow.engine.merges.preview(session, flow.actor("sales_dir"), keep.id, duplicate.id)
    assert plan.moves == {"contacts": 1, "activities": 1, "opportunities": 1, "instances": 1, "notices": 0}
    assert {"phone", "industry", "phone_norm"} <= set(plan.fills)
    assert _count(flow, Contact, duplicate.id) == 1  # a preview changes nothing

    done = flow.engine.merges.merge(flow.actor("sales_dir"), keep.id, duplicate.id)
    assert done.moves == plan.moves
    for model in (Contact, Activity, Opportunity, ProcessInstance):
        assert _count(flow, model, duplicate.id) == 0 and _count(flow, model, keep.id) == 1
    with flow.engine.db.sessions() as session:
        kept = flow.engine.customers.get(session, flow.actor("admin"), keep.id)
        assert kept.industry == "货运代理" and kept.phone == duplicate.phone and kept.owner == "sales1"
        assert session.get(Customer, duplicate.id) is None
        kinds = [e.kind for e in flow.engine.customers.timeline(session, kept)]
        audit = session.scalars(select(HistoryEvent).where(HistoryEvent.action == "customer_merge", HistoryEvent.user == "sales_dir")).all()
    assert "complaint" in kinds and "activity" in kinds and "opportunity" in kinds
    assert any((e.data or {}).get("duplicate_id") == duplicate.id and (e.data or {}).get("customer_id") == keep.id for e in audit)
    assert flow.instance(complaint_id).customer_id == keep.id


def test_only_admins_and_the_sales_director_merge_and_mistakes_change_nothing(flow: Flow) -> None:
    keep, duplicate, _ = _pair(flow)
    for username in ("sales1", "sales_asst", "gm"):
        with pytest.raises(Forbidden):
            flow.engine.merges.merge(flow.actor(username), keep.id, duplicate.id)
    for bad in (keep.id, "7", None, True, 2_000_000_000, 2**40):  # itself, not ids, none such, beyond any id
        with pytest.raises(ValidationFailed):
            flow.engine.merges.merge(flow.actor("admin"), keep.id, bad)
    with pytest.raises(NotFound):
        flow.engine.merges.merge(flow.actor("admin"), 2_000_000_000, duplicate.id)
    assert _count(flow, Contact, duplicate.id) == 1
    flow.engine.merges.merge(flow.actor("admin"), keep.id, duplicate.id)
    with pytest.raises(ValidationFailed):  # merged already: the duplicate is gone
        flow.engine.merges.merge(flow.actor("admin"), keep.id, duplicate.id)


def test_the_merged_away_name_still_means_the_kept_customer(flow: Flow) -> None:
    keep, duplicate, _complaint = _pair(flow)
    flow.engine.merges.merge(flow.actor("admin"), keep.id, duplicate.id)
    later = flow.start("cs_agent1", "complaint_handling", {**COMPLAINT, "customer": f" {duplicate.name} "})
    assert flow.instance(later.id).customer_id == keep.id  # free text naming the old name links to it
    with pytest.raises(Duplicate) as again:  # the duplicate is not created again by hand
        flow.engine.customers.create(flow.actor("sales2"), {"name": duplicate.name})
    assert again.value.extra["existing_id"] == keep.id
    # Merged on again, the name follows: both old names now mean the last one kept.
    third = flow.engine.customers.create(flow.actor("sales1"), {"name": f"第三{secrets.token_hex(3)}贸易有限公司"})
    flow.engine.merges.merge(flow.actor("admin"), third.id, keep.id)
    with flow.engine.db.sessions() as session:
        aliases = dict(session.execute(select(CustomerAlias.name, CustomerAlias.customer_id)).all())
    assert aliases[duplicate.name] == third.id and aliases[keep.name] == third.id
