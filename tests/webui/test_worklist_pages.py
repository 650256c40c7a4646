"""The worklist page: tabs and counts, filters, search, sorting, saved filters with live counts,
claim from the list, bulk claim and bulk reassign, badges and times in Asia/Shanghai."""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from flask import Flask
from sqlalchemy import select, update

from engine.process_engine import ProcessEngine
from engine.services.worklist import TaskFilter, local_day_bounds
from store.models import Job, Task
from store.ui_models import SavedFilter
from tests.flow import Flow
from tests.webui.conftest import Page

ROW = re.compile(r'<tr class="task-row[^"]*" data-task-id="([^"]+)"')


def complaints(flow: Flow, n: int, tag: str | None = None, **extra: object) -> tuple[str, list[int]]:
    tag = tag or f"批量{secrets.token_hex(3)}"
    ids = []
    for i in range(n):
        data = {"customer": f"{tag}客户{i}", "category": "quality", "description": f"{tag} 描述 {i}", **extra}
        ids.append(flow.start("cs_agent1", "complaint_handling", data).id)
    return tag, ids


def rows(html: str) -> list[str]:
    return ROW.findall(html)


def test_tabs_carry_live_counts(flow: Flow, ui: Callable[[str], Page], engine: ProcessEngine) -> None:
    complaints(flow, 1)
    page = ui("cs_sup").text("/tasks")
    with engine.db.sessions() as session:
        counts = engine.worklist.counts(session, flow.actor("cs_sup"))
    for tab, count in counts.items():
        assert re.search(rf'data-tab="{tab}">\s*[^<]+<span class="count">{count}</span>', page), tab
    assert counts["available"] >= 1


