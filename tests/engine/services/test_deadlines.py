"""The shipped processes' deadlines fire at the right time, not before, and reach the right people,
in the app and by email through a real SMTP server."""

from __future__ import annotations

import email
import socket
from collections.abc import Iterator
from datetime import datetime, timedelta
from email.message import Message

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from engine import calendar
from engine.clock import aware
from engine.config import MailSettings
from engine.process_engine import ProcessEngine
from store.db import Database
from store.models import Job, Notification
from tests.data import COMPLAINT, approval_request, lead
from tests.flow import Flow


class Inbox:
    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        self.messages.append(email.message_from_bytes(envelope.content))  # type: ignore[attr-defined]
        return "250 OK"

    def to(self, address: str) -> list[Message]:
        return [m for m in self.messages if m["To"] == address]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def inbox() -> Iterator[tuple[Inbox, int]]:
    handler = Inbox()
    port = _free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    yield handler, port
    controller.stop()


@pytest.fixture
def mailing_flow(engine: ProcessEngine, flow: Flow, inbox: tuple[Inbox, int]) -> Iterator[Flow]:
    """The same database, through an engine that sends email."""
    _handler, port = inbox
    mailing = ProcessEngine(Database(engine.db.url), mail=MailSettings(host="127.0.0.1", port=port))
    mailing.repository.specs = engine.repository.specs
    yield Flow(mailing, flow.actor)
    mailing.db.dispose()


def _timer_job(flow: Flow, instance_id: int, element_id: str) -> Job:
    with flow.engine.db.sessions() as session:
        job = session.scalar(select(Job).where(Job.instance_id == instance_id, Job.element_id == element_id, Job.status == "pending"))
    assert job is not None, f"no pending timer {element_id} in instance {instance_id}"
    return job


def _notes(flow: Flow, instance_id: int, kind: str) -> list[str]:
    """Who got a notification of this kind, once per notification."""
    with flow.engine.db.sessions() as session:
        return sorted(
            session.scalars(select(Notification.username).where(Notification.instance_id == instance_id, Notification.kind == kind))
        )


def _fires_exactly_at(flow: Flow, instance_id: int, element_id: str, kind: str) -> datetime:
    """The timer's job does nothing a minute before it is due and fires once when due."""
    due = aware(_timer_job(flow, instance_id, element_id).due_at)
    assert due is not None
    before = _notes(flow, instance_id, kind)
    # Only this instance's time moves on (and the mail's): the other tests' timers keep theirs.
    flow.engine.jobs.run_due(due - timedelta(minutes=1), instances=[instance_id])
    assert _notes(flow, instance_id, kind) == before
    flow.engine.jobs.run_due(due + timedelta(seconds=1), instances=[instance_id])
    fired = _notes(flow, instance_id, kind)
    assert len(fired) > len(before)
    flow.engine.jobs.run_due(due + timedelta(seconds=2), instances=[instance_id])  # a second run fires nothing again
    assert _notes(flow, instance_id, kind) == fired
    return due


def _armed_at(flow: Flow, instance_id: int) -> datetime:
    return aware(flow.instance(instance_id).updated_at)  # type: ignore[return-value]


def test_complaint_unanswered_for_24_hours_alerts_the_supervisors_superior(mailing_flow: Flow, inbox: tuple[Inbox, int]) -> None:
    flow = mailing_flow
    instance = flow.start("cs_agent1", "complaint_handling", COMPLAINT)
    armed = _armed_at(flow, instance.id)
    due = _fires_exactly_at(flow, instance.id, "assess_reply_deadline", "escalation")
    assert abs(due - (armed + timedelta(hours=24))) < timedelta(minutes=1)
    assert _notes(flow, instance.id, "escalation") == ["vp_service"]
    mails = [
        m
        for m in inbox[0].to("vp_service@nbkk.example")
        if "【超时上报】" in str(email.header.make_header(email.header.decode_header(m["Subject"])))
    ]
    assert mails, [m["Subject"] for m in inbox[0].messages]
    assert flow.task_keys(instance.id) == ["assess"]  # non-interrupting: the supervisor can still answer
    assert [e.action for e in flow.history(instance.id)].count("timer") == 1


def test_implementation_past_five_working_days_alerts_the_division_leader(mailing_flow: Flow) -> None:
    flow = mailing_flow
    instance = flow.start("cs_agent1", "complaint_handling", {**COMPLAINT, "category": "transport"})
    flow.complete("cs_sup", instance.id, "assess", {"valid": True})
    flow.complete("cs_sup", instance.id, "assign_department", {"department": "transport"})
    flow.complete("tr_staff", instance.id, "analyze_cause", {"cause": "延误"})
    flow.complete("tr_staff", instance.id, "propose_resolution", {"resolution_type": "discount", "amount": 500, "plan": "折扣"})
    flow.complete("vp_service", instance.id, "leader_approval", {"decision": "approve"})
    flow.complete("gm", instance.id, "gm_approval", {"decision": "approve"})
    armed = _armed_at(flow, instance.id)
    implement = flow.task(instance.id, "implement")
    expected = calendar.add_duration(armed, "P5D", working=True)
    assert abs(aware(implement.due_at) - expected) < timedelta(minutes=1)  # type: ignore[operator]
    due = _fires_exactly_at(flow, instance.id, "implement_deadline", "escalation")
    assert abs(due - expected) < timedelta(minutes=1)
    assert _notes(flow, instance.id, "escalation") == ["vp_service"]


