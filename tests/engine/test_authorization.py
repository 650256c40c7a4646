"""Who may hand work to whom, and who may act on a report's task (engine.authorization).

Work is handed (assigned, delegated) only to people who may perform it: those it is offered to. A
direct superior has the rights of the subordinate; an indirect superior may only look (seed 001).
"""

from __future__ import annotations

import secrets

import pytest

from engine.errors import EngineError, Forbidden, NotFound, ValidationFailed
from processes.demo import USERS
from store.models import Task
from tests.data import COMPLAINT, approval_request
from tests.flow import Flow


def _complaint(flow: Flow) -> int:
    return flow.start("cs_agent1", "complaint_handling", {**COMPLAINT, "customer": f"授权{secrets.token_hex(3)}"}).id


def _handable(flow: Flow, task: Task) -> set[tuple[str, str]]:
    """Every (actor, target) pair of demo users for which the engine would accept the assignment."""
    allowed = set()
    with flow.engine.db.sessions() as session:
        row = session.get(Task, task.id)
        for username in USERS:
            actor = flow.actor(username)
            for target in USERS:
                try:
                    flow.engine.authorization.check_assign(session, actor, row, target)  # type: ignore[arg-type]
                except EngineError:
                    continue
                allowed.add((username, target))
    return allowed


def test_an_unassigned_task_goes_only_to_those_it_is_offered_to(flow: Flow) -> None:
    task = flow.task(_complaint(flow), "assess")  # offered to cs_supervisor: cs_sup alone
    assert _handable(flow, task) == {("admin", "cs_sup"), ("vp_service", "cs_sup"), ("cs_sup", "cs_sup")}


def test_an_assigned_task_is_handed_on_by_its_assignees_direct_superior_to_fellow_candidates(flow: Flow) -> None:
    iid = _complaint(flow)
    flow.complete("cs_sup", iid, "assess", {"valid": False})
    task = flow.task(iid, "reply_invalid")  # held by cs_agent1, offered to every cs_agent
    assert task.assignee == "cs_agent1"
    agents = {"cs_agent1", "cs_agent2"}
    assert _handable(flow, task) == {("admin", a) for a in agents} | {("cs_sup", a) for a in agents}


def test_a_superior_cannot_hand_a_requesters_approval_step_to_the_requester(flow: Flow) -> None:
    """region_mgr handed the ops_manager step of a store expense to its requester, his report, and
    approved it as her superior; ops_mgr never acted."""
    instance = flow.start("store_staff", "approval_chain", approval_request("store_expense", 3000))
    flow.complete("region_mgr", instance.id, "approve", {"decision": "approve"})
    step = flow.task(instance.id, "approve")
    assert step.candidate_users == "ops_mgr"  # the requester's own operations manager
    with pytest.raises(ValidationFailed) as refused:
        flow.engine.tasks.assign(flow.actor("region_mgr"), step.id, "store_staff")
    assert "four-eyes" in refused.value.fields["username"]  # the requester, and not an ops manager either
    with pytest.raises(ValidationFailed) as refused:
        flow.engine.tasks.assign(flow.actor("region_mgr"), step.id, "region_mgr")
    assert "may not perform" in refused.value.fields["username"]
    with pytest.raises(Forbidden):
        flow.engine.tasks.complete(flow.actor("region_mgr"), step.id, {"decision": "approve"})
    assert flow.task(instance.id, "approve").assignee is None
    assert flow.instance(instance.id).status == "running"


def test_a_supervisor_cannot_hand_a_complaint_to_someone_outside_its_pool(flow: Flow) -> None:
    """cs_sup handed `reply_invalid` to sales1, who could then read the complaint and the customer's phone."""
    iid = _complaint(flow)
    flow.complete("cs_sup", iid, "assess", {"valid": False})
    reply = flow.task(iid, "reply_invalid")
    with pytest.raises(ValidationFailed):
        flow.engine.tasks.assign(flow.actor("cs_sup"), reply.id, "sales1")
    with flow.engine.db.sessions() as session, pytest.raises(NotFound):
        flow.engine.tasks.get(session, flow.actor("sales1"), reply.id)
    assert flow.engine.tasks.assign(flow.actor("cs_sup"), reply.id, "cs_agent2").assignee == "cs_agent2"


def test_an_indirect_superior_may_look_but_not_act(flow: Flow) -> None:
    """gm is cs_agent1's superior through cs_sup and vp_service: he sees the task, and that is all."""
    iid = _complaint(flow)
    flow.complete("cs_sup", iid, "assess", {"valid": False})
    reply = flow.task(iid, "reply_invalid")
    with flow.engine.db.sessions() as session:
        assert flow.engine.authorization.may_view_task(session, flow.actor("gm"), reply)
    for act in (
        lambda: flow.engine.tasks.assign(flow.actor("gm"), reply.id, "gm"),
        lambda: flow.engine.tasks.assign(flow.actor("gm"), reply.id, "cs_agent2"),
        lambda: flow.engine.tasks.unclaim(flow.actor("gm"), reply.id),
        lambda: flow.engine.tasks.complete(flow.actor("gm"), reply.id, {"reply": "由总经理答复"}),
    ):
        with pytest.raises(Forbidden):
            act()
    assert flow.task(iid, "reply_invalid").assignee == "cs_agent1"
    # the direct superior has the subordinate's rights
    flow.engine.tasks.complete(flow.actor("cs_sup"), reply.id, {"reply": "已致电解释"})
    assert flow.instance(iid).status == "completed"
