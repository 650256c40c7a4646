"""In Chromium: sales1 opens a customer from the list, logs a visit with a next step, and on its day
finds the reminder among the notifications, which opens the customer again. The page is usable at
phone width. Screenshots under test-output/screenshots/customers/ (README: customer.png)."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from playwright.sync_api import expect

from tests.browsing import OUTPUT
from tests.data import COMPLAINT
from tests.flow import Flow
from tests.webui.browser import Session

SHOTS = OUTPUT / "screenshots" / "customers"


def test_a_visit_with_a_next_step_reminds_the_salesperson_on_its_day(chromium: Any, live_server: str, flow: Flow) -> None:
    name = f"宁波{secrets.token_hex(2)}海联贸易有限公司"
    customer = flow.engine.customers.create(
        flow.actor("sales1"), {"name": name, "industry": "货运代理", "phone": "0574-87001234", "address": "宁波市北仑区新碶街道"}
    )
    flow.engine.customers.add_contact(flow.actor("sales1"), customer.id, {"name": "王经理", "title": "采购经理", "relationship": "key"})
    flow.start("cs_agent1", "complaint_handling", {**COMPLAINT, "customer": name})
    sales1 = Session(chromium, live_server, "sales1")
    page = sales1.goto(f"/customers?q={name}")
    row = page.locator("#customers tr", has_text=name)
    expect(row).to_have_count(1)
    row.locator("a").click()
    expect(page.locator("h1")).to_contain_text(name)
    expect(page.locator("#customer-timeline [data-kind=complaint]")).to_have_count(1)  # the complaint naming it

    day = (datetime.now(UTC) + timedelta(days=3)).date()
    page.select_option("#a-kind", "visit")
    page.fill("#a-summary", "拜访王经理，了解明年的运输计划")
    page.fill("#a-next-step", "寄送报价单")
    page.fill("#a-next-at", day.isoformat())
    page.locator("#activity-form button[type=submit]").click()
    expect(page.locator("#toasts .toast")).to_contain_text("提醒")
    first = page.locator("#customer-timeline li").first
    expect(first).to_contain_text("拜访王经理")
    expect(first.locator("[data-next-step]")).to_contain_text("寄送报价单")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "customer.png"))
    (OUTPUT / "screenshots" / "readme").mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(OUTPUT / "screenshots" / "readme" / "customer.png"))

    flow.engine.jobs.run_due(datetime(day.year, day.month, day.day, 1, 0, 1, tzinfo=UTC))  # 09:00 in Shanghai
    page = sales1.goto("/notifications")
    note = page.locator(".notification", has_text="寄送报价单")
    expect(note).to_have_count(1)
    expect(note).to_contain_text(name)
    note.locator("button[type=submit]").click()
    expect(page.locator("h1")).to_contain_text(name)

    agent = Session(chromium, live_server, "cs_agent1")  # registering a complaint: the name is suggested
    form = agent.goto("/processes/complaint_handling/start")
    form.locator("#f-customer").press_sequentially(name[:8], delay=30)
    expect(form.locator("#suggest-customer option")).to_have_count(1)
    assert form.locator("#suggest-customer option").first.get_attribute("value") == name
    agent.close()

    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, width  # nothing wider than the phone
    page.screenshot(path=str(SHOTS / "customer-phone.png"), full_page=True)
    sales1.close()
