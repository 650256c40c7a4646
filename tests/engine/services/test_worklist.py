"""The engine's worklist-UI queries: paging, day bounds in Asia/Shanghai, started-by-me, the diagram
state, field labels, the inbox, and who a task may be delegated to."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

import pytest

from engine.errors import NotFound, ValidationFailed
from engine.services.presentation import diagram_state, element_names, field_catalogue
from engine.services.worklist import TaskFilter, local_day_bounds
from store.models import ProcessInstance
from tests.flow import Flow


def start(flow: Flow, tag: str, n: int = 1) -> list[int]:
    data = {"category": "quality", "description": "x"}
    return [flow.start("cs_agent1", "complaint_handling", {**data, "customer": f"{tag}-{i}"}).id for i in range(n)]


def test_pages_cover_the_result_and_clamp_out_of_range_pages(flow: Flow) -> None:
    tag = secrets.token_hex(4)
    start(flow, tag, 3)
    service = flow.engine.worklist
    f = TaskFilter(tab="available", text=tag)
    with flow.engine.db.sessions() as session:
        first = service.tasks(session, flow.actor("cs_sup"), f, page=1, per_page=2)
        second = service.tasks(session, flow.actor("cs_sup"), f, page=2, per_page=2)
        beyond = service.tasks(session, flow.actor("cs_sup"), f, page=9, per_page=2)
    assert (first.total, first.pages, len(first.items), len(second.items)) == (3, 2, 2, 1)
    assert {t.id for t in first.items}.isdisjoint(t.id for t in second.items)
    assert beyond.page == 2


def test_day_bounds_are_those_of_shanghai() -> None:
    today, tomorrow, next_week = local_day_bounds(datetime(2026, 11, 22, 17, 0, tzinfo=UTC))  # Monday 01:00 in Shanghai
    assert today.isoformat() == "2026-11-23T00:00:00+08:00"
    assert tomorrow.isoformat() == "2026-11-24T00:00:00+08:00"
    assert next_week.isoformat() == "2026-11-30T00:00:00+08:00"


def test_started_lists_running_instances_first_with_where_they_wait(flow: Flow) -> None:
    tag = secrets.token_hex(4)
    done_id, running_id = start(flow, tag, 2)
    flow.complete("cs_sup", done_id, "assess", {"valid": False})
    flow.complete("cs_agent1", done_id, "reply_invalid", {"reply": "抱歉"})
    with flow.engine.db.sessions() as session:
        page = flow.engine.worklist.started(session, flow.actor("cs_agent1"), TaskFilter(tab="started", text=tag))
        count = flow.engine.worklist.count(session, flow.actor("cs_agent1"), TaskFilter(tab="started", text=tag))
    assert [row.instance.id for row in page.items] == [running_id, done_id]
    assert [t.task_key for t in page.items[0].open_tasks] == ["assess"] and page.items[1].open_tasks == []
    assert page.items[0].customer == f"{tag}-1" and count == 1  # the count is of running instances


def test_saved_filters_are_validated_and_limited(flow: Flow) -> None:
    service = flow.engine.worklist
    actor = flow.actor("sales_asst")
    with pytest.raises(ValidationFailed):
        service.save_filter(actor, "", TaskFilter())
    saved = service.save_filter(actor, f"  {'名' * 150}  ", TaskFilter(tab="done"))
    assert len(saved.name) == 100
    with pytest.raises(NotFound):
        service.delete_filter(flow.actor("sales1"), saved.id)
    service.delete_filter(actor, saved.id)


def test_the_diagram_state_follows_a_return_loop(flow: Flow) -> None:
    iid = start(flow, secrets.token_hex(4))[0]
    with flow.engine.db.sessions() as session:
        instance = session.get(ProcessInstance, iid)
        assert instance is not None
        # a waiting boundary timer (assess_reply_deadline) is not "the current step"
        assert diagram_state(flow.engine, session, instance).active == ["assess"]
    flow.complete("cs_sup", iid, "assess", {"valid": True})
    flow.complete("cs_sup", iid, "assign_department", {"department": "quality"})
    flow.complete("qa_staff", iid, "analyze_cause", {"cause": "c"})
    flow.complete("qa_staff", iid, "propose_resolution", {"resolution_type": "apology", "plan": "p"})
    flow.complete("vp_service", iid, "leader_approval", {"decision": "return", "comment": "再议"})
    with flow.engine.db.sessions() as session:
        instance = session.get(ProcessInstance, iid)
        assert instance is not None
        state = diagram_state(flow.engine, session, instance)
        names = element_names(flow.engine, session, instance.definition_id)
        catalogue = field_catalogue(flow.engine, session, instance.definition_id)
    assert state.active == ["propose_resolution"]
    assert "leader_approval" in state.completed and "propose_resolution" not in state.completed
    assert ("leader_approval", "gw_leader") in state.flows and ("gw_leader", "gw_resolution_merge") in state.flows
    assert names["leader_approval"] == "分管领导批示"
    assert catalogue["customer"]["label_en"] == "Customer" and catalogue["category"]["options"]["quality"] == "质量"


def test_the_inbox_marks_only_its_owners_notifications(flow: Flow) -> None:
    iid = start(flow, secrets.token_hex(4))[0]
    flow.complete("cs_sup", iid, "assess", {"valid": False})
    note = next(n for n in flow.notifications(iid) if n.username == "cs_agent1")
    inbox = flow.engine.inbox
    with pytest.raises(NotFound):
        inbox.mark_read("cs_agent2", note.id)
    with flow.engine.db.sessions() as session:
        before = inbox.unread(session, "cs_agent1")
    assert inbox.mark_read("cs_agent1", note.id) == 1 and inbox.mark_read("cs_agent1", note.id) == 0
    with flow.engine.db.sessions() as session:
        assert inbox.unread(session, "cs_agent1") == before - 1
    with pytest.raises(ValidationFailed):
        inbox.set_locale("cs_agent1", "de", ("zh_CN", "en"))


def test_delegates_are_the_other_people_the_task_is_offered_to(flow: Flow) -> None:
    iid = start(flow, secrets.token_hex(4))[0]
    flow.complete("cs_sup", iid, "assess", {"valid": True})
    flow.complete("cs_sup", iid, "assign_department", {"department": "transport"})
    task = flow.engine.tasks.claim(flow.actor("tr_staff"), flow.task(iid, "analyze_cause").id)
    with flow.engine.db.sessions() as session:
        people = [u.username for u in flow.engine.authorization.delegates(session, flow.actor("tr_staff"), task)]
        assert flow.engine.authorization.delegates(session, flow.actor("tr_lead"), task) == []  # not theirs to hand on
    assert people == ["tr_lead"]
