"""In Chromium: a supervisor opens the instance search from the monitor, chooses the complaint
process (its fields appear: the form's options as lists), narrows to high severity, downloads the
result as XLSX (read back with openpyxl) and opens the complaint register to print; switching to
another process drops the first one's field filters. Screenshot: README instance-search.png."""

from __future__ import annotations

import io
import secrets
from typing import Any

from openpyxl import load_workbook
from playwright.sync_api import expect

from tests.browsing import OUTPUT
from tests.data import COMPLAINT
from tests.flow import Flow
from tests.webui.browser import Session


def test_a_supervisor_searches_complaints_by_severity_exports_and_prints_the_register(chromium: Any, live_server: str, flow: Flow) -> None:
    tag = secrets.token_hex(3)
    high = flow.start("cs_agent1", "complaint_handling", {**COMPLAINT, "customer": f"舟山{tag}渔业有限公司", "severity": "high"}).id
    low = flow.start("cs_agent1", "complaint_handling", {**COMPLAINT, "customer": f"舟山{tag}渔业有限公司", "severity": "low"}).id

    browser = Session(chromium, live_server, "cs_sup")
    page = browser.goto("/monitor")
    page.locator("[data-search-link]").click()
    # app.js (deferred) submits the form on a change: choose only once it runs, at the load event
    page.wait_for_url("**/monitor/instances**")
    page.wait_for_load_state("load")
    page.locator("select[name=process_key]").select_option("complaint_handling")
    severity = page.locator("[data-field=severity] select")
    expect(severity).to_be_visible()  # the process's own fields, after the page reloaded with them
    page.fill("#q", tag)
    severity.select_option("high")
    page.locator("#instance-search button[type=submit]").click()
    expect(page.locator(f"#instances tr[data-instance-id='{high}']")).to_be_visible()
    expect(page.locator(f"#instances tr[data-instance-id='{low}']")).to_have_count(0)
    (OUTPUT / "screenshots" / "readme").mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(OUTPUT / "screenshots" / "readme" / "instance-search.png"))

    with page.expect_download() as download:
        page.locator("[data-export=xlsx]").click()
    assert download.value.suggested_filename == "instances.xlsx"
    sheet = load_workbook(io.BytesIO(download.value.path().read_bytes())).active
    assert sheet.cell(row=2, column=1).value == high and sheet.max_row == 2

    page.locator("[data-register]").click()
    expect(page.locator("h1")).to_have_text("客户投诉登记表")
    expect(page.locator(f"#register tr[data-instance-id='{high}']")).to_be_visible()
    page.go_back()
    page.wait_for_load_state("load")

    page.locator("select[name=process_key]").select_option("approval_chain")  # other fields, none carried over
    expect(page.locator("[data-field=request_type]")).to_be_visible()
    assert "data.severity" not in page.url
    assert browser.errors == []
    browser.close()
