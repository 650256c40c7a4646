"""Sales lead qualification (销售线索管理): duplicates, verification outcomes, follow-ups, grade A."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from engine.errors import Forbidden, ValidationFailed
from engine.services.management import run_due_jobs
from store.models import Customer, Lead, Opportunity
from tests.data import lead
from tests.flow import Flow


def test_a_new_lead_goes_to_its_owner_and_qualifies_into_a_customer(flow: Flow) -> None:
    data = lead()
    instance = flow.start("sales1", "lead_qualification", data)
    verify = flow.task(instance.id, "verify_lead")
    assert verify.assignee == "sales1"
    assert verify.due_at is not None
    assert verify.id in flow.mine_ids("sales1", instance.id)
    assert verify.id not in flow.mine_ids("sales2", instance.id) | flow.available_ids("sales2", instance.id)
    done = flow.complete("sales1", instance.id, "verify_lead", {"outcome": "qualified", "grade": "B"})
    assert done.status == "completed" and done.data["outcome"] == "qualified"
    with flow.engine.db.sessions() as session:
        customer = session.get(Customer, done.data["customer_id"])
        opportunity = session.get(Opportunity, done.data["opportunity_id"])
    assert customer is not None and customer.name == data["company"] and customer.owner == "sales1"
    assert opportunity is not None and opportunity.customer_id == customer.id


def test_a_likely_duplicate_goes_to_the_sales_director_who_merges_it(flow: Flow) -> None:
    original = lead()
    first = flow.start("sales1", "lead_qualification", original)
    duplicate = flow.start("sales2", "lead_qualification", {**lead(), "company": original["company"].replace("有限公司", "")})
    assert flow.task_keys(duplicate.id) == ["resolve_duplicate"]
    assert flow.task(duplicate.id, "resolve_duplicate").candidate_roles == "sales_director"
    done = flow.complete("sales_dir", duplicate.id, "resolve_duplicate", {"decision": "merge"})
    assert done.status == "completed" and done.data["outcome"] == "merged"
    with flow.engine.db.sessions() as session:
        merged = session.scalar(select(Lead).where(Lead.instance_id == duplicate.id))
        kept = session.scalar(select(Lead).where(Lead.instance_id == first.id))
    assert merged is not None and kept is not None
    assert merged.status == "merged" and merged.merged_into == kept.id


def test_a_duplicate_the_director_keeps_goes_on_to_verification(flow: Flow) -> None:
    original = lead()
    flow.start("sales1", "lead_qualification", original)
    duplicate = flow.start("sales2", "lead_qualification", {**lead(), "email": original["email"]})
    flow.complete("sales_dir", duplicate.id, "resolve_duplicate", {"decision": "keep"})
    assert flow.task(duplicate.id, "verify_lead").assignee == "sales2"


def test_an_invalid_lead_needs_a_reason_and_is_abandoned(flow: Flow) -> None:
    instance = flow.start("sales1", "lead_qualification", lead())
    with pytest.raises(ValidationFailed) as raised:
        flow.complete("sales1", instance.id, "verify_lead", {"outcome": "invalid"})
    assert "reason" in raised.value.fields
    done = flow.complete("sales1", instance.id, "verify_lead", {"outcome": "invalid", "reason": "空号，无法联系"})
    assert done.data["outcome"] == "invalid"


@pytest.mark.parametrize(("decision", "outcome"), [("approve", "qualified"), ("reject", "invalid")])
def test_a_grade_a_lead_needs_the_directors_approval(flow: Flow, decision: str, outcome: str) -> None:
    instance = flow.start("sales1", "lead_qualification", lead(estimated_value=500000))
    flow.complete("sales1", instance.id, "verify_lead", {"outcome": "qualified", "grade": "A"})
    review = flow.task(instance.id, "director_review")
    assert review.candidate_roles == "sales_director"
    done = flow.complete("sales_dir", instance.id, "director_review", {"decision": decision, "comment": "ok"})
    assert done.data["outcome"] == outcome


def test_an_unclear_lead_is_followed_up_after_the_interval_and_verified_again(flow: Flow) -> None:
    instance = flow.start("sales1", "lead_qualification", lead())
    flow.complete("sales1", instance.id, "verify_lead", {"outcome": "unclear"})
    assert flow.task_keys(instance.id) == []  # waiting for the follow-up interval
    run_due_jobs(flow.engine, flow.engine.clock() + timedelta(days=1))
    assert flow.task_keys(instance.id) == []
    run_due_jobs(flow.engine, flow.engine.clock() + timedelta(days=8))
    follow_up = flow.task(instance.id, "follow_up")
    assert follow_up.assignee == "sales1"
    flow.complete("sales1", instance.id, "follow_up", {"note": "已电话联系，客户下月再谈"})
    assert flow.task_keys(instance.id) == ["verify_lead"]


def test_after_three_follow_up_rounds_the_director_decides(flow: Flow) -> None:
    instance = flow.start("sales1", "lead_qualification", lead())
    follow_ups = 0
    for _verification in range(5):
        flow.complete("sales1", instance.id, "verify_lead", {"outcome": "unclear"})
        if flow.task_keys(instance.id) == ["director_review"]:
            break
        run_due_jobs(flow.engine, flow.engine.clock() + timedelta(days=8))
        flow.complete("sales1", instance.id, "follow_up", {"note": "仍不明确"})
        follow_ups += 1
    assert follow_ups == 3
    assert flow.task_keys(instance.id) == ["director_review"]
    done = flow.complete("sales_dir", instance.id, "director_review", {"decision": "reject", "comment": "放弃"})
    assert done.data["outcome"] == "invalid"


def test_only_sales_may_capture_leads(flow: Flow) -> None:
    with pytest.raises(Forbidden):
        flow.start("cs_agent1", "lead_qualification", lead())


def test_the_owner_is_not_told_of_the_task_their_own_start_gave_them(flow: Flow) -> None:
    """#13.14: starting a lead puts verify_lead in the starter's own list at once; a notice
    "assigned" for it, seconds later, was noise (tests/processes/approval_chain: a task someone
    else's action gives is still told)."""
    instance = flow.start("sales1", "lead_qualification", lead())
    assert flow.task(instance.id, "verify_lead").assignee == "sales1"
    assert [(n.username, n.kind) for n in flow.notifications(instance.id) if n.kind == "assigned"] == []
