"""The fourth shipped process, receivable_collection, branch by branch (DOMAIN.md's contract): the
owner from the customer file, payments recorded by the sales assistant until paid (partial
payments keep it open with the rest outstanding), the reminder 7 days before, dunning on the due
date and every week after while unpaid, the escalation 30 days past due, outcome `paid` ending
everything."""

from __future__ import annotations

import secrets
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select

from engine.clock import aware
from store.models import Job, Notification
from tests.flow import Flow

SHANGHAI_NINE = 1  # 09:00 in Shanghai is 01:00 UTC


def _receivable(
    flow: Flow, amount: float = 1000, owner_of_customer: str | None = "sales1", days: int = 20, **extra: object
) -> tuple[int, str, date]:
    name = f"慈溪{secrets.token_hex(3)}电器有限公司"
    if owner_of_customer:
        flow.engine.customers.create(flow.actor(owner_of_customer), {"name": name})
    due = (datetime.now(UTC) + timedelta(days=days)).date()
    data = {"customer": name, "contract_no": f"HT-{secrets.token_hex(2)}", "amount": amount, "due_date": due.isoformat(), **extra}
    return flow.start("sales_asst", "receivable_collection", data).id, name, due


def _job(flow: Flow, instance_id: int, element: str) -> Job | None:
    with flow.engine.db.sessions() as session:
        return session.scalar(select(Job).where(Job.instance_id == instance_id, Job.element_id == element, Job.status == "pending"))


def _fire(flow: Flow, instance_id: int, element: str) -> datetime:
    job = _job(flow, instance_id, element)
    assert job is not None, f"no pending {element}"
    due = aware(job.due_at)
    assert due is not None
    flow.engine.jobs.run_due(due + timedelta(seconds=1))
    return due


def _notes(flow: Flow, instance_id: int, kind: str) -> list[str]:
    with flow.engine.db.sessions() as session:
        rows = session.scalars(select(Notification).where(Notification.instance_id == instance_id, Notification.kind == kind))
        return sorted(n.username for n in rows)


def test_partial_payments_keep_it_open_until_paid_and_paid_ends_everything(flow: Flow) -> None:
    iid, name, due = _receivable(flow, amount=1000)
    data = flow.instance(iid).data
    assert data["owner"] == "sales1" and data["outstanding"] == 1000  # the customer's owner
    step = flow.task(iid, "record_payment")
    assert step.candidate_roles == "sales_assistant" and step.customer == name and step.amount == 1000
    assert aware(step.due_at) == datetime(due.year, due.month, due.day, SHANGHAI_NINE, tzinfo=UTC)  # due today / this week filters
    assert flow.instance(iid).customer_id is not None

    flow.complete("sales_asst", iid, "record_payment", {"paid_amount": 400, "paid_on": date.today().isoformat()})
    data = flow.instance(iid).data
    assert (data["paid_total"], data["outstanding"]) == (400, 600)
    assert flow.task(iid, "record_payment").amount == 600  # the worklist shows what is still outstanding
    assert _job(flow, iid, "wait_escalation") is not None

    finished = flow.complete("sales_asst", iid, "record_payment", {"paid_amount": 600})
    assert finished.status == "completed" and finished.data["outcome"] == "paid"
    assert flow.open_tasks(iid) == []
    assert all(_job(flow, iid, e) is None for e in ("wait_reminder", "wait_due", "wait_escalation"))  # cancelled with it
    assert _notes(flow, iid, "info") == ["sales1"]
    flow.assert_rows_mirror_workflow(iid)


def test_reminder_seven_days_before_then_dunning_on_the_due_date_and_every_week(flow: Flow) -> None:
    iid, _name, due = _receivable(flow, amount=500)
    reminded = _fire(flow, iid, "wait_reminder")
    assert reminded == datetime(due.year, due.month, due.day, SHANGHAI_NINE, tzinfo=UTC) - timedelta(days=7)
    assert _notes(flow, iid, "reminder") == ["sales1"]
    assert "dunning" not in flow.task_keys(iid)

    _fire(flow, iid, "wait_due")
    dunning = flow.task(iid, "dunning")
    assert dunning.assignee == "sales1"
    flow.complete("sales1", iid, "dunning", {"result": "promised", "promised_date": (due + timedelta(days=3)).isoformat()})
    week = _job(flow, iid, "wait_week")
    assert week is not None
    assert abs(aware(week.due_at) - datetime.now(UTC) - timedelta(days=7)) < timedelta(minutes=5)  # type: ignore[operator]
    _fire(flow, iid, "wait_week")
    assert flow.task(iid, "dunning").assignee == "sales1"  # chased again while unpaid
    assert sorted(flow.task_keys(iid)) == ["dunning", "record_payment"]

    done = flow.complete("sales_asst", iid, "record_payment", {"paid_amount": 500})
    assert done.data["outcome"] == "paid" and flow.open_tasks(iid) == []  # the dunning goes with it


def test_thirty_days_past_due_the_sales_director_is_alerted(flow: Flow) -> None:
    iid, _name, due = _receivable(flow, amount=800, days=-29)  # due 29 days ago: the reminder and dunning are due now
    escalated = _fire(flow, iid, "wait_escalation")
    assert escalated == datetime(due.year, due.month, due.day, SHANGHAI_NINE, tzinfo=UTC) + timedelta(days=30)
    assert "sales_dir" in _notes(flow, iid, "escalation")  # every sales director (other tests add some)
    assert "record_payment" in flow.task_keys(iid)  # collection goes on


def test_the_owner_is_the_one_named_else_the_customers_else_the_starter(flow: Flow) -> None:
    named, _n, _d = _receivable(flow, owner="sales2")
    assert flow.instance(named).data["owner"] == "sales2"
    unknown, _n, _d = _receivable(flow, owner_of_customer=None)
    assert flow.instance(unknown).data["owner"] == "sales_asst"
    nobody, _n, _d = _receivable(flow, owner="no_such_user")
    assert flow.instance(nobody).data["owner"] == "sales1"


def test_the_receivable_is_in_its_customers_timeline(flow: Flow) -> None:
    iid, name, _due = _receivable(flow)
    with flow.engine.db.sessions() as session:
        customer_id = flow.instance(iid).customer_id
        assert customer_id is not None
        customer = flow.engine.customers.get(session, flow.actor("sales1"), customer_id)
        kinds = [(e.kind, e.instance_id) for e in flow.engine.customers.timeline(session, customer)]
    assert ("receivable", iid) in kinds and customer.name == name
