"""In Chromium: an admin opens a leaving salesperson's page, lists what would move to a successor,
hands it all over, and the successor finds the customer and the lead's follow-up as theirs."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

from playwright.sync_api import expect

from tests.data import lead
from tests.flow import Flow
from tests.webui.browser import Session


def test_an_admin_hands_a_leaving_salespersons_work_to_a_successor(
    chromium: Any, live_server: str, flow: Flow, new_user: Callable[..., str]
) -> None:
    leaver = new_user("leaver", ["sales"], superior="sales_dir", display_name="离职业务员")
    name = f"奉化{secrets.token_hex(3)}贸易有限公司"
    customer = flow.engine.customers.create(flow.actor(leaver), {"name": name})
    open_lead = flow.start(leaver, "lead_qualification", lead())
    follow_up = flow.task(open_lead.id, "verify_lead")
    assert follow_up.assignee == leaver

    page = Session(chromium, live_server, "admin").goto(f"/admin/users/{leaver}")
    expect(page.locator("[data-holdings]")).to_contain_text("1")
    page.select_option("#handover-to", "sales2")
    page.locator("#handover form.input-row button[type=submit]").click()
    preview = page.locator("[data-handover-preview]")
    expect(preview).to_contain_text(name)
    assert flow.task(open_lead.id, "verify_lead").assignee == leaver  # listing moves nothing
    page.locator("[data-confirm-handover]").click()
    expect(page.locator("#toasts .toast")).to_be_visible()
    expect(page.locator("[data-holdings]")).to_contain_text("0")

    assert flow.task(open_lead.id, "verify_lead").assignee == "sales2"
    successor = Session(chromium, live_server, "sales2")
    mine = successor.goto(f"/tasks?q=%23{open_lead.id}")  # the worklist search by instance number
    expect(mine.locator(f"tr[data-task-id='{follow_up.id}']")).to_be_visible()
    shown = successor.goto(f"/customers/{customer.id}")
    expect(shown.locator("h1")).to_contain_text(name)
