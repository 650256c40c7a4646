"""The customer file: who sees which customer (DOMAIN.md), duplicates refused by the normalised
rule, the timeline across processes, activities with their reminders, and who may change what."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from engine.errors import Forbidden, NotFound, ValidationFailed
from engine.services.customers import CustomerFilter, Duplicate
from store.models import Customer, HistoryEvent, Notification
from tests.data import COMPLAINT, lead
from tests.flow import Flow


def _name() -> str:
    return f"北仑{secrets.token_hex(3)}国际货运代理有限公司"


def _sees(flow: Flow, username: str, customer_id: int) -> bool:
    with flow.engine.db.sessions() as session:
        try:
            flow.engine.customers.get(session, flow.actor(username), customer_id)
        except NotFound:
            return False
        listed, _total, _page = flow.engine.customers.query(session, flow.actor(username), CustomerFilter(), per_page=10_000)
        assert customer_id in {c.id for c in listed}, "the list and the page must agree"
        return True


def test_a_salespersons_customer_is_seen_by_them_their_superiors_the_assistants_and_management(flow: Flow) -> None:
    customer = flow.engine.customers.create(flow.actor("sales1"), {"name": _name(), "industry": "货运代理"})
    assert customer.owner == "sales1" and customer.status == "potential"
    seen = {
        u: _sees(flow, u, customer.id) for u in ("sales1", "sales_dir", "sales_asst", "gm", "admin", "sales2", "cs_agent1", "store_staff")
    }
    assert seen == {
        "sales1": True,
        "sales_dir": True,  # superior, and the sales director
        "sales_asst": True,  # shared with the sales assistants (seed 001)
        "gm": True,
        "admin": True,
        "sales2": False,  # a colleague's customer: 404
        "cs_agent1": False,
        "store_staff": False,
    }


def test_customer_service_sees_the_customers_of_the_complaints_it_works_on(flow: Flow) -> None:
    name = _name()
    customer = flow.engine.customers.create(flow.actor("sales1"), {"name": name})
    assert not _sees(flow, "cs_agent1", customer.id)
    instance = flow.start("cs_agent1", "complaint_handling", {**COMPLAINT, "customer": name.replace("有限公司", " 有限公司 ")})
    assert flow.instance(instance.id).customer_id == customer.id  # linked by the normalised name
    assert _sees(flow, "cs_agent1", customer.id)
    assert not _sees(flow, "cs_agent2", customer.id)  # not their complaint
    flow.complete("cs_sup", instance.id, "assess", {"valid": False})
    assert _sees(flow, "cs_sup", customer.id)


def test_a_duplicate_is_refused_with_the_existing_customer(flow: Flow) -> None:
    name = _name()
    first = flow.engine.customers.create(flow.actor("sales1"), {"name": name, "phone": "0574-8765 4321"})
    with pytest.raises(Duplicate) as refused:
        flow.engine.customers.create(flow.actor("sales2"), {"name": f"  {name.upper()} "})
    assert refused.value.extra["existing_id"] == first.id
    with pytest.raises(Duplicate):
        flow.engine.customers.create(flow.actor("sales2"), {"name": _name(), "phone": "(0574) 87654321"})
    with pytest.raises(ValidationFailed) as bad:
        flow.engine.customers.create(flow.actor("sales2"), {"name": " ", "status": "vip", "email": "x"})
    assert set(bad.value.fields) == {"name", "status", "email"}
    with flow.engine.db.sessions() as session:
        assert session.scalar(select(Customer.id).where(Customer.name_norm == "")) is None  # nothing half-written


def test_the_timeline_shows_the_lead_the_complaint_and_the_activities_newest_first(flow: Flow) -> None:
    data = lead()
    instance = flow.start("sales1", "lead_qualification", data)
    flow.complete("sales1", instance.id, "verify_lead", {"outcome": "qualified", "grade": "A"})
    flow.complete("sales_dir", instance.id, "director_review", {"decision": "approve"})
    customer_id = flow.instance(instance.id).data["customer_id"]
    assert flow.instance(instance.id).customer_id == customer_id  # the qualified lead is the customer's
    complaint = flow.start("cs_agent1", "complaint_handling", {**COMPLAINT, "customer": data["company"]})
    flow.engine.activities.on_customer(flow.actor("sales1"), customer_id, {"kind": "visit", "summary": "拜访了采购部"})
    with flow.engine.db.sessions() as session:
        customer = flow.engine.customers.get(session, flow.actor("sales1"), customer_id)
        timeline = flow.engine.customers.timeline(session, customer)
    kinds = [(e.kind, e.instance_id) for e in timeline]
    assert kinds[0] == ("activity", None)
    assert ("complaint", complaint.id) in kinds and ("lead", instance.id) in kinds and ("opportunity", None) in kinds
    assert kinds.index(("complaint", complaint.id)) < kinds.index(("lead", instance.id))
    assert [e.at for e in timeline] == sorted((e.at for e in timeline), reverse=True)
    assert customer.last_touched_at is not None


def test_an_activitys_next_step_reminds_its_assignee_on_its_time_and_not_before(flow: Flow) -> None:
    customer = flow.engine.customers.create(flow.actor("sales1"), {"name": _name()})
    when = datetime.now(UTC) + timedelta(days=3)
    flow.engine.activities.on_customer(
        flow.actor("sales_dir"),
        customer.id,
        {"kind": "call", "summary": "请跟进报价", "assignee": "sales1", "next_at": when.isoformat(), "next_step": "电话确认报价"},
    )

    def reminders() -> list[str]:
        with flow.engine.db.sessions() as session:
            rows = session.scalars(select(Notification).where(Notification.customer_id == customer.id, Notification.kind == "reminder"))
            return [f"{n.username}:{n.message}" for n in rows]

    with flow.engine.db.sessions() as session:
        assigned = session.scalars(
            select(Notification.username).where(Notification.customer_id == customer.id, Notification.kind == "activity")
        ).all()
    assert assigned == ["sales1"]  # told at once that the director gave them an activity
    # The reminder belongs to no instance: only such jobs move on, not the other tests' timers.
    flow.engine.jobs.run_due(when - timedelta(minutes=1), instances=[])
    assert reminders() == []
    flow.engine.jobs.run_due(when + timedelta(seconds=1), instances=[])
    assert reminders() == [f"sales1:{customer.name}：电话确认报价"]
    flow.engine.jobs.run_due(when + timedelta(minutes=5), instances=[])
    assert len(reminders()) == 1  # once


def test_activities_are_ones_own_or_assigned_by_a_superior(flow: Flow) -> None:
    customer = flow.engine.customers.create(flow.actor("sales1"), {"name": _name()})
    with pytest.raises(Forbidden):
        flow.engine.activities.on_customer(flow.actor("sales1"), customer.id, {"kind": "note", "summary": "x", "assignee": "sales2"})
    with pytest.raises(ValidationFailed) as bad:
        flow.engine.activities.on_customer(
            flow.actor("sales1"), customer.id, {"kind": "fax", "summary": "", "next_at": "2020-01-01", "next_step": "过去"}
        )
    assert set(bad.value.fields) == {"kind", "summary", "next_at"}
    with pytest.raises(NotFound):
        flow.engine.activities.on_customer(flow.actor("sales2"), customer.id, {"kind": "note", "summary": "看不到的客户"})


def test_who_may_change_a_customer_and_give_it_to_someone_else(flow: Flow) -> None:
    customer = flow.engine.customers.create(flow.actor("sales1"), {"name": _name()})
    updated = flow.engine.customers.update(flow.actor("sales_asst"), customer.id, {"grade": "A", "status": "trading"})
    assert (updated.grade, updated.status) == ("A", "trading")
    with pytest.raises(Forbidden):
        flow.engine.customers.update(flow.actor("sales1"), customer.id, {"owner": "sales2"})  # not the owner's to give away
    with pytest.raises(Forbidden):
        flow.engine.customers.update(flow.actor("sales_asst"), customer.id, {"owner": "sales2"})
    with pytest.raises(NotFound):
        flow.engine.customers.update(flow.actor("sales2"), customer.id, {"notes": "x"})
    moved = flow.engine.customers.update(flow.actor("sales_dir"), customer.id, {"owner": "sales2"})
    assert moved.owner == "sales2" and _sees(flow, "sales2", customer.id) and not _sees(flow, "sales1", customer.id)
    with flow.engine.db.sessions() as session:
        actions = [
            (e.user, e.action)
            for e in session.scalars(select(HistoryEvent).where(HistoryEvent.action.like("customer_%")).order_by(HistoryEvent.id))
            if (e.data or {}).get("customer_id") == customer.id
        ]
    assert actions == [("sales1", "customer_create"), ("sales_asst", "customer_update"), ("sales_dir", "customer_update")]


def test_contacts_belong_to_those_who_keep_the_file(flow: Flow) -> None:
    customer = flow.engine.customers.create(flow.actor("sales1"), {"name": _name()})
    contact = flow.engine.customers.add_contact(
        flow.actor("sales1"), customer.id, {"name": "王经理", "title": "采购经理", "birthday": "1980-05-17", "relationship": "key"}
    )
    assert contact.birthday is not None and contact.birthday.month == 5
    with pytest.raises(ValidationFailed):
        flow.engine.customers.add_contact(flow.actor("sales1"), customer.id, {"name": "", "birthday": "17/05"})
    with pytest.raises(NotFound):
        flow.engine.customers.add_contact(flow.actor("cs_agent1"), customer.id, {"name": "外人"})
    with flow.engine.db.sessions() as session:
        assert [c.name for c in flow.engine.customers.contacts(session, customer.id)] == ["王经理"]


def test_the_list_filters_by_owner_status_grade_industry_text_and_untouched_days(flow: Flow) -> None:
    tag = secrets.token_hex(3)
    a = flow.engine.customers.create(flow.actor("sales1"), {"name": f"{tag}一号公司", "industry": f"行业{tag}", "grade": "A"})
    b = flow.engine.customers.create(flow.actor("sales2"), {"name": f"{tag}二号公司", "industry": f"行业{tag}", "status": "trading"})
    flow.engine.activities.on_customer(flow.actor("sales2"), b.id, {"kind": "call", "summary": "回访"})

    def ids(username: str, **params: str) -> list[int]:
        with flow.engine.db.sessions() as session:
            rows, total, _ = flow.engine.customers.query(session, flow.actor(username), CustomerFilter.from_params({"q": tag, **params}))
            assert total == len(rows)
            return [c.id for c in rows]

    assert ids("sales_dir") == [a.id, b.id]
    assert ids("sales1") == [a.id]
    assert ids("sales_dir", owner="sales2") == [b.id]
    assert ids("sales_dir", status="trading") == [b.id]
    assert ids("sales_dir", grade="A") == [a.id]
    assert ids("sales_dir", industry=f"行业{tag}") == [a.id, b.id]
    assert ids("sales_dir", status="nonsense") == [a.id, b.id]  # an unknown value is no filter
    with flow.engine.db.transaction() as session:  # a is 40 days old and untouched
        session.get(Customer, a.id).created_at = datetime.now(UTC) - timedelta(days=40)  # type: ignore[union-attr]
    assert ids("sales_dir", untouched_days="30") == [a.id]


def test_a_customer_filed_later_takes_the_complaints_that_named_it_before(flow: Flow) -> None:
    name = _name()
    before = flow.start("cs_agent1", "complaint_handling", {**COMPLAINT, "customer": name})
    assert flow.instance(before.id).customer_id is None  # nobody of that name on file yet
    customer = flow.engine.customers.create(flow.actor("sales1"), {"name": name.replace("有限公司", "（有限公司）")})
    assert flow.instance(before.id).customer_id == customer.id
    renamed = flow.engine.customers.create(flow.actor("sales1"), {"name": _name()})
    other = flow.start("cs_agent1", "complaint_handling", {**COMPLAINT, "customer": "改名前的公司"})
    flow.engine.customers.update(flow.actor("sales1"), renamed.id, {"name": "改名前的公司"})
    assert flow.instance(other.id).customer_id == renamed.id
    assert flow.instance(before.id).customer_id == customer.id  # a rename takes only what had no customer


def test_an_instance_from_before_the_customer_file_is_linked_on_its_next_step(flow: Flow) -> None:
    from sqlalchemy import update

    from store.models import ProcessInstance

    name = _name()
    customer = flow.engine.customers.create(flow.actor("sales1"), {"name": name})
    instance = flow.start("cs_agent1", "complaint_handling", {**COMPLAINT, "customer": name})
    with flow.engine.db.transaction() as session:  # as migration 0010 left a running instance: no link, no name
        session.execute(update(ProcessInstance).where(ProcessInstance.id == instance.id).values(customer_id=None, customer_norm=None))
    flow.complete("cs_sup", instance.id, "assess", {"valid": False})
    assert flow.instance(instance.id).customer_id == customer.id
