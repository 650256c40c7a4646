"""In Chromium: a supervisor opens the reports from the monitor; every chart is drawn (ECharts, as
SVG) beside its table, without console errors (the page's CSP holds). Screenshot: README
reports.png."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

from tests.browsing import OUTPUT
from tests.data import COMPLAINT
from tests.flow import Flow
from tests.webui.browser import Session


def test_the_report_charts_are_drawn_beside_their_tables(chromium: Any, live_server: str, flow: Flow) -> None:
    for category in ("quality", "transport", "quality"):
        instance = flow.start("cs_agent1", "complaint_handling", {**COMPLAINT, "category": category})
        flow.complete("cs_sup", instance.id, "assess", {"valid": True})
    browser = Session(chromium, live_server, "cs_sup")
    page = browser.goto("/monitor")
    page.locator("[data-reports-link]").click()
    charts = page.locator("[data-chart]")
    expect(charts.first).to_have_attribute("data-ready", "true")
    assert charts.count() >= 3
    for i in range(charts.count()):
        expect(charts.nth(i)).to_have_attribute("data-ready", "true")
        assert charts.nth(i).locator("svg").count() >= 1
    expect(page.locator("#chart-complaint_handling-category svg text", has_text="质量").first).to_be_visible()
    (OUTPUT / "screenshots" / "readme").mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(OUTPUT / "screenshots" / "readme" / "reports.png"), full_page=True)
    assert browser.errors == []
    browser.close()
