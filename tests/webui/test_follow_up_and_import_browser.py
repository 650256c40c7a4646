"""In Chromium: a salesperson's follow-up that has come due is at the top of their worklist and is
done there with what was done (htmx, no reload; it lands in the customer's timeline); the import
page previews a CSV without leaving the page, a column the headers did not say is mapped by hand,
previewed again with the file still chosen, and imported."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from playwright.sync_api import expect

from store.models import Activity
from tests.flow import Flow
from tests.webui.browser import Session


def test_a_follow_up_is_done_from_the_worklist_without_a_reload(chromium: Any, live_server: str, flow: Flow) -> None:
    customer = flow.engine.customers.create(flow.actor("sales1"), {"name": f"奉化{secrets.token_hex(3)}服饰有限公司"})
    step = f"电话确认样品{secrets.token_hex(2)}"
    day = (datetime.now(UTC) + timedelta(days=3)).date().isoformat()
    activity = flow.engine.activities.on_customer(
        flow.actor("sales1"), customer.id, {"kind": "call", "summary": "寄出样品", "next_step": step, "next_at": day}
    )
    with flow.engine.db.transaction() as session:
        session.get(Activity, activity.id).next_at = datetime.now(UTC) - timedelta(minutes=10)

    browser = Session(chromium, live_server, "sales1")
    page = browser.page
    row = page.locator(f"#follow-ups [data-follow-up='{activity.id}']")
    expect(row).to_contain_text(step)
    expect(row).to_contain_text(customer.name)
    page.evaluate("window.__marker = 1")  # gone if the page reloads
    row.locator("input[name=summary]").fill("客户收到样品，下周下单")
    row.get_by_role("button", name="完成").click()
    expect(page.locator("#toasts .toast")).to_contain_text("跟进已完成")
    expect(page.locator(f"[data-follow-up='{activity.id}']")).to_have_count(0)
    assert page.evaluate("window.__marker") == 1
    browser.goto(f"/customers/{customer.id}")
    expect(page.locator("#customer-timeline")).to_contain_text("客户收到样品，下周下单")
    assert browser.errors == []
    browser.close()


def test_the_import_page_previews_maps_a_column_by_hand_and_imports(
    chromium: Any, live_server: str, tmp_path: Path, new_user: Callable[..., str]
) -> None:
    tag = secrets.token_hex(3)
    sheet = tmp_path / "客户.csv"
    sheet.write_text(
        f"Firma,电话,行业\n象山{tag}海产有限公司,0574-6{int(tag, 16) % 10**7:07d},水产\n象山{tag}海产有限公司,,\n", encoding="utf-8"
    )
    browser = Session(chromium, live_server, "sales1")
    page = browser.goto("/imports")
    page.locator("input[name=kind][value=customers]").check()
    expect(page).to_have_url(f"{live_server}/imports?kind=customers")
    page.set_input_files("#import-file", str(sheet))
    page.locator("[data-preview]").click()
    expect(page.locator("#import-preview [data-import-error]")).to_be_visible()  # no column says "name"
    firma = page.locator("#import-mapping tr[data-header='Firma'] select")
    firma.select_option("name")
    page.get_by_role("button", name="按这些列重新预览").click()
    expect(page.locator("[data-import-summary]")).to_contain_text("2")
    expect(page.locator("[data-duplicates]")).to_contain_text(f"象山{tag}海产有限公司")  # the second row
    expect(page.locator("#import-file")).to_have_value(f"C:\\fakepath\\{sheet.name}")  # still chosen
    page.locator("[data-import]").click()
    expect(page.locator("[data-imported]")).to_have_attribute("data-imported", "1")
    browser.goto(f"/customers?q={tag}")
    expect(page.locator("main")).to_contain_text(f"象山{tag}海产有限公司")
    assert browser.errors == []
    browser.close()
