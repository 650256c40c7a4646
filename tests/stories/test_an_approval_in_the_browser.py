"""In Chromium: an approval chain (contract) with a return by finance, a resubmission at a higher
amount that brings the general manager into the chain, and the requester told at each turn."""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

from playwright.sync_api import expect

from tests.webui.browser import Session


def test_an_approval_chain_with_a_return_and_a_resubmission(chromium: Any, live_server: str, shots: Callable[[Any, str], Path]) -> None:
    title = f"年度运输合同{secrets.token_hex(2)}"
    requester = Session(chromium, live_server, "sales1")
    page = requester.goto("/processes")
    page.locator('a[href="/processes/approval_chain/start"]').click()
    page.select_option("#f-request_type", "contract")
    page.fill("#f-title", title)
    page.fill("#f-amount", "-5")
    page.fill("#f-customer", "宁波海联贸易有限公司")
    page.fill("#f-description", "2027 年度海运合同")
    page.locator("[data-task-form] button[type=submit]").click()
    expect(page.locator("#err-amount")).to_contain_text("不能小于 0")  # the server checks min=0
    page.fill("#f-amount", "80000")
    page.locator("[data-task-form] button[type=submit]").click()
    expect(page.locator(".chain-current")).to_contain_text("销售总监")
    instance_url = page.url

    director = Session(chromium, live_server, "sales_dir")
    page = director.open_task(title, "available")
    expect(page.locator(".ctx-request")).to_contain_text("¥80,000.00")
    director.decide("approve", "价格合理")
    director.submit()

    finance = Session(chromium, live_server, "fin_mgr")
    page = finance.open_task(title, "available")
    expect(page.locator(".chain-done")).to_contain_text("销售总监")
    expect(page.locator(".decision-list")).to_contain_text("价格合理")
    finance.decide("return")
    page.locator("[data-task-form] button[type=submit]").click()
    expect(page.locator("#err-comment")).to_be_visible()
    finance.decide("return", "金额需含税，请修改后重新提交")
    shots(page, "finance-returns")
    finance.submit()

    # The requester is told (unread badge, notification) and finds the revision in "my tasks"
    page = requester.goto("/tasks")
    expect(page.locator("#unread-badge")).not_to_have_class(re.compile(r"\bis-zero\b"))
    page.locator("a.bell").click()
    notice = page.locator(".notification.is-unread", has_text=title).first
    expect(notice).to_contain_text("被退回修改：金额需含税")
    notice.locator("button[type=submit]").click()
    expect(page).to_have_url(instance_url)
    page = requester.open_task(title, "mine")
    expect(page.locator(".callout-returned")).to_contain_text("金额需含税")
    expect(page.locator("#f-amount")).to_have_value("80000")
    page.fill("#f-amount", "120000")
    requester.submit()

    # The chain starts again; at 120,000 the general manager joins it
    for approver in (director, finance):
        page = approver.open_task(title, "available")
        expect(page.locator(".ctx-request")).to_contain_text("¥120,000.00")
        approver.decide("approve")
        approver.submit()
    gm = Session(chromium, live_server, "gm")
    page = gm.open_task(title, "available")
    expect(page.locator(".chain-step")).to_have_count(3)
    expect(page.locator(".chain-current")).to_contain_text("总经理")
    history = page.locator(".decision-list .decision-item")
    expect(history).to_have_count(4)  # approve, return, approve, approve
    expect(history.nth(1)).to_contain_text("金额需含税")
    gm.decide("approve", "同意")
    shots(page, "gm-approves")
    gm.submit()

    page = requester.goto("/notifications")
    expect(page.locator(".notification", has_text=title).first).to_contain_text("已审批通过")
    page.goto(instance_url)
    expect(page.locator(".chip-outcome-approved")).to_be_visible()
    expect(page.locator(".chain-done")).to_have_count(3)
    shots(page, "request-approved")
    for session in (requester, director, finance, gm):
        session.close()


def test_keyboard_shortcuts_move_through_the_list_and_claim(
    chromium: Any, live_server: str, app: Any, shots: Callable[[Any, str], Path]
) -> None:
    engine = app.extensions["crmflow"]
    tag = f"快捷键{secrets.token_hex(2)}"
    with engine.db.sessions() as session:
        agent = engine.identity.actor(session, "cs_agent1")
    for i in range(2):
        engine.runtime.start(agent, "complaint_handling", {"customer": f"{tag}-{i}", "category": "service", "description": "d"})
    sup = Session(chromium, live_server, "cs_sup")
    page = sup.goto("/tasks?tab=available")
    page.keyboard.press("/")
    expect(page.locator("#q")).to_be_focused()
    page.keyboard.type(tag)
    expect(page.locator("#worklist tr.task-row", has_text=tag)).to_have_count(2)
    expect(page.locator("#worklist tr.task-row")).to_have_count(2)  # the filtered list, not the one before
    page.locator("h1").click()  # leave the search box, as a keyboard user would with Tab
    page.wait_for_load_state("networkidle")
    page.keyboard.press("j")
    expect(page.locator("#worklist tr.task-row").first).to_have_class(re.compile(r"\bis-focused\b"))
    page.keyboard.press("c")
    expect(page.locator(".toast").last).to_contain_text("您已领取")
    expect(page.locator("#worklist tr.task-row", has_text=tag)).to_have_count(1)
    page.keyboard.press("?")
    expect(page.locator("#shortcuts")).to_be_visible()
    page.keyboard.press("Escape")
    page.keyboard.press("g")
    page.keyboard.press("p")
    expect(page).to_have_url(f"{live_server}/processes")
    sup.close()


def test_pages_fit_a_tablet_screen(chromium: Any, live_server: str, flow: Any, shots: Callable[[Any, str], Path]) -> None:
    instance = flow.start(
        "cs_agent1", "complaint_handling", {"customer": f"平板{secrets.token_hex(2)}", "category": "quality", "description": "d"}
    )
    task = flow.task(instance.id, "assess").id
    sup = Session(chromium, live_server, "cs_sup")
    for width, height in ((768, 1024), (1024, 768)):
        sup.page.set_viewport_size({"width": width, "height": height})
        for path in ("/tasks?tab=available", f"/tasks/{task}", f"/instances/{instance.id}", "/processes", "/notifications"):
            page = sup.goto(path)
            overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 0, (width, path, overflow)
        shots(sup.goto(f"/tasks/{task}"), f"task-{width}")
    sup.close()
