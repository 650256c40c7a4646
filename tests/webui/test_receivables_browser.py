"""In Chromium: the sales assistant opens the receivables due this week, records a part payment on
the row (the rest stays outstanding), then the rest (the receivable leaves the board as paid). The
board is usable at phone width. Screenshot: README receivables.png."""

from __future__ import annotations

import secrets
from typing import Any

from playwright.sync_api import expect

from tests.browsing import OUTPUT
from tests.flow import Flow
from tests.webui.browser import Session


def test_the_sales_assistant_records_payments_from_the_due_this_week_list(chromium: Any, live_server: str, flow: Flow) -> None:
    name = f"北仑{secrets.token_hex(2)}国际物流有限公司"
    today = flow.engine.identity.today().isoformat()
    data = {"customer": name, "contract_no": "HT-2026-118", "amount": 1000, "due_date": today, "owner": "sales1"}
    instance = flow.start("sales_asst", "receivable_collection", data)
    for customer, contract, amount, owner in (
        ("镇海港联化工有限公司", "HT-2026-097", 86000, "sales2"),
        ("慈溪东方电器有限公司", "HT-2026-102", 12500, "sales1"),
    ):
        flow.start(
            "sales_asst",
            "receivable_collection",
            {"customer": customer, "contract_no": contract, "amount": amount, "due_date": today, "owner": owner},
        )
    page = Session(chromium, live_server, "sales_asst").goto("/receivables")
    expect(page.locator(".tabs [data-due=week]")).to_have_attribute("aria-current", "page")
    row = page.locator(f"#receivables tr[data-receivable='{instance.id}']")
    expect(row).to_contain_text(name)
    expect(row.locator(".badge")).to_have_text("今天")
    (OUTPUT / "screenshots" / "readme").mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(OUTPUT / "screenshots" / "readme" / "receivables.png"))

    row.locator("input[name=paid_amount]").fill("400")
    row.locator("button[type=submit]").click()
    expect(page.locator("#toasts .toast")).to_contain_text("600")
    row = page.locator(f"#receivables tr[data-receivable='{instance.id}']")
    expect(row.locator("td.num")).to_contain_text("600")
    expect(row.locator("input[name=paid_amount]")).to_have_value("600.00")  # the rest, offered

    row.locator("button[type=submit]").click()
    expect(page.locator("#toasts .toast")).to_contain_text("收清")
    expect(page.locator(f"#receivables tr[data-receivable='{instance.id}']")).to_have_count(0)
    assert flow.instance(instance.id).data["outcome"] == "paid"

    page.set_viewport_size({"width": 390, "height": 844})  # a phone: nothing wider than the screen
    page.reload()
    wide = page.evaluate(
        "[...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > window.innerWidth + 1).map(e => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right)).slice(0, 15)"
    )
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"), wide