def test_a_htmx_refresh_returns_only_the_list_with_its_out_of_band_parts(ui: Callable[[str], Page]) -> None:
    response = ui("cs_sup").get("/tasks?tab=available", htmx=True, headers={"HX-Target": "worklist"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in html
    assert 'id="tab-input" value="available" hx-swap-oob="true"' in html
    assert 'id="saved-filters"' in html and 'id="unread-badge"' in html


def test_text_search_process_and_due_filters(flow: Flow, ui: Callable[[str], Page], engine: ProcessEngine) -> None:
    tag, ids = complaints(flow, 3)
    tasks = [flow.task(i, "assess") for i in ids]
    now = datetime.now(UTC)
    _today, tomorrow, _next_week = local_day_bounds(now)
    with engine.db.transaction() as session:
        session.execute(update(Task).where(Task.id == tasks[0].id).values(due_at=now - timedelta(hours=2)))
        session.execute(update(Task).where(Task.id == tasks[1].id).values(due_at=now + timedelta(days=30)))
        session.execute(update(Task).where(Task.id == tasks[2].id).values(due_at=now + (tomorrow - now) / 2))
    page = ui("cs_sup")
    assert set(rows(page.text(f"/tasks?tab=available&q={tag}"))) == {t.id for t in tasks}
    assert rows(page.text(f"/tasks?tab=available&q={tag}客户2")) == [tasks[2].id]
    assert rows(page.text(f"/tasks?tab=available&q=%23{ids[1]}")) == [tasks[1].id]  # '#123' finds instance 123
    assert rows(page.text(f"/tasks?tab=available&q={tag}&process=approval_chain")) == []
    assert set(rows(page.text(f"/tasks?tab=available&q={tag}&process=complaint_handling"))) == {t.id for t in tasks}
    overdue = page.text(f"/tasks?tab=available&q={tag}&due=overdue")
    assert rows(overdue) == [tasks[0].id] and "已超期" in overdue
    assert rows(page.text(f"/tasks?tab=available&q={tag}&due=today")) == [tasks[2].id]
    assert rows(page.text(f"/tasks?tab=available&q={tag}&due=week")) == [tasks[2].id]  # not the overdue one, not next month's
    assert "row-overdue" in page.text(f"/tasks?tab=available&q={tag}")
    assert rows(page.text(f"/tasks?tab=available&q={tag}&due=nonsense&priority=&sort=%3Cx%3E")) != []  # junk is ignored


def test_sorting_by_due_created_and_priority(flow: Flow, ui: Callable[[str], Page], engine: ProcessEngine) -> None:
    tag, ids = complaints(flow, 3)
    tasks = [flow.task(i, "assess").id for i in ids]
    base = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
    with engine.db.transaction() as session:
        for n, (task_id, due, prio) in enumerate(zip(tasks, (3, 1, 2), (50, 90, 10), strict=True)):
            session.execute(
                update(Task)
                .where(Task.id == task_id)
                .values(due_at=base + timedelta(days=due), created_at=base + timedelta(hours=n), priority=prio)
            )
    page = ui("cs_sup")
    url = f"/tasks?tab=available&q={tag}"
    assert rows(page.text(url)) == [tasks[1], tasks[2], tasks[0]]
    assert rows(page.text(url + "&sort=-due")) == [tasks[0], tasks[2], tasks[1]]
    assert rows(page.text(url + "&sort=created")) == tasks
    assert rows(page.text(url + "&sort=-created")) == tasks[::-1]
    assert rows(page.text(url + "&sort=priority")) == [tasks[1], tasks[0], tasks[2]]
    high = page.text(url + "&priority=high")
    assert rows(high) == [tasks[1]] and "badge-high" in high
    assert rows(page.text(url + "&priority=low")) == [tasks[2]]


def test_times_are_shown_in_shanghai_time(flow: Flow, ui: Callable[[str], Page], engine: ProcessEngine) -> None:
    tag, ids = complaints(flow, 1)
    task = flow.task(ids[0], "assess")
    with engine.db.transaction() as session:
        session.execute(update(Task).where(Task.id == task.id).values(created_at=datetime(2026, 1, 5, 23, 30, tzinfo=UTC)))
    page = ui("cs_sup").text(f"/tasks?tab=available&q={tag}")
    assert "01-06 07:30" in page  # 23:30 UTC is 07:30 the next morning in Asia/Shanghai


def test_saved_filters_keep_a_live_count(flow: Flow, ui: Callable[[str], Page], engine: ProcessEngine) -> None:
    tag, _ids = complaints(flow, 2)
    page = ui("cs_sup")
    name = f"筛选{tag}"
    response = page.post("/filters", {"name": name, "tab": "available", "q": tag, "process": "complaint_handling"}, htmx=True)
    assert response.status_code == 204
    events = json.loads(response.headers["HX-Trigger"])
    assert "worklist-changed" in events and name in events["crm-toast"]["message"]
    with engine.db.sessions() as session:
        saved = session.scalar(select(SavedFilter).where(SavedFilter.name == name))
    assert saved is not None and saved.params == {"tab": "available", "process": "complaint_handling", "q": tag}

    def count() -> int:
        html = page.text("/tasks")
        match = re.search(rf'<span class="saved-name">{name}</span><span class="count" data-count>(\d+)</span>', html)
        assert match, html
        return int(match.group(1))

    assert count() == 2
    complaints(flow, 1, tag=tag)
    assert count() == 3
    flow.engine.tasks.claim(flow.actor("cs_sup"), flow.task(_ids[0], "assess").id)
    assert count() == 2  # claimed: no longer available
    # the same name again replaces the criteria; a name is required
    page.post("/filters", {"name": name, "tab": "mine", "q": tag})
    assert count() == 1
    assert page.post("/filters", {"name": "  ", "tab": "mine"}).status_code == 302
    with engine.db.sessions() as session:
        assert session.scalar(select(SavedFilter).where(SavedFilter.name == "")) is None
    # saving without JavaScript takes the criteria from the page's address
    page.post("/filters", {"name": f"{name}-url", "from_url": f"/tasks?tab=done&q={tag}"})
    with engine.db.sessions() as session:
        assert session.scalar(select(SavedFilter.params).where(SavedFilter.name == f"{name}-url")) == {"tab": "done", "q": tag}
    assert page.post(f"/filters/{saved.id}/delete").status_code == 302
    assert name + "</span>" not in page.text("/tasks")


def test_claim_and_unclaim_from_the_list(flow: Flow, ui: Callable[[str], Page]) -> None:
    tag, ids = complaints(flow, 1)
    task = flow.task(ids[0], "assess").id
    page = ui("cs_sup")
    listing = page.text(f"/tasks?tab=available&q={tag}")
    assert f'hx-post="/tasks/{task}/claim"' in listing
    response = page.post(f"/tasks/{task}/claim", htmx=True)
    assert response.status_code == 204
    events = json.loads(response.headers["HX-Trigger"])
    assert "worklist-changed" in events and "您已领取" in events["crm-toast"]["message"]
    assert response.headers["HX-Trigger"].isascii()
    assert f'hx-post="/tasks/{task}/unclaim"' in page.text(f"/tasks?tab=mine&q={tag}")
    assert page.post(f"/tasks/{task}/unclaim", htmx=True).status_code == 204
    assert flow.task(ids[0], "assess").assignee is None
    taken = ui("cs_sup").post(f"/tasks/{task}/claim", htmx=True)
    assert taken.status_code == 204
    other = page.post(f"/tasks/{task}/unclaim", {"next": "//evil.example"})
    assert other.headers["Location"] == f"/tasks/{task}"


def test_bulk_claim_claims_what_is_still_free(flow: Flow, ui: Callable[[str], Page]) -> None:
    tag, ids = complaints(flow, 3)
    for iid in ids:
        flow.complete("cs_sup", iid, "assess", {"valid": False})
    replies = [flow.task(i, "reply_invalid").id for i in ids]
    for reply in replies[:2]:  # offered to every agent again
        flow.engine.tasks.unclaim(flow.actor("cs_agent1"), reply)
    response = ui("cs_agent2").post(f"/tasks/bulk?tab=available&q={tag}", {"action": "claim", "task": replies}, htmx=True)
    toast = json.loads(response.headers["HX-Trigger"])["crm-toast"]
    assert toast["level"] == "warning" and "2" in toast["message"] and "1 项未能处理" in toast["message"]
    assert [flow.task(i, "reply_invalid").assignee for i in ids] == ["cs_agent2", "cs_agent2", "cs_agent1"]
    nothing = ui("cs_sup").post("/tasks/bulk", {"action": "claim"})
    assert nothing.status_code == 302


def test_bulk_reassign_is_for_supervisors(flow: Flow, ui: Callable[[str], Page]) -> None:
    tag, ids = complaints(flow, 2)
    for iid in ids:
        flow.complete("cs_sup", iid, "assess", {"valid": False})
    replies = [flow.task(i, "reply_invalid").id for i in ids]
    team = ui("cs_sup").text(f"/tasks?tab=team&q={tag}")
    assert set(rows(team)) == set(replies) and 'name="username"' in team and 'value="cs_agent2"' in team
    assert 'id="bulk-user"' not in ui("cs_agent1").text(f"/tasks?tab=mine&q={tag}")
    refused = ui("cs_agent1").post("/tasks/bulk", {"action": "assign", "username": "cs_agent2", "task": replies})
    assert refused.status_code == 302
    assert [flow.task(i, "reply_invalid").assignee for i in ids] == ["cs_agent1", "cs_agent1"]
    response = ui("cs_sup").post("/tasks/bulk", {"action": "assign", "username": "cs_agent2", "task": replies}, htmx=True)
    assert json.loads(response.headers["HX-Trigger"])["crm-toast"]["level"] == "success"
    assert [flow.task(i, "reply_invalid").assignee for i in ids] == ["cs_agent2", "cs_agent2"]
    assert ui("cs_sup").post("/tasks/bulk", {"action": "assign", "task": replies}, htmx=True).status_code == 204  # nobody chosen


def test_done_and_started_tabs(flow: Flow, ui: Callable[[str], Page]) -> None:
    tag, ids = complaints(flow, 1)
    flow.complete("cs_sup", ids[0], "assess", {"valid": False})
    done = ui("cs_sup").text(f"/tasks?tab=done&q={tag}")
    assert rows(done) == [next(e.task_id for e in flow.history(ids[0]) if e.action == "complete")]
    started = ui("cs_agent1").text(f"/tasks?tab=started&q={tag}")
    assert f"/instances/{ids[0]}" in started and "委婉答复客户" in started and "进行中" in started


def test_filter_parameters_round_trip() -> None:
    f = TaskFilter.from_params({"tab": "team", "q": "  宁波   海联 ", "due": "week", "priority": "x", "sort": "-created", "process": "p"})
    assert f.params() == {"tab": "team", "process": "p", "due": "week", "q": "宁波 海联", "sort": "-created"}
    assert TaskFilter.from_params(f.params()) == f
    assert TaskFilter.from_params({"tab": "all"}).tab == "mine"


def test_pages_of_the_worklist(flow: Flow, ui: Callable[[str], Page], app: Flask) -> None:
    tag, ids = complaints(flow, 3)
    size, app.config["WORKLIST_PAGE_SIZE"] = app.config["WORKLIST_PAGE_SIZE"], 2
    try:
        first = ui("cs_sup").text(f"/tasks?tab=available&q={tag}&sort=created")
        second = ui("cs_sup").text(f"/tasks?tab=available&q={tag}&sort=created&page=2")
        beyond = ui("cs_sup").text(f"/tasks?tab=available&q={tag}&sort=created&page=99")
    finally:
        app.config["WORKLIST_PAGE_SIZE"] = size
    tasks = [flow.task(i, "assess").id for i in ids]
    assert rows(first) == tasks[:2] and "第 1 / 2 页" in first and "page=2" in first
    assert rows(second) == tasks[2:] and "第 2 / 2 页" in second and 'rel="prev"' in second
    assert rows(beyond) == tasks[2:]  # past the end: the last page


def test_an_escalated_task_shows_in_the_team_tab_with_why(flow: Flow, ui: Callable[[str], Page], engine: ProcessEngine) -> None:
    tag, ids = complaints(flow, 1)
    assess = flow.task(ids[0], "assess")
    assert assess.id not in rows(ui("vp_service").text(f"/tasks?tab=team&q={tag}"))
    with engine.db.sessions() as session:
        job = session.scalar(select(Job).where(Job.instance_id == ids[0], Job.element_id == "assess_reply_deadline"))
    assert job is not None
    engine.jobs.run_due(job.due_at.replace(tzinfo=UTC) + timedelta(seconds=1))
    page = ui("vp_service").text(f"/tasks?tab=team&q={tag}")
    assert rows(page) == [assess.id]
    row = page[page.index(f'data-task-id="{assess.id}"') :]
    row = row[: row.index("</tr>")]
    assert "已上报给您" in row and f"客户投诉（{tag}客户0）已超过24小时未判断是否成立，请督办。" in row
    assert "客服主管" in row  # nobody holds it yet: the role it waits in
    assert ui("vp_service").get(f"/tasks/{assess.id}").status_code == 200


def test_the_sales_assistant_finds_the_overdue_receivables(flow: Flow, ui: Callable[[str], Page], engine: ProcessEngine) -> None:
    tag = secrets.token_hex(3)
    today = local_day_bounds(datetime.now(UTC))[0].date()
    soon = flow.start(  # due yesterday at 09:00 Shanghai time: overdue at any hour of today
        "sales_asst",
        "receivable_collection",
        {"customer": f"{tag}甲", "contract_no": f"{tag}-1", "amount": 100, "due_date": (today - timedelta(days=1)).isoformat()},
    )
    later = flow.start(
        "sales_asst",
        "receivable_collection",
        {"customer": f"{tag}乙", "contract_no": f"{tag}-2", "amount": 100, "due_date": (today + timedelta(days=40)).isoformat()},
    )
    overdue = rows(ui("sales_asst").text(f"/tasks?tab=available&due=overdue&q={tag}"))
    assert overdue == [flow.task(soon.id, "record_payment").id]
    everything = rows(ui("sales_asst").text(f"/tasks?tab=available&q={tag}&process=receivable_collection"))
    assert set(everything) == {flow.task(soon.id, "record_payment").id, flow.task(later.id, "record_payment").id}