def test_lead_unverified_for_two_working_days_reminds_its_owner_and_30_days_alerts_the_director(
    mailing_flow: Flow, inbox: tuple[Inbox, int]
) -> None:
    flow = mailing_flow
    instance = flow.start("sales2", "lead_qualification", lead())
    armed = _armed_at(flow, instance.id)
    due = _fires_exactly_at(flow, instance.id, "verify_lead_reminder", "reminder")
    assert abs(due - calendar.add_duration(armed, "P2D", working=True)) < timedelta(minutes=1)
    assert _notes(flow, instance.id, "reminder") == ["sales2"]
    assert inbox[0].to("sales2@nbkk.example")
    untouched = _timer_job(flow, instance.id, "lead_untouched")
    assert abs(aware(untouched.due_at) - (armed + timedelta(days=30))) < timedelta(minutes=1)  # type: ignore[operator]
    flow.engine.jobs.run_due(aware(untouched.due_at) + timedelta(seconds=1), instances=[instance.id])  # type: ignore[operator]
    assert _notes(flow, instance.id, "escalation") == ["sales_dir"]
    assert _notes(flow, instance.id, "reminder") == ["sales2", "sales2"]


def test_an_approval_step_reminds_after_two_working_days_and_alerts_the_superior_after_three(mailing_flow: Flow) -> None:
    flow = mailing_flow
    instance = flow.start("store_staff", "approval_chain", approval_request("store_expense", 900))
    armed = _armed_at(flow, instance.id)
    reminder = _fires_exactly_at(flow, instance.id, "approve_reminder", "reminder")
    assert abs(reminder - calendar.add_duration(armed, "P2D", working=True)) < timedelta(minutes=1)
    assert _notes(flow, instance.id, "reminder") == ["region_mgr"]  # unclaimed: its candidates
    escalation = _fires_exactly_at(flow, instance.id, "approve_escalation", "escalation")
    assert abs(escalation - calendar.add_duration(armed, "P3D", working=True)) < timedelta(minutes=1)
    assert _notes(flow, instance.id, "escalation") == ["ops_mgr"]
    step = flow.task(instance.id, "approve")
    reassigned = flow.engine.tasks.assign(flow.actor("ops_mgr"), step.id, "region_mgr")
    assert reassigned.assignee == "region_mgr"


def test_a_claimed_approval_reminds_the_assignee(flow: Flow) -> None:
    instance = flow.start("sales1", "approval_chain", approval_request("discount_change", 0))
    flow.engine.tasks.claim(flow.actor("mkt_mgr"), flow.task(instance.id, "approve").id)
    _fires_exactly_at(flow, instance.id, "approve_reminder", "reminder")
    assert _notes(flow, instance.id, "reminder") == ["mkt_mgr"]


def test_a_completed_task_cancels_its_deadline(flow: Flow) -> None:
    instance = flow.start("cs_agent1", "complaint_handling", COMPLAINT)
    due = aware(_timer_job(flow, instance.id, "assess_reply_deadline").due_at)
    flow.complete("cs_sup", instance.id, "assess", {"valid": False})
    with flow.engine.db.sessions() as session:
        pending = session.scalars(
            select(Job).where(Job.instance_id == instance.id, Job.element_id == "assess_reply_deadline", Job.status == "pending")
        ).all()
    assert pending == []
    flow.engine.jobs.run_due(due + timedelta(hours=1))  # type: ignore[operator]
    assert _notes(flow, instance.id, "escalation") == []


def test_an_email_sent_again_after_a_crash_carries_the_same_message_id(mailing_flow: Flow, inbox: tuple[Inbox, int]) -> None:
    # At least once: a worker killed after the SMTP server took the mail but before the job was
    # recorded sends it again; the copy has the same Message-ID, so mail systems and readers see
    # one message. Every other mail has its own.
    flow, (received, _port) = mailing_flow, inbox
    instance = flow.start("store_staff", "approval_chain", approval_request("store_expense", 432))
    _fires_exactly_at(flow, instance.id, "approve_reminder", "reminder")
    with flow.engine.db.sessions() as session:
        jobs = session.scalars(select(Job).where(Job.kind == "email", Job.status == "done").order_by(Job.id.desc()).limit(50)).all()
        job = next(j for j in jobs if j.payload["to"] == "region_mgr@nbkk.example" and "432" in j.payload["body"])
    key = f"<crmflow-email-{job.id}-"
    sent = [m for m in received.messages if str(m["Message-ID"]).startswith(key)]
    assert len(sent) == 1 and str(sent[0]["Message-ID"]).endswith("@localhost>") and sent[0]["Date"]
    with flow.engine.db.transaction() as session:  # the crash: the mail went out, the job was never marked done
        session.get(Job, job.id).status = "pending"  # type: ignore[union-attr]
    flow.engine.jobs.run_due(instances=[])
    copies = [m for m in received.messages if str(m["Message-ID"]).startswith(key)]
    assert len(copies) == 2 and copies[0]["Message-ID"] == copies[1]["Message-ID"]
    count = len(received.messages)
    _fires_exactly_at(flow, instance.id, "approve_escalation", "escalation")  # another delivery: its own id
    later = [str(m["Message-ID"]) for m in received.messages[count:]]
    assert later and all(i.startswith("<crmflow-email-") and not i.startswith(key) for i in later) and len(set(later)) == len(later)
