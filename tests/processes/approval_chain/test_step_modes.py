"""A chain step's mode, chosen in the decision table: countersign (会签, "all": every holder of the
step's roles gets a task of their own at once; all must approve; the first rejection or return
ends the step and withdraws the others' tasks) and any-one-of (或签, "any": one task offered to every
holder, the first decides). Each test deploys the shipped chain under a key and decision of its
own, with a table whose contract chain is a countersign of a test role then an any-one-of."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import select

from engine.clock import aware
from engine.errors import Conflict
from engine.services.identity import Actor
from store.models import Job
from tests.data import approval_request
from tests.flow import Flow
from tests.processes.approval_chain.step_modes import Chain, deploy_chain


@pytest.fixture
def chain(flow: Flow, new_user: Callable[..., str], actors: Callable[[str], Actor], monkeypatch: pytest.MonkeyPatch) -> Chain:
    return deploy_chain(flow, new_user, actors, monkeypatch)


def _approve_tasks(flow: Flow, instance_id: int) -> list[tuple[str, str]]:
    return sorted((t.candidate_users, t.candidate_roles) for t in flow.open_tasks(instance_id) if t.task_key == "approve")


def _decide(flow: Flow, username: str, instance_id: int, decision: str, comment: str = "") -> None:
    task = next(t for t in flow.open_tasks(instance_id) if t.task_key == "approve" and username in t.candidate_users.split(","))
    flow.engine.tasks.complete(flow.actor(username), task.id, {"decision": decision, "comment": comment or decision})
    flow.assert_rows_mirror_workflow(instance_id)


def test_a_countersign_needs_every_signer_then_any_one_of_decides(flow: Flow, chain: Chain) -> None:
    instance = flow.start("sales1", chain.key, approval_request("contract", 5000))
    assert _approve_tasks(flow, instance.id) == sorted((s, "") for s in chain.signers)  # one task each, at once
    for done, signer in enumerate(chain.signers[:2], start=1):
        _decide(flow, signer, instance.id, "approve")
        assert len(_approve_tasks(flow, instance.id)) == 3 - done  # the step waits for the others
        assert flow.instance(instance.id).data.get("step_index") == 0
    assert all(not flow.available_ids(s, instance.id) for s in chain.signers[:2])
    _decide(flow, chain.signers[2], instance.id, "approve")
    # Step 2, any-one-of: one task offered to both holders; the first decides.
    assert _approve_tasks(flow, instance.id) == [(",".join(sorted(chain.deciders)), "")]
    assert all(flow.available_ids(d, instance.id) for d in chain.deciders)
    _decide(flow, chain.deciders[1], instance.id, "approve")
    done = flow.instance(instance.id)
    assert done.status == "completed" and done.data["outcome"] == "approved"
    decided = [(e.user, e.data["decision"]) for e in flow.history(instance.id) if e.task_key == "approve" and e.action == "complete"]
    assert sorted(decided[:3]) == sorted((s, "approve") for s in chain.signers) and decided[3:] == [(chain.deciders[1], "approve")]


def test_one_rejection_rejects_the_countersign_and_withdraws_the_other_tasks(flow: Flow, chain: Chain) -> None:
    instance = flow.start("sales1", chain.key, approval_request("contract", 5000))
    _decide(flow, chain.signers[0], instance.id, "approve")
    _decide(flow, chain.signers[1], instance.id, "reject", "条款不可接受")
    done = flow.instance(instance.id)
    assert done.status == "completed" and done.data["outcome"] == "rejected"
    assert _approve_tasks(flow, instance.id) == []  # the third signer's task is gone from every worklist
    assert not flow.available_ids(chain.signers[2], instance.id)
    assert any(n.username == "sales1" and n.kind == "rejected" for n in flow.notifications(instance.id))


def test_a_return_from_one_signer_sends_it_back_and_the_countersign_starts_again(flow: Flow, chain: Chain) -> None:
    instance = flow.start("sales1", chain.key, approval_request("contract", 5000))
    _decide(flow, chain.signers[0], instance.id, "approve")
    _decide(flow, chain.signers[2], instance.id, "return", "请补充付款条件")
    assert [t.task_key for t in flow.open_tasks(instance.id)] == ["revise"]
    flow.complete("sales1", instance.id, "revise", approval_request("contract", 4800))
    assert _approve_tasks(flow, instance.id) == sorted((s, "") for s in chain.signers)  # everyone signs again


def test_a_countersign_takes_no_added_approver(flow: Flow, chain: Chain) -> None:
    instance = flow.start("sales1", chain.key, approval_request("contract", 5000))
    task = next(t for t in flow.open_tasks(instance.id) if chain.signers[0] in t.candidate_users)
    with pytest.raises(Conflict):
        flow.engine.chains.add_approver(flow.actor(chain.signers[0]), task.id, {"username": "gm", "position": "after"})
    assert len(_approve_tasks(flow, instance.id)) == 3


def test_the_reminder_of_a_countersign_reaches_every_signer_still_to_decide(flow: Flow, chain: Chain) -> None:
    instance = flow.start("sales1", chain.key, approval_request("contract", 5000))
    _decide(flow, chain.signers[0], instance.id, "approve")
    with flow.engine.db.sessions() as session:
        due = session.scalars(
            select(Job.due_at).where(Job.instance_id == instance.id, Job.kind == "timer", Job.status == "pending").order_by(Job.due_at)
        ).first()
    assert due is not None
    flow.engine.jobs.run_due(aware(due) + timedelta(seconds=1))  # the first timer: 2 working days
    reminded = {n.username for n in flow.notifications(instance.id) if n.kind == "reminder"}
    assert reminded == set(chain.signers[1:])  # who has signed is not reminded
    assert len(_approve_tasks(flow, instance.id)) == 2  # non-interrupting: the step goes on
