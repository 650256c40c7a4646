"""Every page and action enforces who may see and do what, for each demo role; where existence must
not leak (someone else's task, instance, notification or filter) the answer is 404."""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable

import pytest
from sqlalchemy import select

from engine.process_engine import ProcessEngine
from processes.demo import USERS
from store.models import Notification, ProcessInstance, Task
from store.ui_models import SavedFilter
from tests.flow import Flow
from tests.webui.conftest import Page


def complaint(flow: Flow, **extra: object) -> tuple[int, str]:
    customer = f"宁波测试客户{secrets.token_hex(3)}"
    data = {"customer": customer, "category": "quality", "description": "外箱破损", "severity": "high", **extra}
    instance = flow.start("cs_agent1", "complaint_handling", data)
    return instance.id, customer


def test_the_task_page_follows_the_engine_rule_for_every_demo_user(flow: Flow, ui: Callable[[str], Page], engine: ProcessEngine) -> None:
    iid, customer = complaint(flow)
    task = flow.task(iid, "assess")
    expected_visible = {"cs_sup", "admin", "vp_service", "gm"}
    with engine.db.sessions() as session:
        instance = session.get(ProcessInstance, iid)
        for username in USERS:
            actor = flow.actor(username)
            sees_task = engine.authorization.may_view_task(session, actor, task)
            assert sees_task == (username in expected_visible), username
            page = ui(username).get(f"/tasks/{task.id}")
            assert page.status_code == (200 if sees_task else 404), username
            if sees_task:
                assert customer in page.get_data(as_text=True)
            else:
                assert customer not in page.get_data(as_text=True)
            sees_instance = engine.authorization.may_view_instance(session, actor, instance)  # type: ignore[arg-type]
            for path in (f"/instances/{iid}", f"/instances/{iid}/diagram.bpmn"):
                assert ui(username).get(path).status_code == (200 if sees_instance else 404), (username, path)
    assert ui("cs_agent1").get(f"/instances/{iid}").status_code == 200  # the agent who registered it follows it
    assert ui("sales1").get(f"/tasks/{task.id}").status_code == ui("sales1").get("/tasks/00000000-0000-0000-0000-000000000000").status_code
    assert ui("sales1").get("/instances/99999999").status_code == 404


def test_task_actions_are_allowed_only_to_the_right_people(flow: Flow, ui: Callable[[str], Page]) -> None:
    iid, _customer = complaint(flow)
    task = flow.task(iid, "assess").id
    # outsiders do not learn the task exists; superiors who may look are not candidates
    assert ui("sales1").post(f"/tasks/{task}/claim").status_code == 404
    assert ui("gm").post(f"/tasks/{task}/claim").status_code == 403
    assert ui("sales1").post(f"/tasks/{task}", {"valid": "true"}).status_code == 404
    assert ui("gm").post(f"/tasks/{task}", {"valid": "true"}).status_code == 403
    assert ui("cs_sup").post(f"/tasks/{task}/claim").status_code == 302
    assert flow.task(iid, "assess").assignee == "cs_sup"
    assert ui("cs_sup").post(f"/tasks/{task}/claim", htmx=True).status_code == 204  # claiming again is harmless
    # reassign: the assignee's direct superior, to someone the task is offered to
    assert ui("cs_agent2").post(f"/tasks/{task}/assign", {"username": "cs_agent2"}).status_code == 404
    assert ui("vp_service").post(f"/tasks/{task}/assign", {"username": "no_such_user"}).status_code == 422
    assert ui("vp_service").post(f"/tasks/{task}/assign", {"username": "cs_agent2"}).status_code == 422  # not a supervisor
    assert ui("gm").post(f"/tasks/{task}/assign", {"username": "cs_sup"}).status_code == 403  # an indirect superior only views
    assert ui("vp_service").post(f"/tasks/{task}/assign", {"username": "cs_sup"}).status_code == 302
    assert flow.task(iid, "assess").assignee == "cs_sup"
    # delegation: the assignee only, and only to someone the task is offered to
    assert ui("vp_service").post(f"/tasks/{task}/delegate", {"username": "cs_sup"}).status_code == 403
    assert ui("cs_sup").post(f"/tasks/{task}/delegate", {"username": "sales1"}).status_code == 422
    # unclaim: the assignee or their direct superior
    assert ui("gm").post(f"/tasks/{task}/unclaim").status_code == 403
    assert ui("vp_service").post(f"/tasks/{task}/unclaim").status_code == 302
    assert flow.task(iid, "assess").assignee is None


