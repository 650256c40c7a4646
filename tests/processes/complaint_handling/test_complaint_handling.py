"""Complaint handling (客户投诉处理), end to end through the engine services, every branch."""

from __future__ import annotations

import secrets
from collections.abc import Callable

import pytest

from engine.bpmn import pruning
from engine.errors import Forbidden, NotFound, ValidationFailed
from engine.services.identity import Actor
from tests.data import COMPLAINT
from tests.flow import Flow


def _to_leader(flow: Flow, category: str = "quality", department: str = "quality", staff: str = "qa_staff") -> int:
    instance = flow.start("cs_agent1", "complaint_handling", {**COMPLAINT, "category": category})
    flow.complete("cs_sup", instance.id, "assess", {"valid": True, "note": "属实"})
    flow.complete("cs_sup", instance.id, "assign_department", {"department": department})
    flow.complete(staff, instance.id, "analyze_cause", {"cause": "包装不达标", "responsible_person": staff})
    flow.complete(staff, instance.id, "propose_resolution", {"resolution_type": "compensation", "amount": 5000, "plan": "赔偿受潮货物"})
    return instance.id


def test_a_valid_complaint_runs_all_nine_steps_and_is_archived_as_resolved(flow: Flow) -> None:
    iid = _to_leader(flow)
    flow.complete("vp_service", iid, "leader_approval", {"decision": "approve", "comment": "同意"})
    flow.complete("gm", iid, "gm_approval", {"decision": "approve"})
    flow.complete("qa_staff", iid, "implement", {"customer_notified": True, "feedback": "客户满意", "penalty": "通报批评"})
    instance = flow.complete("cs_sup", iid, "summarize", {"summary": "加强包装检验"})
    assert instance.status == "completed"
    assert instance.data["outcome"] == "resolved"
    completed = [e.task_key for e in flow.history(iid) if e.action == "complete"]
    assert completed == [
        "assess",
        "assign_department",
        "analyze_cause",
        "propose_resolution",
        "leader_approval",
        "gm_approval",
        "implement",
        "summarize",
    ]
    assert flow.open_tasks(iid) == []
    # the agent who registered it is told, with the summary (#13.5)
    told = [(n.username, n.kind, n.message) for n in flow.notifications(iid) if n.username == "cs_agent1"]
    assert told == [("cs_agent1", "approved", f"您登记的投诉（{COMPLAINT['customer']}）已处理完毕并归档：加强包装检验")]


def test_the_rule_proposes_the_department_from_the_category(flow: Flow) -> None:
    instance = flow.start("cs_agent1", "complaint_handling", {**COMPLAINT, "category": "customs"})
    flow.complete("cs_sup", instance.id, "assess", {"valid": True})
    task = flow.task(instance.id, "assign_department")
    with flow.engine.db.sessions() as session:
        _task, form, context = flow.engine.tasks.details(session, flow.actor("cs_sup"), task.id)
    department = next(f for f in form if f["id"] == "department")
    assert department["default"] == "customs"
    assert context["customer"] == COMPLAINT["customer"]


def test_the_supervisor_may_override_the_proposed_department(flow: Flow) -> None:
    instance = flow.start("cs_agent1", "complaint_handling", {**COMPLAINT, "category": "service"})
    flow.complete("cs_sup", instance.id, "assess", {"valid": True})
    flow.complete("cs_sup", instance.id, "assign_department", {"department": "transport"})
    analyze = flow.task(instance.id, "analyze_cause")
    assert analyze.candidate_roles == "transport"
    assert analyze.id in flow.available_ids("tr_staff", instance.id)
    assert analyze.id not in flow.available_ids("qa_staff", instance.id)


def test_an_invalid_complaint_gets_a_courteous_reply_and_closes_rejected(flow: Flow) -> None:
    instance = flow.start("cs_agent1", "complaint_handling", COMPLAINT)
    flow.complete("cs_sup", instance.id, "assess", {"valid": False, "note": "超出索赔期"})
    reply = flow.task(instance.id, "reply_invalid")
    assert reply.assignee == "cs_agent1"
    with pytest.raises(ValidationFailed) as raised:
        flow.complete("cs_agent1", instance.id, "reply_invalid", {})
    assert raised.value.fields == {"reply": "is required"}
    done = flow.complete("cs_agent1", instance.id, "reply_invalid", {"reply": "感谢反馈，经核实已超出索赔期。"})
    assert done.status == "completed" and done.data["outcome"] == "rejected"


