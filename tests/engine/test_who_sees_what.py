"""For each step of each process: exactly which demo users are offered the task or hold it."""

from __future__ import annotations

import pytest

from engine.services.identity import Actor
from processes.demo import USERS
from tests.conftest import FIXTURES
from tests.data import COMPLAINT, approval_request, lead
from tests.engine.services.test_statement_budget import statements
from tests.flow import Flow

# (task key, who completes it, the data) in process order, with the users who must see it.
COMPLAINT_STEPS = [
    ("assess", "cs_sup", {"valid": True}, {"cs_sup"}),
    ("assign_department", "cs_sup", {"department": "customs"}, {"cs_sup"}),
    ("analyze_cause", "cu_staff", {"cause": "单证错误"}, {"cu_staff", "cu_lead"}),
    # the handler who analysed keeps the case (#13.4): theirs, no longer the department's pool
    ("propose_resolution", "cu_staff", {"resolution_type": "apology", "plan": "致歉"}, {"cu_staff"}),
    ("leader_approval", "vp_service", {"decision": "approve"}, {"vp_service"}),
    ("gm_approval", "gm", {"decision": "approve"}, {"gm"}),
    ("implement", "cu_staff", {"customer_notified": True}, {"cu_staff"}),
    ("summarize", "cs_sup", {"summary": "完成"}, {"cs_sup"}),
]


def _seers(flow: Flow, instance_id: int, task_id: str) -> set[str]:
    return {u for u in USERS if task_id in flow.available_ids(u, instance_id) | flow.mine_ids(u, instance_id)}


def test_complaint_steps_are_offered_to_exactly_their_roles(flow: Flow) -> None:
    instance = flow.start("cs_agent1", "complaint_handling", {**COMPLAINT, "category": "customs"})
    for key, performer, data, expected in COMPLAINT_STEPS:
        task = flow.task(instance.id, key)
        assert _seers(flow, instance.id, task.id) == expected, key
        flow.complete(performer, instance.id, key, data)
    assert flow.instance(instance.id).status == "completed"


@pytest.mark.parametrize(("owner", "other"), [("sales1", "sales2"), ("sales2", "sales1")])
def test_a_lead_is_seen_by_its_owner_only(flow: Flow, owner: str, other: str) -> None:
    instance = flow.start(owner, "lead_qualification", lead())
    verify = flow.task(instance.id, "verify_lead")
    assert _seers(flow, instance.id, verify.id) == {owner}
    assert other not in _seers(flow, instance.id, verify.id)


def test_approval_steps_are_offered_to_the_chains_role_only(flow: Flow) -> None:
    instance = flow.start("sales2", "approval_chain", approval_request("contract", 250000))
    for approver in ("sales_dir", "fin_mgr", "gm"):
        step = flow.task(instance.id, "approve")
        assert _seers(flow, instance.id, step.id) == {approver}
        flow.complete(approver, instance.id, "approve", {"decision": "approve"})


def test_supervisors_see_their_reports_claimed_work_in_the_team_scope(flow: Flow) -> None:
    instance = flow.start("cs_agent1", "complaint_handling", {**COMPLAINT, "category": "quality"})
    flow.complete("cs_sup", instance.id, "assess", {"valid": True})
    flow.complete("cs_sup", instance.id, "assign_department", {"department": "quality"})
    task = flow.task(instance.id, "analyze_cause")
    flow.engine.tasks.claim(flow.actor("qa_staff"), task.id)
    with flow.engine.db.sessions() as session:
        in_team = {
            u
            for u in USERS
            if task.id in {t.id for t in flow.engine.tasks.query(session, flow.actor(u), "team", instance_id=instance.id)[0]}
        }
    assert in_team == {"qa_lead", "vp_service", "gm"}


def test_the_reporting_line_is_remembered_per_session_and_follows_a_change_made_in_it(flow: Flow) -> None:
    identity = flow.engine.identity
    with flow.engine.db.transaction() as session:
        before = identity.subordinates(session, "cs_sup")
        with statements(flow) as sent:
            assert identity.subordinates(session, "cs_sup") == before
        assert before and len(sent) == 0  # remembered for the session
        moved = next(iter(sorted(before)))
        user = identity.user(session, moved)
        user.superior_id = identity.user(session, "gm").id
        session.flush()
        assert moved not in identity.subordinates(session, "cs_sup")
        assert moved in identity.subordinates(session, "gm", direct_only=True)
        session.rollback()
    with flow.engine.db.sessions() as session:
        assert identity.subordinates(session, "cs_sup") == before  # the change was rolled back


def test_a_candidate_list_longer_than_the_task_row_holds_offers_the_task_to_all_of_it_and_no_one_else(flow: Flow) -> None:
    """The row's candidate column keeps the whole names that fit, the candidate rows keep them all:
    the last candidate may still claim, and no name cut short matches another user."""
    names = [f"reviewer_{i:03d}" for i in range(60)] + ["cs_sup"]
    xml = (
        (FIXTURES / "simple_review.bpmn")
        .read_text()
        .replace('id="simple_review" name', 'id="long_candidate_list" name')
        .replace('camunda:candidateGroups="cs_supervisor"', f'camunda:candidateUsers="{",".join(names)}"')
    )
    flow.engine.repository.deploy([("long_candidate_list.bpmn", xml.encode())], "admin")
    instance = flow.start("admin", "long_candidate_list", {"title": "t"})
    task = flow.task(instance.id, "review")
    kept = task.candidate_users.split(",")
    assert "cs_sup" not in kept and set(kept) <= set(names)
    assert task.id in flow.available_ids("cs_sup", instance.id)
    with flow.engine.db.sessions() as session:
        assert not flow.engine.authorization.is_candidate(session, Actor(0, "review", frozenset()), task)
    assert flow.engine.tasks.claim(flow.actor("cs_sup"), task.id).assignee == "cs_sup"