def test_someone_elses_claim_shows_as_a_conflict_not_a_silent_takeover(flow: Flow, ui: Callable[[str], Page]) -> None:
    iid, _customer = complaint(flow)
    flow.complete("cs_sup", iid, "assess", {"valid": False, "note": "超出索赔期"})
    reply = flow.task(iid, "reply_invalid")
    assert reply.assignee == "cs_agent1"  # offered to every agent, held by the one who registered it
    taken = ui("cs_agent2").post(f"/tasks/{reply.id}/claim", htmx=True)
    assert taken.status_code == 409 and "已被他人领取" in json.loads(taken.headers["HX-Trigger"])["crm-toast"]["message"]
    assert ui("cs_agent2").post(f"/tasks/{reply.id}", {"reply": "抱歉"}).status_code == 409
    assert flow.task(iid, "reply_invalid").assignee == "cs_agent1"


def test_delegation_hands_the_task_to_a_fellow_candidate(flow: Flow, ui: Callable[[str], Page]) -> None:
    iid, _customer = complaint(flow)
    flow.complete("cs_sup", iid, "assess", {"valid": False, "note": "超出索赔期"})
    reply = flow.task(iid, "reply_invalid")
    assert reply.assignee == "cs_agent1"
    page = ui("cs_agent1").text(f"/tasks/{reply.id}")
    assert 'name="username"' in page and 'value="cs_agent2"' in page and 'value="sales1"' not in page
    assert ui("cs_agent2").post(f"/tasks/{reply.id}/delegate", {"username": "cs_agent2"}).status_code == 403
    response = ui("cs_agent1").post(f"/tasks/{reply.id}/delegate", {"username": "cs_agent2"})
    assert response.status_code == 302 and response.headers["Location"] == "/tasks"
    assert flow.task(iid, "reply_invalid").assignee == "cs_agent2"
    delegated = [e for e in flow.history(iid) if e.action == "delegate"]
    assert [(e.user, e.data) for e in delegated] == [("cs_agent1", {"from": "cs_agent1", "to": "cs_agent2"})]
    assert any(n.username == "cs_agent2" and n.kind == "assigned" for n in flow.notifications(iid))


@pytest.mark.parametrize("username", sorted(USERS))
def test_the_start_page_offers_exactly_the_processes_a_role_may_start(
    username: str, ui: Callable[[str], Page], engine: ProcessEngine
) -> None:
    page = ui(username).text("/processes")
    with engine.db.sessions() as session:
        actor = engine.identity.actor(session, username)
        for definition in engine.repository.list_latest(session):
            allowed = engine.authorization.may_start(definition, actor)
            link = f"/processes/{definition.key}/start"
            assert (link in page) == allowed, (username, definition.key)
            assert ui(username).get(link).status_code == (200 if allowed else 404), (username, definition.key)


def test_starting_is_refused_to_roles_that_may_not(ui: Callable[[str], Page], engine: ProcessEngine) -> None:
    data = {"customer": "越权客户", "category": "quality", "description": "x"}
    assert ui("sales1").post("/processes/complaint_handling/start", data).status_code == 404
    assert ui("sales1").post("/processes/no_such_process/start", data).status_code == 404
    response = ui("cs_agent1").post("/processes/complaint_handling/start", data)
    assert response.status_code == 302 and response.headers["Location"].startswith("/instances/")
    with engine.db.sessions() as session:
        started = session.scalars(
            select(ProcessInstance).where(ProcessInstance.started_by == "sales1", ProcessInstance.process_key == "complaint_handling")
        )
        assert list(started) == []


def test_worklists_show_only_what_a_user_may_see(flow: Flow, ui: Callable[[str], Page]) -> None:
    iid, customer = complaint(flow)
    row = f'<div class="customer">{customer}</div>'  # the search box echoes the text; the rows must not
    assert row in ui("cs_sup").text(f"/tasks?tab=available&q={customer}")
    for outsider in ("sales1", "qa_staff", "cs_agent2", "fin_mgr"):
        for tab in ("mine", "available", "team", "started", "done"):
            assert row not in ui(outsider).text(f"/tasks?tab={tab}&q={customer}"), (outsider, tab)
    started = ui("cs_agent1").text(f"/tasks?tab=started&q={customer}")
    assert row in started and f"/instances/{iid}" in started


def test_only_supervisors_have_a_team_tab_and_it_shows_who_holds_what(flow: Flow, ui: Callable[[str], Page]) -> None:
    iid, customer = complaint(flow)
    flow.complete("cs_sup", iid, "assess", {"valid": False})
    team = ui("cs_sup").text(f"/tasks?tab=team&q={customer}")
    assert 'data-tab="team"' in team and customer in team and "客服专员一" in team  # the assignee's name
    agent = ui("cs_agent1").text(f"/tasks?tab=team&q={customer}")
    assert 'data-tab="team"' not in agent
    assert 'aria-current="page" data-tab="mine"' in agent  # an unknown tab falls back to "my tasks"


