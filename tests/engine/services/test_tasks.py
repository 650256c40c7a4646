"""Claim, unclaim, assign and complete: first wins, the loser gets a conflict, history records all."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest

from engine.errors import Conflict, EngineError, Forbidden, NotFound, ValidationFailed
from tests.data import COMPLAINT, approval_request
from tests.flow import Flow


def race(*calls: Callable[[], Any]) -> list[Any]:
    """Run the calls at the same moment in threads; each result is a value or the exception."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(i: int, call: Callable[[], Any]) -> None:
        barrier.wait()
        try:
            results[i] = call()
        except EngineError as exc:
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return results


@pytest.mark.parametrize("attempt", range(3))
def test_two_concurrent_completions_of_one_task_exactly_one_wins(flow: Flow, attempt: int) -> None:
    instance = flow.start("cs_agent1", "complaint_handling", COMPLAINT)
    task_id = flow.task(instance.id, "assess").id
    sup = flow.actor("cs_sup")
    results = race(
        lambda: flow.engine.tasks.complete(sup, task_id, {"valid": True}),
        lambda: flow.engine.tasks.complete(sup, task_id, {"valid": False}),
    )
    winners = [r for r in results if not isinstance(r, Exception)]
    losers = [r for r in results if isinstance(r, Exception)]
    assert len(winners) == 1 and len(losers) == 1
    assert isinstance(losers[0], Conflict)
    assert [e.action for e in flow.history(instance.id)].count("complete") == 1
    expected_next = "assign_department" if flow.instance(instance.id).data["valid"] else "reply_invalid"
    assert flow.task_keys(instance.id) == [expected_next]


def test_two_candidates_claim_at_once_one_gets_a_conflict(flow: Flow) -> None:
    instance = flow.start("cs_agent1", "complaint_handling", {**COMPLAINT, "category": "transport"})
    flow.complete("cs_sup", instance.id, "assess", {"valid": True})
    flow.complete("cs_sup", instance.id, "assign_department", {"department": "transport"})
    task_id = flow.task(instance.id, "analyze_cause").id
    results = race(
        lambda: flow.engine.tasks.claim(flow.actor("tr_staff"), task_id),
        lambda: flow.engine.tasks.claim(flow.actor("tr_lead"), task_id),
    )
    assert sorted(type(r).__name__ for r in results) == ["Conflict", "Task"]
    assert flow.task(instance.id, "analyze_cause").assignee in {"tr_staff", "tr_lead"}
    assert [e.action for e in flow.history(instance.id) if e.task_id == task_id] == ["claim"]


def test_claim_unclaim_and_reassign_by_a_superior(flow: Flow) -> None:
    instance = flow.start("cs_agent1", "complaint_handling", {**COMPLAINT, "category": "customs"})
    flow.complete("cs_sup", instance.id, "assess", {"valid": True})
    flow.complete("cs_sup", instance.id, "assign_department", {"department": "customs"})
    task_id = flow.task(instance.id, "analyze_cause").id
    staff, lead = flow.actor("cu_staff"), flow.actor("cu_lead")
    assert flow.engine.tasks.claim(staff, task_id).assignee == "cu_staff"
    assert task_id in flow.mine_ids("cu_staff", instance.id)
    assert task_id not in flow.available_ids("cu_lead", instance.id)
    with pytest.raises(Conflict):
        flow.engine.tasks.claim(lead, task_id)
    with flow.engine.db.sessions() as session:
        team, _ = flow.engine.tasks.query(session, lead, "team", instance_id=instance.id)
    assert [t.id for t in team] == [task_id]
    with pytest.raises(Forbidden):  # cs_sup sees the case (its agent started it) but is not cu_staff's superior
        flow.engine.tasks.assign(flow.actor("cs_sup"), task_id, "cs_agent2")
    with pytest.raises(NotFound):  # another department's lead does not see it at all
        flow.engine.tasks.assign(flow.actor("tr_lead"), task_id, "tr_staff")
    assert flow.engine.tasks.assign(lead, task_id, "cu_lead").assignee == "cu_lead"
    assert not any(n.username == "cu_lead" and n.kind == "assigned" for n in flow.notifications(instance.id))
    flow.engine.tasks.unclaim(lead, task_id)
    assert task_id in flow.available_ids("cu_staff", instance.id)
    actions = [e.action for e in flow.history(instance.id) if e.task_id == task_id]
    assert actions == ["claim", "assign", "unclaim"]


def test_a_direct_superior_may_complete_a_reports_task(flow: Flow) -> None:
    instance = flow.start("sales1", "approval_chain", approval_request("contract", 1000))
    flow.complete("sales_dir", instance.id, "approve", {"decision": "return", "comment": "补充附件"})
    revise = flow.task(instance.id, "revise")
    assert revise.assignee == "sales1"
    flow.engine.tasks.complete(flow.actor("sales_dir"), revise.id, approval_request("contract", 1500))
    assert flow.task_keys(instance.id) == ["approve"]
    with pytest.raises(NotFound):
        flow.engine.tasks.complete(flow.actor("sales2"), flow.task(instance.id, "approve").id, {"decision": "approve"})


def test_unknown_task_ids_are_not_found(flow: Flow) -> None:
    for bad in ("not-a-uuid", "00000000-0000-0000-0000-000000000000"):
        with pytest.raises(NotFound):
            flow.engine.tasks.claim(flow.actor("admin"), bad)


def test_invalid_completion_data_changes_nothing(flow: Flow) -> None:
    instance = flow.start("cs_agent1", "complaint_handling", COMPLAINT)
    before = flow.instance(instance.id)
    with pytest.raises(ValidationFailed):
        flow.complete("cs_sup", instance.id, "assess", {"valid": "maybe", "extra": "x"})
    after = flow.instance(instance.id)
    assert after.state == before.state and after.row_version == before.row_version
    assert flow.task(instance.id, "assess").assignee is None
