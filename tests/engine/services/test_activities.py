"""Activities (一般行动): logged on a customer, on one of its opportunities or on a lead, each
touching what it is about; the next step comes due as a follow-up in the assignee's worklist, done
once (optionally with what was done, logged in turn); a lead's activities pass to its customer when
it qualifies; the absent person's substitute is told of new work too."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from engine.errors import Conflict, NotFound, ValidationFailed
from store.models import Activity, Customer, Job, Lead, Notification, Opportunity
from tests.data import lead
from tests.flow import Flow


@pytest.fixture
def owner(new_user: Callable[..., str]) -> str:
    return new_user("sales", ["sales"], superior="sales_dir", display_name="跟进业务员")


def _customer_with_two_opportunities(flow: Flow, owner: str) -> tuple[Customer, Opportunity, Opportunity]:
    customer = flow.engine.customers.create(flow.actor(owner), {"name": f"北仑{secrets.token_hex(3)}贸易有限公司"})
    long_ago = datetime.now(UTC) - timedelta(days=20)
    with flow.engine.db.transaction() as session:
        rows = [
            Opportunity(customer_id=customer.id, title=title, owner=owner, stage="proposal", created_at=long_ago, last_touched_at=long_ago)
            for title in ("年度海运合同", "空运试单")
        ]
        session.add_all(rows)
    return customer, rows[0], rows[1]


def _touched(flow: Flow, opportunity: Opportunity) -> datetime:
    with flow.engine.db.sessions() as session:
        return session.get(Opportunity, opportunity.id).last_touched_at.replace(tzinfo=UTC)


def _due_now(flow: Flow, activity_id: int, when: datetime | None = None) -> None:
    """Time passes: the next step's day has come (or `when`)."""
    with flow.engine.db.transaction() as session:
        session.get(Activity, activity_id).next_at = when or datetime.now(UTC) - timedelta(minutes=1)


def _follow_up_ids(flow: Flow, username: str) -> list[int]:
    with flow.engine.db.sessions() as session:
        items, total = flow.engine.activities.follow_ups(session, flow.actor(username))
    assert total == len(items)
    return [i.activity_id for i in items]


def test_an_activity_on_one_opportunity_touches_it_and_its_customer_but_not_the_other(flow: Flow, owner: str) -> None:
    customer, contract, trial = _customer_with_two_opportunities(flow, owner)
    before = _touched(flow, trial)
    activity = flow.engine.activities.on_opportunity(flow.actor(owner), contract.id, {"kind": "call", "summary": "确认报价"})
    assert (activity.customer_id, activity.opportunity_id) == (customer.id, contract.id)
    assert _touched(flow, contract) > before and _touched(flow, trial) == before
    with flow.engine.db.sessions() as session:
        timeline = flow.engine.customers.timeline(session, flow.engine.customers.get(session, flow.actor(owner), customer.id))
    assert [(e.summary, e.about) for e in timeline if e.kind == "activity"] == [("确认报价", "年度海运合同")]


def test_the_customer_form_may_name_one_of_its_opportunities_but_no_one_elses(flow: Flow, owner: str) -> None:
    customer, contract, trial = _customer_with_two_opportunities(flow, owner)
    _, foreign, _ = _customer_with_two_opportunities(flow, owner)
    data = {"kind": "visit", "summary": "拜访", "opportunity_id": str(trial.id)}
    assert flow.engine.activities.on_customer(flow.actor(owner), customer.id, data).opportunity_id == trial.id
    with pytest.raises(ValidationFailed) as refused:
        flow.engine.activities.on_customer(flow.actor(owner), customer.id, {**data, "opportunity_id": foreign.id})
    assert "opportunity_id" in refused.value.fields
    # Without one, every open opportunity of the customer is touched (the customer is the subject).
    before = _touched(flow, contract)
    flow.engine.activities.on_customer(flow.actor(owner), customer.id, {"kind": "note", "summary": "备注"})
    assert _touched(flow, contract) > before


def test_an_activity_on_a_lead_touches_it_so_the_daily_check_does_not_flag_it_and_passes_to_its_customer(flow: Flow) -> None:
    instance = flow.start("sales1", "lead_qualification", lead())
    lead_id = flow.instance(instance.id).data["lead_id"]
    with flow.engine.db.transaction() as session:  # captured 40 days ago, nobody acted since
        row = session.get(Lead, lead_id)
        row.created_at = datetime.now(UTC) - timedelta(days=40)
    flow.engine.activities.on_lead(flow.actor("sales1"), lead_id, {"kind": "call", "summary": "第一次电话，约下周拜访"})
    with flow.engine.db.transaction() as session:
        assert lead_id not in flow.engine.sweeps.sweep(session, datetime.now(UTC) + timedelta(days=29)).leads
    with flow.engine.db.transaction() as session:
        assert lead_id in flow.engine.sweeps.sweep(session, datetime.now(UTC) + timedelta(days=31)).leads

    flow.complete("sales1", instance.id, "verify_lead", {"outcome": "qualified", "grade": "A"})
    flow.complete("sales_dir", instance.id, "director_review", {"decision": "approve"})
    customer_id = flow.instance(instance.id).data["customer_id"]
    with flow.engine.db.sessions() as session:
        timeline = flow.engine.customers.timeline(session, flow.engine.customers.get(session, flow.actor("sales1"), customer_id))
    assert "第一次电话，约下周拜访" in [e.summary for e in timeline if e.kind == "activity"]
    with pytest.raises(Conflict):  # qualified: what comes next is logged on the customer
        flow.engine.activities.on_lead(flow.actor("sales1"), lead_id, {"kind": "note", "summary": "x"})


