"""Handover: the dry run lists everything a leaving salesperson owns and holds, the handover moves
exactly that in one audited transaction, future tasks of their running instances reach the
successor, and the successor gets one notice with the list."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from engine.clock import aware
from engine.errors import Forbidden, NotFound, ValidationFailed
from processes.demo import USERS
from store.models import Activity, HistoryEvent, Job, Notification
from tests.data import lead
from tests.flow import Flow


@pytest.fixture
def leaver(flow: Flow) -> str:
    """A salesperson of their own (other tests' work stays out of the lists)."""
    name = f"sales_{secrets.token_hex(3)}"
    flow.engine.admin.create_user(
        flow.actor("admin"),
        {"username": name, "password": "demo pass", "display_name": "离职业务员", "roles": ["sales"], "superior": "sales_dir"},
    )
    assert "sales_dir" in USERS
    return name


def test_the_dry_run_lists_it_and_the_handover_moves_exactly_that(flow: Flow, leaver: str) -> None:
    me = flow.actor(leaver)
    customer = flow.engine.customers.create(me, {"name": f"奉化{secrets.token_hex(3)}贸易有限公司"})
    open_lead = flow.start(leaver, "lead_qualification", lead())  # verify_lead is assigned to them
    due = (datetime.now(UTC) + timedelta(days=20)).date().isoformat()
    receivable = flow.start(
        "sales_asst", "receivable_collection", {"customer": customer.name, "contract_no": "HT-9", "amount": 10, "due_date": due}
    )
    assert flow.instance(receivable.id).data["owner"] == leaver
    step = {"kind": "call", "summary": "报价", "next_step": "回电确认", "next_at": due}
    follow_up = flow.engine.activities.on_customer(me, customer.id, step)
    done_one = flow.engine.activities.on_customer(me, customer.id, step)
    flow.engine.activities.done(me, done_one.id, {})  # done: stays theirs, as history

    plan = flow.engine.handover.dry_run(flow.actor("admin"), leaver, "sales2")
    counts = {"customers": 1, "leads": 1, "opportunities": 0, "receivables": 1, "tasks": 1, "instances": 1, "follow_ups": 1}
    assert plan.counts() == counts and plan.follow_ups == [(follow_up.id, "回电确认")]
    assert flow.task(open_lead.id, "verify_lead").assignee == leaver  # a dry run changes nothing

    done = flow.engine.handover.hand_over(flow.actor("admin"), leaver, "sales2")
    assert done.counts() == plan.counts()
    assert flow.task(open_lead.id, "verify_lead").assignee == "sales2"
    with flow.engine.db.sessions() as session:
        assert session.get(Activity, follow_up.id).assignee == "sales2"
        assert session.get(Activity, done_one.id).assignee == leaver
        assert flow.engine.customers.get(session, flow.actor("sales2"), customer.id).owner == "sales2"
        audit = session.scalars(select(HistoryEvent).where(HistoryEvent.action == "admin.user.handover")).all()
        notes = session.scalars(select(Notification).where(Notification.username == "sales2", Notification.kind == "handover")).all()
    assert any((e.data or {}).get("username") == leaver and e.user == "admin" for e in audit)
    assert notes and leaver in notes[-1].message and customer.name in notes[-1].message
    assert flow.engine.handover.dry_run(flow.actor("admin"), leaver, "sales2").empty  # nothing left behind

    # Future work of the running instances goes to the successor: the lead's follow-up, the dunning.
    flow.complete("sales2", open_lead.id, "verify_lead", {"outcome": "unclear"})
    with flow.engine.db.sessions() as session:
        wait = session.scalar(
            select(Job).where(Job.instance_id == open_lead.id, Job.element_id == "follow_up_wait", Job.status == "pending")
        )
    assert wait is not None
    flow.engine.jobs.run_due(aware(wait.due_at) + timedelta(seconds=1))  # type: ignore[operator]
    assert flow.task(open_lead.id, "follow_up").assignee == "sales2"
    assert flow.instance(receivable.id).data["owner"] == "sales2"
    flow.assert_rows_mirror_workflow(receivable.id)


def test_only_admins_hand_over_and_bad_names_are_refused(flow: Flow, leaver: str) -> None:
    with pytest.raises(Forbidden):
        flow.engine.handover.dry_run(flow.actor("sales_dir"), leaver, "sales2")
    with pytest.raises(NotFound):
        flow.engine.handover.dry_run(flow.actor("admin"), "nobody_here", "sales2")
    for bad in ("", leaver, "nobody_here"):
        with pytest.raises(ValidationFailed):
            flow.engine.handover.hand_over(flow.actor("admin"), leaver, bad)
