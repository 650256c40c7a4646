"""In Chromium: an admin terminates a mistaken complaint from its page with a reason; the browser
asks first (dismissed, nothing happens), then the page says who ended it and why."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

from tests.data import COMPLAINT
from tests.flow import Flow
from tests.webui.browser import Session


def test_an_admin_terminates_a_complaint_with_a_reason(chromium: Any, live_server: str, flow: Flow) -> None:
    instance = flow.start("cs_agent1", "complaint_handling", COMPLAINT)
    browser = Session(chromium, live_server, "admin")
    page = browser.goto(f"/instances/{instance.id}")
    page.fill("#op-reason", "重复登记：与另一投诉为同一批货")
    answers = iter(["dismiss", "accept"])
    questions: list[str] = []

    def answer(dialog: Any) -> None:
        questions.append(dialog.message)
        dialog.dismiss() if next(answers) == "dismiss" else dialog.accept()

    page.on("dialog", answer)
    page.get_by_role("button", name="终止").click()
    expect(page.locator("#operations")).to_be_visible()
    assert flow.instance(instance.id).status == "running"  # dismissed: nothing happened
    page.get_by_role("button", name="终止").click()
    expect(page.locator("[data-terminated]")).to_contain_text("重复登记：与另一投诉为同一批货")
    expect(page.locator("#operations")).to_have_count(0)
    assert questions and "终止" in questions[0]
    assert flow.instance(instance.id).status == "terminated"
    assert browser.errors == []
    browser.close()
