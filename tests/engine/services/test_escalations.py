"""An escalated task reaches the person told to chase it: their team view lists it with the reason,
whoever holds it, until it closes; the notification links to the task."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from engine.clock import aware
from store.models import Job, Notification, TaskEscalation
from tests.data import COMPLAINT, approval_request
from tests.flow import Flow


def _fire(flow: Flow, instance_id: int, element_id: str) -> None:
    with flow.engine.db.sessions() as session:
        job = session.scalar(select(Job).where(Job.instance_id == instance_id, Job.element_id == element_id, Job.status == "pending"))
    assert job is not None
    flow.engine.jobs.run_due(aware(job.due_at) + timedelta(seconds=1))  # type: ignore[operator]


def _team_ids(flow: Flow, username: str, instance_id: int | None = None) -> list[str]:
    with flow.engine.db.sessions() as session:
        tasks, _ = flow.engine.tasks.query(session, flow.actor(username), "team", instance_id=instance_id, limit=500)
        return [t.id for t in tasks]


def _team_count(flow: Flow, username: str) -> int:
    with flow.engine.db.sessions() as session:
        return flow.engine.tasks.scope_count(session, flow.actor(username), "team")


def test_an_unclaimed_complaint_past_its_deadline_shows_in_the_superiors_team_view_with_the_reason(flow: Flow) -> None:
    instance = flow.start("cs_agent1", "complaint_handling", {**COMPLAINT, "customer": "督办测试客户"})
    assess = flow.task(instance.id, "assess")
    assert assess.assignee is None  # in the supervisors' pool: nobody in vp_service's team holds it
    assert assess.id not in _team_ids(flow, "vp_service", instance.id)

    _fire(flow, instance.id, "assess_reply_deadline")

    assert _team_ids(flow, "vp_service", instance.id) == [assess.id]
    everything = _team_ids(flow, "vp_service")  # the count agrees with the list (other tests' deadlines fire too)
    assert assess.id in everything and _team_count(flow, "vp_service") == len(everything) == len(set(everything))
    with flow.engine.db.sessions() as session:
        reasons = flow.engine.tasks.escalations(session, flow.actor("vp_service"), [assess.id])
        notes = session.scalars(
            select(Notification).where(Notification.instance_id == instance.id, Notification.kind == "escalation")
        ).all()
        assert flow.engine.authorization.may_view_task(session, flow.actor("vp_service"), flow.task(instance.id, "assess"))
    assert reasons[assess.id].reason == "客户投诉（督办测试客户）已超过24小时未判断是否成立，请督办。"
    assert reasons[assess.id].event == "assess_reply_deadline"
    assert [n.task_id for n in notes] == [assess.id]  # the notice opens the task it is about
    assert assess.id not in _team_ids(flow, "gm", instance.id)  # told nobody else

    flow.complete("cs_sup", instance.id, "assess", {"valid": False})
    assert assess.id not in _team_ids(flow, "vp_service", instance.id)  # closed: nothing left to chase
    with flow.engine.db.sessions() as session:
        assert flow.engine.tasks.escalations(session, flow.actor("vp_service"), [assess.id]) == {}


def test_a_task_a_report_holds_is_counted_once_when_it_is_also_escalated(flow: Flow) -> None:
    instance = flow.start("store_staff", "approval_chain", approval_request("store_expense", 900))
    step = flow.task(instance.id, "approve")
    flow.engine.tasks.claim(flow.actor("region_mgr"), step.id)  # region_mgr reports to ops_mgr
    _fire(flow, instance.id, "approve_reminder")
    _fire(flow, instance.id, "approve_escalation")
    assert _team_ids(flow, "ops_mgr", instance.id) == [step.id]
    everything = _team_ids(flow, "ops_mgr")
    assert everything.count(step.id) == 1 and _team_count(flow, "ops_mgr") == len(everything)
    with flow.engine.db.sessions() as session:
        reminder = session.scalar(select(Notification).where(Notification.instance_id == instance.id, Notification.kind == "reminder"))
        rows = session.scalars(select(TaskEscalation).where(TaskEscalation.task_id == step.id)).all()
    assert reminder is not None and reminder.task_id == step.id
    assert [r.username for r in rows] == ["ops_mgr"]  # a reminder is not an escalation


def test_an_escalation_to_someone_without_reports_gives_them_the_team_tab(flow: Flow) -> None:
    instance = flow.start("cs_agent1", "complaint_handling", COMPLAINT)
    assess = flow.task(instance.id, "assess")
    with flow.engine.db.sessions() as session:
        assert "team" not in flow.engine.worklist.tabs(session, flow.actor("cs_agent2"))
    with flow.engine.db.transaction() as session:  # an admin's process may escalate to anyone
        session.add(TaskEscalation(task_id=assess.id, username="cs_agent2", at=aware(assess.created_at), reason="请跟进"))
    try:
        with flow.engine.db.sessions() as session:
            assert "team" in flow.engine.worklist.tabs(session, flow.actor("cs_agent2"))
        assert _team_ids(flow, "cs_agent2", instance.id) == [assess.id]
    finally:  # closed, it is nothing to chase: the tab goes again (other tests share the database)
        flow.complete("cs_sup", instance.id, "assess", {"valid": False})
    with flow.engine.db.sessions() as session:
        assert "team" not in flow.engine.worklist.tabs(session, flow.actor("cs_agent2"))


def test_notifications_off_a_deadline_name_no_task(flow: Flow) -> None:
    instance = flow.start("store_staff", "approval_chain", approval_request("store_expense", 900))
    flow.complete("region_mgr", instance.id, "approve", {"decision": "reject", "comment": "超预算"})
    with flow.engine.db.sessions() as session:
        notes = session.scalars(select(Notification).where(Notification.instance_id == instance.id, Notification.kind != "assigned")).all()
        escalated = session.scalars(
            select(TaskEscalation).where(TaskEscalation.task_id.in_([e.task_id for e in flow.history(instance.id)]))
        ).all()
    assert notes and all(n.task_id is None for n in notes)  # the outcome is about the whole request
    assert escalated == []