def test_the_division_leader_returns_the_resolution_to_the_department(flow: Flow) -> None:
    iid = _to_leader(flow)
    with pytest.raises(ValidationFailed) as raised:
        flow.complete("vp_service", iid, "leader_approval", {"decision": "return"})
    assert "comment" in raised.value.fields
    flow.complete("vp_service", iid, "leader_approval", {"decision": "return", "comment": "赔偿金额过高"})
    assert flow.task_keys(iid) == ["propose_resolution"]
    flow.complete("qa_staff", iid, "propose_resolution", {"resolution_type": "discount", "amount": 2000, "plan": "下批货折价"})
    flow.complete("vp_service", iid, "leader_approval", {"decision": "approve"})
    assert flow.task_keys(iid) == ["gm_approval"]
    returns = [e for e in flow.history(iid) if e.task_key == "leader_approval" and e.data.get("decision") == "return"]
    assert returns and returns[0].comment == "赔偿金额过高" and returns[0].user == "vp_service"


def test_a_resolution_returned_thirty_times_still_ends_resolved_with_its_whole_history(flow: Flow) -> None:
    """Enough rounds for the engine to prune the task tree several times on the shipped process."""
    iid = _to_leader(flow)
    for round_no in range(30):
        flow.complete("vp_service", iid, "leader_approval", {"decision": "return", "comment": f"第{round_no + 1}次退回"})
        flow.complete("qa_staff", iid, "propose_resolution", {"resolution_type": "discount", "amount": 100 + round_no, "plan": "再议"})
    with flow.engine.db.sessions() as session:
        workflow = flow.engine.runtime.load(session, flow.instance(iid))
    assert pruning.deepest_level(workflow) < 2 * pruning.PRUNE_DEPTH  # without pruning: over 120 levels
    flow.complete("vp_service", iid, "leader_approval", {"decision": "approve"})
    flow.complete("gm", iid, "gm_approval", {"decision": "approve"})
    flow.complete("qa_staff", iid, "implement", {"customer_notified": True, "feedback": "客户满意"})
    instance = flow.complete("cs_sup", iid, "summarize", {"summary": "多轮协商后解决"})
    assert instance.status == "completed" and instance.data["outcome"] == "resolved" and instance.data["amount"] == 129
    completed = [e.task_key for e in flow.history(iid) if e.action == "complete"]
    assert completed.count("leader_approval") == 31 and completed.count("propose_resolution") == 31


def test_the_general_manager_returns_the_resolution_to_the_department(flow: Flow) -> None:
    iid = _to_leader(flow)
    flow.complete("vp_service", iid, "leader_approval", {"decision": "approve"})
    flow.complete("gm", iid, "gm_approval", {"decision": "return", "comment": "先与客户协商"})
    assert flow.task_keys(iid) == ["propose_resolution"]


def test_who_sees_the_assessment_and_who_does_not(flow: Flow) -> None:
    instance = flow.start("cs_agent1", "complaint_handling", COMPLAINT)
    assess = flow.task(instance.id, "assess")
    assert assess.candidate_roles == "cs_supervisor"
    assert assess.due_at is not None
    assert assess.id in flow.available_ids("cs_sup", instance.id)
    for outsider in ("cs_agent2", "qa_staff", "sales1", "gm"):
        assert assess.id not in flow.available_ids(outsider, instance.id)
    with pytest.raises(NotFound):
        flow.complete("sales1", instance.id, "assess", {"valid": True})
    with pytest.raises(NotFound), flow.engine.db.sessions() as session:
        flow.engine.runtime.get(session, flow.actor("sales1"), instance.id)


def test_only_customer_service_agents_may_register_complaints(flow: Flow) -> None:
    with pytest.raises(Forbidden):
        flow.start("sales1", "complaint_handling", COMPLAINT)


def test_invalid_start_data_stores_nothing(flow: Flow) -> None:
    with flow.engine.db.sessions() as session:
        before, _ = flow.engine.runtime.query(session, flow.actor("admin"), "complaint_handling")
    with pytest.raises(ValidationFailed) as raised:
        flow.start("cs_agent1", "complaint_handling", {"customer": "", "category": "weather", "hack": 1})
    assert set(raised.value.fields) == {"customer", "category", "description", "hack"}
    with flow.engine.db.sessions() as session:
        after, _ = flow.engine.runtime.query(session, flow.actor("admin"), "complaint_handling")
    assert [i.id for i in after] == [i.id for i in before]