def test_notifications_and_saved_filters_are_private(flow: Flow, ui: Callable[[str], Page], engine: ProcessEngine) -> None:
    iid, _customer = complaint(flow)
    flow.complete("cs_sup", iid, "assess", {"valid": False})
    with engine.db.sessions() as session:
        note = session.scalar(select(Notification).where(Notification.instance_id == iid, Notification.username == "cs_agent1"))
    assert note is not None
    assert ui("cs_agent2").post(f"/notifications/{note.id}/open").status_code == 404
    assert ui("cs_agent1").post(f"/notifications/{note.id}/open").status_code == 302
    ui("cs_sup").post("/filters", {"name": f"私有{iid}", "tab": "available"})
    with engine.db.sessions() as session:
        filter_id = session.scalar(select(SavedFilter.id).where(SavedFilter.name == f"私有{iid}"))
    assert ui("cs_agent1").post(f"/filters/{filter_id}/delete").status_code == 404
    assert ui("cs_sup").post(f"/filters/{filter_id}/delete").status_code == 302


def test_a_task_completed_elsewhere_is_a_conflict_not_a_second_completion(flow: Flow, ui: Callable[[str], Page]) -> None:
    iid, _customer = complaint(flow)
    task = flow.task(iid, "assess").id
    flow.complete("cs_sup", iid, "assess", {"valid": True})
    response = ui("cs_sup").post(f"/tasks/{task}", {"valid": "true"})
    assert response.status_code == 409
    assert "已被他人办理" in response.get_data(as_text=True)
    with flow.engine.db.sessions() as session:
        completed = session.scalars(select(Task).where(Task.instance_id == iid, Task.task_key == "assess")).all()
    assert [t.status for t in completed] == ["completed"]


@pytest.mark.parametrize("username", sorted(USERS))
def test_every_page_opens_for_every_role_with_only_their_tabs(username: str, ui: Callable[[str], Page], engine: ProcessEngine) -> None:
    with engine.db.sessions() as session:
        has_team = bool(engine.identity.subordinates(session, username, direct_only=True))
    page = ui(username)
    for tab in ("mine", "available", "team", "started", "done"):
        html = page.text(f"/tasks?tab={tab}")
        assert ('data-tab="team"' in html) == has_team, (username, tab)
    for path in ("/processes", "/notifications", "/notifications?show=unread", "/notifications/badge"):
        assert page.get(path).status_code == 200, (username, path)


def test_the_task_page_offers_exactly_the_people_the_engine_accepts(flow: Flow, ui: Callable[[str], Page]) -> None:
    iid = complaint(flow)[0]
    flow.complete("cs_sup", iid, "assess", {"valid": False})
    reply = flow.task(iid, "reply_invalid")
    page = ui("cs_sup").text(f"/tasks/{reply.id}")
    choices = page.split('id="assign-user"')[1].split("</select>")[0]
    assert 'value="cs_agent2"' in choices and 'value="cs_agent1"' not in choices  # not to whom already holds it
    assert 'value="sales1"' not in page
    # vp_service's reports are many, but none of them may take an analysis offered to transport
    flow.complete("cs_sup", (iid2 := complaint(flow)[0]), "assess", {"valid": True})
    flow.complete("cs_sup", iid2, "assign_department", {"department": "transport"})
    analysis = flow.task(iid2, "analyze_cause")
    with flow.engine.db.sessions() as session:
        offered = [u.username for u in flow.engine.authorization.assignees(session, flow.actor("vp_service"), analysis)]
    assert offered == ["tr_lead"]  # his direct report who is offered it; tr_staff reports to tr_lead
    page = ui("vp_service").text(f"/tasks/{analysis.id}")
    assert 'value="tr_lead"' in page and 'value="tr_staff"' not in page and 'value="cs_agent1"' not in page


def test_a_finished_task_page_shows_another_candidate_nothing_that_came_later(flow: Flow, ui: Callable[[str], Page]) -> None:
    tag = secrets.token_hex(3)
    data = {"company": f"奉化{tag}工贸", "phone": "0574-88001234", "source": "web", "estimated_value": 500000}
    instance = flow.start("sales1", "lead_qualification", data)
    verify = flow.task(instance.id, "verify_lead").id
    flow.complete("sales1", instance.id, "verify_lead", {"outcome": "qualified", "grade": "A"})
    flow.complete("sales_dir", instance.id, "director_review", {"decision": "approve", "comment": f"总监意见{tag}"})
    page = ui("sales2").text(f"/tasks/{verify}")
    assert data["company"] in page and data["phone"] in page  # what the task showed while it was offered to sales2
    assert f"总监意见{tag}" not in page and "销售总监审核" not in page  # the director's later decision and step
    assert f"总监意见{tag}" in ui("sales1").text(f"/tasks/{verify}")