def test_a_lead_is_logged_on_by_those_who_may_see_it_and_no_one_else(flow: Flow) -> None:
    instance = flow.start("sales1", "lead_qualification", lead())
    lead_id = flow.instance(instance.id).data["lead_id"]
    flow.engine.activities.on_lead(flow.actor("sales_dir"), lead_id, {"kind": "note", "summary": "总监批注"})
    for outsider in ("cs_agent1", "finance1"):
        with pytest.raises(NotFound):
            flow.engine.activities.on_lead(flow.actor(outsider), lead_id, {"kind": "note", "summary": "看不到"})
    with pytest.raises(NotFound):
        flow.engine.activities.on_lead(flow.actor("sales1"), 2147483647, {"kind": "note", "summary": "没有这个线索"})


def test_a_next_step_is_a_follow_up_from_its_day_until_done_once(flow: Flow, owner: str) -> None:
    customer, _, _ = _customer_with_two_opportunities(flow, owner)
    tomorrow = (datetime.now(UTC) + timedelta(days=2)).date().isoformat()
    data = {"kind": "call", "summary": "报价已发", "next_step": "电话确认报价", "next_at": tomorrow}
    activity = flow.engine.activities.on_customer(flow.actor(owner), customer.id, data)
    assert activity.id not in _follow_up_ids(flow, owner)  # not before its day

    _due_now(flow, activity.id)
    assert activity.id in _follow_up_ids(flow, owner)
    with flow.engine.db.sessions() as session:
        (item,) = [i for i in flow.engine.activities.follow_ups(session, flow.actor(owner))[0] if i.activity_id == activity.id]
    assert (item.step, item.about, item.customer_id, item.overdue) == ("电话确认报价", customer.name, customer.id, False)
    assert activity.id not in _follow_up_ids(flow, "sales1")  # someone else's

    with pytest.raises(NotFound):  # nobody else closes it
        flow.engine.activities.done(flow.actor("sales1"), activity.id, {})
    logged = flow.engine.activities.done(flow.actor(owner), activity.id, {"summary": "客户确认，下月下单"})
    assert logged is not None and (logged.customer_id, logged.kind, logged.summary) == (customer.id, "note", "客户确认，下月下单")
    assert activity.id not in _follow_up_ids(flow, owner)
    with pytest.raises(Conflict):
        flow.engine.activities.done(flow.actor(owner), activity.id, {})

    # Its reminder, falling due after it was done, says nothing.
    with flow.engine.db.transaction() as session:
        job = session.scalars(
            select(Job).where(Job.kind == "activity_reminder", Job.payload["activity_id"].as_integer() == activity.id)
        ).one()
        assert flow.engine.activities.remind(session, job, datetime.now(UTC)) == "obsolete"


def test_yesterdays_follow_up_is_overdue_and_a_superior_may_close_it(flow: Flow, owner: str) -> None:
    customer, _, _ = _customer_with_two_opportunities(flow, owner)
    data = {"kind": "visit", "summary": "拜访", "next_step": "送样品", "next_at": (date.today() + timedelta(days=3)).isoformat()}
    activity = flow.engine.activities.on_customer(flow.actor("sales_dir"), customer.id, {**data, "assignee": owner})
    _due_now(flow, activity.id, datetime.now(UTC) - timedelta(days=2))
    with flow.engine.db.sessions() as session:
        (item,) = [i for i in flow.engine.activities.follow_ups(session, flow.actor(owner))[0] if i.activity_id == activity.id]
    assert item.overdue and item.assignee == owner
    assert flow.engine.activities.done(flow.actor("sales_dir"), activity.id, {}) is None
    assert activity.id not in _follow_up_ids(flow, owner)


def test_a_follow_up_is_validated_before_it_is_closed(flow: Flow, owner: str) -> None:
    customer, _, _ = _customer_with_two_opportunities(flow, owner)
    data = {"kind": "call", "summary": "s", "next_step": "n", "next_at": (date.today() + timedelta(days=3)).isoformat()}
    activity = flow.engine.activities.on_customer(flow.actor(owner), customer.id, data)
    _due_now(flow, activity.id)
    with pytest.raises(ValidationFailed):
        flow.engine.activities.done(flow.actor(owner), activity.id, {"summary": "x" * 2001})
    assert activity.id in _follow_up_ids(flow, owner)  # unchanged


def test_the_absent_persons_substitute_is_told_of_work_assigned_to_them(flow: Flow, new_user: Callable[..., str]) -> None:
    away = new_user("sales", ["sales"], superior="sales_dir", display_name="出差的业务员")
    stand_in = new_user("sales", ["sales"], superior="sales_dir")
    today = flow.engine.identity.today()
    flow.engine.substitutes.name(flow.actor(away), away, {"username": stand_in, "from": today.isoformat(), "until": today.isoformat()})
    instance = flow.start("sales1", "lead_qualification", lead())
    task = flow.task(instance.id, "verify_lead")
    flow.engine.tasks.assign(flow.actor("sales_dir"), task.id, away)
    with flow.engine.db.sessions() as session:
        notes = session.scalars(select(Notification).where(Notification.task_id == task.id, Notification.kind == "assigned")).all()
    by_user = {n.username: n.message for n in notes}
    assert set(by_user) == {away, stand_in}
    assert by_user[stand_in].startswith("（代出差的业务员）") and by_user[stand_in].endswith(by_user[away])
