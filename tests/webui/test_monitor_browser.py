"""In Chromium: a supervisor opens the complaint process on the monitor, sees the overdue count on
`assess`, clicks the step on the diagram and reaches the waiting instance; the heatmap colours the
steps. Screenshot: README monitor.png."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from playwright.sync_api import expect

from store.models import Task
from tests.browsing import OUTPUT
from tests.data import COMPLAINT
from tests.flow import Flow
from tests.webui.browser import Session


def test_a_supervisor_finds_the_overdue_complaint_from_the_diagram(chromium: Any, live_server: str, flow: Flow) -> None:
    done = flow.start("cs_agent1", "complaint_handling", COMPLAINT)
    with flow.engine.db.transaction() as session:  # a step that took two hours: the heatmap has a time
        session.query(Task).filter(Task.instance_id == done.id).one().created_at = datetime.now(UTC) - timedelta(hours=2)
    flow.complete("cs_sup", done.id, "assess", {"valid": True})
    late = flow.start("cs_agent1", "complaint_handling", {**COMPLAINT, "customer": "宁波迟到贸易有限公司"})
    with flow.engine.db.transaction() as session:
        task = session.query(Task).filter(Task.instance_id == late.id, Task.task_key == "assess").one()
        task.due_at = datetime.now(UTC) - timedelta(hours=3)
        task.created_at = datetime.now(UTC) - timedelta(days=400)  # the oldest waiting there

    browser = Session(chromium, live_server, "cs_sup")
    page = browser.goto("/monitor")
    page.locator("[data-process=complaint_handling] h2 a").click()
    diagram = page.locator("#monitor-diagram")
    expect(diagram).to_have_attribute("data-ready", "true")
    badges = page.locator(".monitor-badges[data-step=assess]")
    expect(badges.locator(".badge-overdue")).to_be_visible()
    assert int(badges.locator(".badge-overdue").inner_text()) >= 1

    page.locator("[data-heat][value=p50]").check()
    expect(diagram).to_have_attribute("data-heat", "p50")
    assert page.locator("#monitor-diagram [class*=crm-heat-]").count() >= 1
    (OUTPUT / "screenshots" / "readme").mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(OUTPUT / "screenshots" / "readme" / "monitor.png"))

    page.locator("#monitor-diagram [data-element-id=assess]").first.click()
    row = page.locator(f"#monitor-waiting tr[data-instance='{late.id}']")
    expect(row).to_be_visible()
    row.locator("a").click()
    expect(page).to_have_url(f"{live_server}/instances/{late.id}")
    assert browser.errors == []
    browser.close()
