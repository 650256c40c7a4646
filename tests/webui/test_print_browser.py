"""In Chromium, print media: an instance prints as a record, without the navigation, buttons,
forms or an empty open-tasks card (#13.16), and the page has a print button."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

from tests.data import COMPLAINT
from tests.flow import Flow
from tests.webui.browser import Session


def test_an_instance_prints_as_a_record(chromium: Any, live_server: str, flow: Flow) -> None:
    instance = flow.start("cs_agent1", "complaint_handling", COMPLAINT)
    flow.complete("cs_sup", instance.id, "assess", {"valid": False, "note": "不属实"})
    flow.complete("cs_agent1", instance.id, "reply_invalid", {"reply": "已致电说明"})  # finished: no open task
    session = Session(chromium, live_server, "cs_sup")
    page = session.goto(f"/instances/{instance.id}")
    expect(page.locator("[data-print]")).to_be_visible()
    expect(page.locator("header.topbar")).to_be_visible()
    page.emulate_media(media="print")
    expect(page.locator("header.topbar")).to_be_hidden()
    expect(page.locator("[data-print]")).to_be_hidden()
    expect(page.locator(".task-head h1")).to_be_visible()
    expect(page.locator("#history-title")).to_be_visible()
    expect(page.locator("#open-title")).to_be_hidden()  # the empty open-tasks card
    assert session.errors == []
