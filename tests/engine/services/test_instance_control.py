"""Suspend, resume and terminate (admins): a suspended complaint's task refuses every action with
`suspended` and its deadline waits, firing once after resume; terminate takes the task out of every
worklist, cancels the deadline and records who and why; a reason is required; others may not; a
completion racing a terminate either lands first or finds the task cancelled."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import select

from engine.clock import aware
from engine.errors import Conflict, Forbidden, NotFound, ValidationFailed
from engine.services.instance_control import Suspended
from store.models import HistoryEvent, Job, Notification, Task
from tests.data import COMPLAINT
from tests.flow import Flow

DEADLINE = "assess_reply_deadline"  # the supervisor's 24-hour answer deadline on `assess`


def _deadline(flow: Flow, instance_id: int) -> Job:
    with flow.engine.db.sessions() as session:
        return session.scalars(select(Job).where(Job.instance_id == instance_id, Job.element_id == DEADLINE)).one()


def _escalations(flow: Flow, instance_id: int) -> int:
    with flow.engine.db.sessions() as session:
        return len(
            session.scalars(select(Notification).where(Notification.instance_id == instance_id, Notification.kind == "escalation")).all()
        )


def test_a_suspended_instance_refuses_every_task_action_and_its_deadline_waits_until_resume(flow: Flow) -> None:
    admin = flow.actor("admin")
    instance = flow.start("cs_agent1", "complaint_handling", COMPLAINT)
    task = flow.task(instance.id, "assess")
    due = aware(_deadline(flow, instance.id).due_at)
    assert due is not None

    suspended = flow.engine.instances.suspend(admin, instance.id, {"reason": "客户要求暂缓处理"})
    assert suspended.status == "suspended"
    assert flow.task(instance.id, "assess").suspended  # still in the worklist, marked
    for act in (
        lambda: flow.engine.tasks.claim(flow.actor("cs_sup"), task.id),
        lambda: flow.engine.tasks.complete(flow.actor("cs_sup"), task.id, {"valid": True}),
        lambda: flow.engine.tasks.assign(admin, task.id, "cs_sup"),
    ):
        with pytest.raises(Suspended):
            act()

    flow.engine.jobs.run_due(due + timedelta(hours=1))  # the deadline passes while suspended
    assert _escalations(flow, instance.id) == 0 and _deadline(flow, instance.id).status == "suspended"

    flow.engine.instances.resume(admin, instance.id, {})
    assert flow.instance(instance.id).status == "running" and not flow.task(instance.id, "assess").suspended
    flow.engine.jobs.run_due(due + timedelta(hours=1, seconds=1))  # the first run after resume
    assert _escalations(flow, instance.id) == 1
    flow.engine.jobs.run_due(due + timedelta(hours=2))
    assert _escalations(flow, instance.id) == 1  # once
    flow.complete("cs_sup", instance.id, "assess", {"valid": True})
    assert flow.task_keys(instance.id) == ["assign_department"]
    actions = [(e.action, e.user, e.comment) for e in flow.history(instance.id) if e.action in ("suspend", "resume")]
    assert actions == [("suspend", "admin", "客户要求暂缓处理"), ("resume", "admin", None)]
    flow.assert_rows_mirror_workflow(instance.id)


def test_terminate_takes_the_task_out_of_every_worklist_cancels_the_deadline_and_says_who_and_why(flow: Flow) -> None:
    instance = flow.start("cs_agent1", "complaint_handling", COMPLAINT)
    task = flow.task(instance.id, "assess")
    assert task.id in flow.available_ids("cs_sup", instance.id)
    flow.engine.instances.terminate(flow.actor("admin"), instance.id, {"reason": "重复登记，见另一投诉"})
    ended = flow.instance(instance.id)
    assert ended.status == "terminated" and ended.ended_at is not None
    assert flow.available_ids("cs_sup", instance.id) == set() and flow.mine_ids("cs_sup", instance.id) == set()
    assert _deadline(flow, instance.id).status == "cancelled"
    flow.engine.jobs.run_due(aware(_deadline(flow, instance.id).due_at) + timedelta(seconds=1))  # type: ignore[operator]
    assert _escalations(flow, instance.id) == 0
    (event,) = [e for e in flow.history(instance.id) if e.action == "terminate"]
    assert (event.user, event.comment, event.data["tasks_cancelled"]) == ("admin", "重复登记，见另一投诉", 1)
    with pytest.raises(Conflict):
        flow.engine.tasks.complete(flow.actor("cs_sup"), task.id, {"valid": True})
    with pytest.raises(Conflict):  # once ended, it stays ended
        flow.engine.instances.terminate(flow.actor("admin"), instance.id, {"reason": "again"})
    with pytest.raises(Conflict):
        flow.engine.instances.resume(flow.actor("admin"), instance.id, {})


def test_a_reason_is_required_and_only_admins_operate(flow: Flow) -> None:
    instance = flow.start("cs_agent1", "complaint_handling", COMPLAINT)
    for bad in ({}, {"reason": "   "}, {"reason": 42}, {"reason": "x" * 1001}, None):
        with pytest.raises(ValidationFailed):
            flow.engine.instances.suspend(flow.actor("admin"), instance.id, bad)
        with pytest.raises(ValidationFailed):
            flow.engine.instances.terminate(flow.actor("admin"), instance.id, bad)
    with pytest.raises(Forbidden):  # sees it (started it) but may not stop it
        flow.engine.instances.terminate(flow.actor("cs_agent1"), instance.id, {"reason": "不想要了"})
    with pytest.raises(NotFound):  # does not see it
        flow.engine.instances.suspend(flow.actor("sales1"), instance.id, {"reason": "x"})
    with pytest.raises(NotFound):
        flow.engine.instances.suspend(flow.actor("admin"), 2147483647, {"reason": "x"})
    assert flow.instance(instance.id).status == "running"
    with flow.engine.db.sessions() as session:
        assert not session.scalars(
            select(HistoryEvent).where(HistoryEvent.instance_id == instance.id, HistoryEvent.action != "start")
        ).all()


def _race_once(flow: Flow) -> str:
    """One completion and one terminate released together; what the completion got."""
    instance = flow.start("cs_agent1", "complaint_handling", COMPLAINT)
    task = flow.task(instance.id, "assess")
    flow.engine.tasks.claim(flow.actor("cs_sup"), task.id)
    barrier = threading.Barrier(2)
    results: dict[str, str] = {}

    def complete() -> None:
        barrier.wait()
        try:
            flow.engine.tasks.complete(flow.actor("cs_sup"), task.id, {"valid": True})
            results["complete"] = "done"
        except Conflict:
            results["complete"] = "refused"

    def terminate() -> None:
        barrier.wait()
        flow.engine.instances.terminate(flow.actor("admin"), instance.id, {"reason": "并发测试"})
        results["terminate"] = "done"

    threads = [threading.Thread(target=complete), threading.Thread(target=terminate)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert results["terminate"] == "done"
    with flow.engine.db.sessions() as session:
        rows = session.scalars(select(Task).where(Task.instance_id == instance.id)).all()
    assert all(r.status in ("completed", "cancelled") for r in rows)  # nothing left open
    completed = [r for r in rows if r.task_key == "assess" and r.status == "completed"]
    assert (results["complete"] == "done") == bool(completed)
    assert flow.instance(instance.id).status == "terminated"
    return results["complete"]


def test_a_completion_racing_a_terminate_lands_first_or_finds_the_task_cancelled(flow: Flow) -> None:
    outcomes = {_race_once(flow) for _ in range(4)}
    assert outcomes <= {"done", "refused"}
