"""Approval chains (审批流): the decision table picks the chain; each step goes to the requester's
own approver (the nearest superior up their reporting line holding its role, else every holder,
as the history says); approve, reject, return, resubmit."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from engine.errors import Forbidden, NotFound, ValidationFailed
from engine.process_engine import ProcessEngine
from engine.services.identity import Actor
from processes.demo import USERS
from store.models import Task
from tests.data import approval_request
from tests.flow import Flow


def reporting_line(username: str) -> list[str]:
    line, superior = [], USERS[username][3]
    while superior:
        line.append(superior)
        superior = USERS[superior][3]
    return line


CHAINS = [
    ("store_expense", 3000, "store_staff", [("region_manager", "region_mgr"), ("ops_manager", "ops_mgr")]),
    ("department_expense", 20000, "cs_sup", [("ops_manager", "ops_mgr"), ("gm", "gm")]),
    ("special_expense", 8000, "mkt_mgr", [("finance", "fin_mgr"), ("gm", "gm")]),
    ("discount_change", 0, "sales1", [("marketing_manager", "mkt_mgr"), ("finance", "fin_mgr")]),
    ("contract", 99999, "sales1", [("sales_director", "sales_dir"), ("finance", "fin_mgr")]),
    ("contract", 100000, "sales2", [("sales_director", "sales_dir"), ("finance", "fin_mgr"), ("gm", "gm")]),
]


@pytest.mark.parametrize(("request_type", "amount", "requester", "chain"), CHAINS)
def test_each_request_type_runs_its_chain_in_order(
    flow: Flow, request_type: str, amount: float, requester: str, chain: list[tuple[str, str]]
) -> None:
    instance = flow.start(requester, "approval_chain", approval_request(request_type, amount))
    for role, approver in chain:
        step = flow.task(instance.id, "approve")
        if approver in reporting_line(requester):  # their own superior holds the role: theirs alone
            assert (step.candidate_roles, step.candidate_users) == ("", approver)
        else:  # none up the line does: every holder of the role
            assert (step.candidate_roles, step.candidate_users) == (role, "")
        others = {u for _r, u in chain if u != approver}
        assert all(step.id not in flow.available_ids(u, instance.id) for u in others)
        result = flow.complete(approver, instance.id, "approve", {"decision": "approve", "comment": f"{role} ok"})
    assert result.status == "completed" and result.data["outcome"] == "approved"
    decisions = [(e.user, e.data["decision"]) for e in flow.history(instance.id) if e.task_key == "approve" and e.action == "complete"]
    assert decisions == [(u, "approve") for _r, u in chain]
    assert any(n.username == requester and n.kind == "approved" for n in flow.notifications(instance.id))


def test_a_rejection_ends_the_chain_and_tells_the_requester(flow: Flow) -> None:
    instance = flow.start("store_staff", "approval_chain", approval_request("store_expense", 1200))
    with pytest.raises(ValidationFailed) as raised:
        flow.complete("region_mgr", instance.id, "approve", {"decision": "reject"})
    assert "comment" in raised.value.fields
    done = flow.complete("region_mgr", instance.id, "approve", {"decision": "reject", "comment": "超预算"})
    assert done.status == "completed" and done.data["outcome"] == "rejected"
    assert any(n.username == "store_staff" and n.kind == "rejected" for n in flow.notifications(instance.id))


def test_a_return_sends_it_to_the_requester_and_the_chain_starts_again(flow: Flow) -> None:
    instance = flow.start("sales1", "approval_chain", approval_request("contract", 50000))
    flow.complete("sales_dir", instance.id, "approve", {"decision": "approve"})
    flow.complete("fin_mgr", instance.id, "approve", {"decision": "return", "comment": "金额需含税"})
    revise = flow.task(instance.id, "revise")
    assert revise.assignee == "sales1"
    assert ("sales1", "assigned", revise.id) in [(n.username, n.kind, n.task_id) for n in flow.notifications(instance.id)]
    with flow.engine.db.sessions() as session:
        _t, form, _c = flow.engine.tasks.details(session, flow.actor("sales1"), revise.id)
    assert {f["id"]: f["default"] for f in form}["amount"] == 50000
    flow.complete("sales1", instance.id, "revise", approval_request("contract", 120000))
    with flow.engine.db.sessions() as session:  # 我已办 shows what was submitted (#13.9)
        assert float(session.get(Task, revise.id).amount) == 120000
    approvers = []
    while (keys := flow.task_keys(instance.id)) == ["approve"]:
        step = flow.task(instance.id, "approve")
        approver = step.candidate_users or {"finance": "fin_mgr"}[step.candidate_roles]  # sales1's own, or every holder
        approvers.append(approver)
        done = flow.complete(approver, instance.id, "approve", {"decision": "approve"})
    assert keys == []
    assert approvers == ["sales_dir", "fin_mgr", "gm"]
    assert done.data["outcome"] == "approved" and done.data["amount"] == 120000


def test_an_approver_outside_the_step_cannot_decide(flow: Flow) -> None:
    instance = flow.start("store_staff", "approval_chain", approval_request("store_expense", 500))
    step = flow.task(instance.id, "approve").id
    with pytest.raises(NotFound):  # an outsider does not even learn that the task exists
        flow.engine.tasks.claim(flow.actor("fin_mgr"), step)
    with pytest.raises(Forbidden):  # the requester's indirect superior sees it but is not a candidate
        flow.engine.tasks.claim(flow.actor("ops_mgr"), step)


def test_the_next_approver_does_not_get_the_previous_decision_prefilled(flow: Flow) -> None:
    instance = flow.start("sales1", "approval_chain", approval_request("contract", 5000))
    flow.complete("sales_dir", instance.id, "approve", {"decision": "approve", "comment": "销售总监同意"})
    step = flow.task(instance.id, "approve")
    with flow.engine.db.sessions() as session:
        _t, form, context = flow.engine.tasks.details(session, flow.actor("fin_mgr"), step.id)
    assert context["comment"] == "销售总监同意"  # the history is there to read
    assert {f["id"]: f["default"] for f in form} == {"decision": None, "comment": None}


@pytest.fixture
def second_region(flow: Flow, new_user: Callable[..., str]) -> tuple[str, str]:
    """A region an admin adds through the admin service: its manager under ops_mgr, its store
    staff under them."""
    manager = new_user("rm_south", ["region_manager"], superior="ops_mgr")
    staff = new_user("store_south", ["store_staff"], superior=manager)
    return manager, staff


def test_a_store_expense_reaches_the_requesters_own_region_manager_only(flow: Flow, second_region: tuple[str, str]) -> None:
    manager, staff = second_region
    theirs = flow.start(staff, "approval_chain", approval_request("store_expense", 800))
    step = flow.task(theirs.id, "approve")
    assert step.id in flow.available_ids(manager, theirs.id)
    assert step.id not in flow.available_ids("region_mgr", theirs.id)  # the east region's manager
    with pytest.raises((Forbidden, NotFound)):
        flow.complete("region_mgr", theirs.id, "approve", {"decision": "approve"})
    routed = [e for e in flow.history(theirs.id) if e.action == "route"]
    assert [(e.task_key, e.data["to"], e.data["roles"]) for e in routed] == [("approve", manager, ["region_manager"])]
    flow.complete(manager, theirs.id, "approve", {"decision": "approve"})
    assert flow.task(theirs.id, "approve").candidate_users == "ops_mgr"  # the next role, up the same line
    east = flow.start("store_staff", "approval_chain", approval_request("store_expense", 800))
    assert flow.task(east.id, "approve").id not in flow.available_ids(manager, east.id)


def test_with_no_holder_up_the_line_every_holder_is_offered_the_step_and_the_history_says_so(flow: Flow) -> None:
    instance = flow.start("mkt_mgr", "approval_chain", approval_request("special_expense", 500))
    step = flow.task(instance.id, "approve")
    assert step.candidate_roles == "finance" and step.id in flow.available_ids("fin_mgr", instance.id)
    routed = [e for e in flow.history(instance.id) if e.action == "route"]
    assert [(e.data["to"], e.data["roles"]) for e in routed] == [(None, ["finance"])]


def test_a_manager_who_has_left_is_passed_over_for_the_next_holder_up_the_line(
    flow: Flow, new_user: Callable[..., str], engine: ProcessEngine, actors: Callable[[str], Actor]
) -> None:
    upper = new_user("rm_upper", ["region_manager"], superior="ops_mgr")
    lower = new_user("rm_lower", ["region_manager"], superior=upper)
    staff = new_user("store_far", ["store_staff"], superior=lower)
    engine.admin.update_user(actors("admin"), lower, {"active": False})
    instance = flow.start(staff, "approval_chain", approval_request("store_expense", 300))
    assert flow.task(instance.id, "approve").candidate_users == upper