@pytest.mark.parametrize(
    ("severity", "priority", "band"), [("urgent", 90, "high"), ("high", 75, "high"), ("normal", 50, "normal"), ("low", 25, "low")]
)
def test_severity_sets_the_priority_of_every_step_so_the_priority_filter_finds_it(
    flow: Flow, severity: str, priority: int, band: str
) -> None:
    """#13.7: 紧急/高 complaints are high priority in every worklist, 低 low (the package's rule;
    a task's own camunda:priority would win)."""
    from engine.services.worklist import TaskFilter

    tag = f"严重程度{severity}{flow.engine.clock().timestamp()}"
    instance = flow.start("cs_agent1", "complaint_handling", {**COMPLAINT, "severity": severity, "description": tag})
    assess = flow.task(instance.id, "assess")
    assert assess.priority == priority
    with flow.engine.db.sessions() as session:
        found = flow.engine.worklist.tasks(session, flow.actor("cs_sup"), TaskFilter(tab="available", priority=band, text=tag))
    assert [t.id for t in found.items] == [assess.id]
    flow.complete("cs_sup", instance.id, "assess", {"valid": True, "note": "属实"})
    assert flow.task(instance.id, "assign_department").priority == priority


def test_the_handler_who_analysed_keeps_the_case_and_a_return_comes_back_to_them_filled_in(flow: Flow) -> None:
    """#13.3, #13.4: propose_resolution and implement stay with the department's handler (not the
    pool); the division leader's return reaches them, told, with their last proposal prefilled."""
    iid = _to_leader(flow)  # qa_staff analysed and proposed
    assert flow.task(iid, "leader_approval").excluded_users == "qa_staff"
    flow.complete("vp_service", iid, "leader_approval", {"decision": "return", "comment": "赔偿过高"})
    again = flow.task(iid, "propose_resolution")
    assert again.assignee == "qa_staff"
    assert ("qa_staff", "assigned", again.id) in [(n.username, n.kind, n.task_id) for n in flow.notifications(iid)]
    with flow.engine.db.sessions() as session:
        _t, form, _c = flow.engine.tasks.details(session, flow.actor("qa_staff"), again.id)
    proposed = [e.data for e in flow.history(iid) if e.action == "complete" and e.task_key == "propose_resolution"][-1]
    assert {f["id"]: f["default"] for f in form} == {k: proposed[k] for k in ("resolution_type", "amount", "plan")}
    flow.complete("qa_staff", iid, "propose_resolution", {**proposed, "amount": 100})
    flow.complete("vp_service", iid, "leader_approval", {"decision": "approve"})
    flow.complete("gm", iid, "gm_approval", {"decision": "approve"})
    assert flow.task(iid, "implement").assignee == "qa_staff"


def test_a_step_whose_handler_is_gone_goes_to_the_department(flow: Flow, actors: Callable[[str], Actor]) -> None:
    handler = f"qa_{secrets.token_hex(3)}"
    flow.engine.admin.create_user(actors("admin"), {"username": handler, "password": "demo pass", "roles": ["quality"]})
    iid = _to_leader(flow, staff=handler)
    flow.engine.admin.update_user(actors("admin"), handler, {"active": False})
    flow.complete("vp_service", iid, "leader_approval", {"decision": "approve"})
    flow.complete("gm", iid, "gm_approval", {"decision": "approve"})
    implement = flow.task(iid, "implement")
    assert implement.assignee is None and implement.candidate_roles == "quality"
    assert implement.id in flow.available_ids("qa_staff", iid)


def test_the_agent_who_registered_it_urges_the_division_leaders_instruction_and_may_copy_people(flow: Flow) -> None:
    # 催办 on the complaint where it fits: the instruction the case waits for; 抄送 at registration.
    instance = flow.start("cs_agent1", "complaint_handling", {**COMPLAINT, "category": "quality", "cc": "sales2"})
    flow.complete("cs_sup", instance.id, "assess", {"valid": True, "note": "属实"})
    flow.complete("cs_sup", instance.id, "assign_department", {"department": "quality"})
    flow.complete("qa_staff", instance.id, "analyze_cause", {"cause": "包装不达标", "responsible_person": "qa_staff"})
    flow.complete("qa_staff", instance.id, "propose_resolution", {"resolution_type": "apology", "amount": 0, "plan": "书面致歉"})
    assert flow.task_keys(instance.id) == ["leader_approval"]
    told = flow.engine.requests.urge(flow.actor("cs_agent1"), instance.id)
    assert "vp_service" in told and not {"cs_agent1", "qa_staff", "cs_sup"} & set(told)  # whoever the instruction waits for
    with pytest.raises(Forbidden):
        flow.engine.requests.urge(flow.actor("qa_staff"), instance.id)  # only who registered it
    uncopied = _to_leader(flow)
    with flow.engine.db.sessions() as session:
        assert flow.engine.authorization.may_view_instance(session, flow.actor("sales2"), flow.instance(instance.id))  # copied: may read it
        assert not flow.engine.authorization.may_view_instance(session, flow.actor("sales2"), flow.instance(uncopied))
