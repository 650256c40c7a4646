"""Four-eyes (#13.1): nobody decides a request they started, nor an instruction on a resolution they
proposed, on any path: claim, completion, assignment, delegation, acting as a superior. A step
only the requester holds goes to their direct superior; with none above them, an admin hands it on."""

from __future__ import annotations

import secrets
from collections.abc import Callable

import pytest

from engine.errors import Forbidden, InvalidDefinition, ValidationFailed
from engine.services.identity import Actor
from tests.conftest import FIXTURES
from tests.data import COMPLAINT, approval_request, lead
from tests.flow import Flow


def test_a_requester_holding_the_steps_role_does_not_approve_their_own_request(flow: Flow) -> None:
    instance = flow.start("ops_mgr", "approval_chain", approval_request("department_expense", 20000))
    step = flow.task(instance.id, "approve")
    assert step.candidate_roles == "ops_manager" and step.excluded_users == "ops_mgr"
    assert step.candidate_users == "gm"  # nobody else is an operations manager: the requester's superior
    with pytest.raises(Forbidden, match="four-eyes"):
        flow.engine.tasks.claim(flow.actor("ops_mgr"), step.id)
    with pytest.raises(Forbidden, match="four-eyes"):
        flow.engine.tasks.complete(flow.actor("ops_mgr"), step.id, {"decision": "approve"})
    with flow.engine.db.sessions() as session:
        actions = flow.engine.authorization.task_actions(session, flow.actor("ops_mgr"), step)
    assert not actions.claim and not actions.complete  # the task page offers neither
    done = flow.complete("gm", instance.id, "approve", {"decision": "approve", "comment": "代运营经理审批"})
    next_step = flow.task(instance.id, "approve")  # the gm step: the requester's own gm, up the line
    assert done.status == "running" and (next_step.candidate_roles, next_step.candidate_users) == ("", "gm")


def test_nobody_hands_a_request_to_its_requester(flow: Flow) -> None:
    instance = flow.start("store_staff", "approval_chain", approval_request("store_expense", 3000))
    step = flow.task(instance.id, "approve")
    with flow.engine.db.sessions() as session:
        offered = {u.username for u in flow.engine.authorization.assignees(session, flow.actor("admin"), step)}
    assert "store_staff" not in offered and "region_mgr" in offered
    with pytest.raises(ValidationFailed) as refused:
        flow.engine.tasks.assign(flow.actor("admin"), step.id, "store_staff")
    assert list(refused.value.fields) == ["username"] and "four-eyes" in refused.value.fields["username"]
    flow.engine.tasks.claim(flow.actor("region_mgr"), step.id)
    with pytest.raises(ValidationFailed) as refused:
        flow.engine.tasks.delegate(flow.actor("region_mgr"), step.id, "store_staff")
    assert "four-eyes" in refused.value.fields["username"]


def test_an_admin_hands_on_a_step_that_only_its_requester_could_decide(flow: Flow, actors: Callable[[str], Actor]) -> None:
    instance = flow.start("gm", "approval_chain", approval_request("special_expense", 8000))
    flow.complete("fin_mgr", instance.id, "approve", {"decision": "approve"})
    step = flow.task(instance.id, "approve")
    assert (step.candidate_roles, step.candidate_users, step.excluded_users) == ("gm", "", "gm")  # gm reports to nobody
    with pytest.raises(Forbidden, match="four-eyes"):
        flow.engine.tasks.complete(flow.actor("gm"), step.id, {"decision": "approve"})
    with flow.engine.db.sessions() as session:
        offered = {u.username for u in flow.engine.authorization.assignees(session, actors("admin"), step)}
    assert "gm" not in offered and "vp_service" in offered
    flow.engine.tasks.assign(actors("admin"), step.id, "vp_service")
    done = flow.complete("vp_service", instance.id, "approve", {"decision": "approve", "comment": "总经理本人申请，由分管副总审批"})
    assert done.status == "completed" and done.data["outcome"] == "approved"


def test_who_proposed_a_resolution_does_not_give_the_instruction_on_it(flow: Flow, actors: Callable[[str], Actor]) -> None:
    both = f"qa_lead_{secrets.token_hex(3)}"  # a quality manager who is also a division leader
    flow.engine.admin.create_user(actors("admin"), {"username": both, "password": "demo pass", "roles": ["quality", "division_leader"]})
    instance = flow.start("cs_agent1", "complaint_handling", {**COMPLAINT, "customer": f"四眼{secrets.token_hex(3)}"})
    flow.complete("cs_sup", instance.id, "assess", {"valid": True, "note": "属实"})
    flow.complete("cs_sup", instance.id, "assign_department", {"department": "quality"})
    flow.complete(both, instance.id, "analyze_cause", {"cause": "包装", "responsible_person": both})
    flow.complete(both, instance.id, "propose_resolution", {"resolution_type": "refund", "amount": 500, "plan": "退款"})
    leader = flow.task(instance.id, "leader_approval")
    assert leader.excluded_users == both
    with flow.engine.db.sessions() as session:
        actions = flow.engine.authorization.task_actions(session, flow.actor(both), leader)
    assert not actions.claim and not actions.complete
    with pytest.raises(Forbidden, match="four-eyes"):
        flow.engine.tasks.complete(flow.actor(both), leader.id, {"decision": "approve"})
    flow.complete("vp_service", instance.id, "leader_approval", {"decision": "approve"})
    assert flow.task(instance.id, "gm_approval").excluded_users == both


def test_a_sales_director_does_not_approve_a_lead_they_captured(flow: Flow, actors: Callable[[str], Actor]) -> None:
    both = f"sales_dir_{secrets.token_hex(3)}"  # a director who also sells
    flow.engine.admin.create_user(actors("admin"), {"username": both, "password": "demo pass", "roles": ["sales", "sales_director"]})
    instance = flow.start(both, "lead_qualification", lead(estimated_value=300000))
    flow.complete(both, instance.id, "verify_lead", {"outcome": "qualified", "grade": "A", "authentic": True, "complete": True})
    review = flow.task(instance.id, "director_review")
    assert review.excluded_users == both and review.candidate_roles == "sales_director"
    with pytest.raises(Forbidden, match="four-eyes"):
        flow.engine.tasks.complete(flow.actor(both), review.id, {"decision": "approve"})
    assert flow.complete("sales_dir", instance.id, "director_review", {"decision": "approve"}).status == "completed"


def test_four_eyes_naming_no_task_of_the_process_is_refused_at_deploy(flow: Flow) -> None:
    xml = (FIXTURES / "simple_review.bpmn").read_text(encoding="utf-8")
    xml = xml.replace('id="simple_review"', 'id="four_eyes_typo"', 1).replace(
        '<bpmn:userTask id="review" name="Review" camunda:candidateGroups="cs_supervisor" camunda:dueDate="PT24H">\n      <bpmn:extensionElements>',
        '<bpmn:userTask id="review" name="Review" camunda:candidateGroups="cs_supervisor" camunda:dueDate="PT24H">\n      <bpmn:extensionElements>\n'
        '        <camunda:properties><camunda:property name="fourEyes" value="initiator,propose" /></camunda:properties>',
    )
    assert 'name="fourEyes"' in xml
    with pytest.raises(InvalidDefinition) as refused:
        flow.engine.repository.deploy([("four_eyes_typo.bpmn", xml.encode())], "admin")
    assert [p["element_id"] for p in refused.value.problems if "fourEyes: 'propose'" in p["message"]] == ["review"]
