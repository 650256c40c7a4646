"""In Chromium at a phone's width (390 px): a store clerk attaches the receipt to her expense
request, her own region manager sees its thumbnail on the approval page and approves without the
page scrolling sideways; a second request she withdraws (the browser asks first)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from playwright.sync_api import expect

from tests.api.test_attachments_api import png
from tests.data import COMPLAINT, approval_request
from tests.flow import Flow
from tests.webui.browser import Session

PHONE = (390, 844)


def sideways(page: Any) -> int:
    """How far the page would scroll sideways (0: it fits the screen)."""
    return int(page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth"))


def test_a_receipt_attached_and_approved_on_a_phone_then_a_request_withdrawn(
    chromium: Any, live_server: str, flow: Flow, tmp_path: Path, shots: Callable[[Any, str], Path]
) -> None:
    instance = flow.start("store_staff", "approval_chain", approval_request("store_expense", 486, title="门店打印机墨盒"))
    receipt = tmp_path / "墨盒发票.png"
    receipt.write_bytes(png(40, 30))

    clerk = Session(chromium, live_server, "store_staff", viewport=PHONE)
    page = clerk.goto(f"/instances/{instance.id}")
    page.set_input_files("#attach-file", str(receipt))
    page.get_by_role("button", name="上传").click()
    expect(page.locator("#attachments img.thumb")).to_have_count(1)
    assert sideways(page) == 0

    manager = Session(chromium, live_server, "region_mgr", viewport=PHONE)
    page = manager.goto(f"/tasks/{flow.task(instance.id, 'approve').id}")
    thumb = page.locator("#attachments img.thumb")
    expect(thumb).to_be_visible()
    thumb.scroll_into_view_if_needed()  # a lazy image loads once it comes near the screen
    page.wait_for_function("() => document.querySelector('#attachments img.thumb').complete")
    assert thumb.evaluate("img => img.naturalWidth") == 40  # the image itself, inline
    assert sideways(page) == 0
    shots(page, "phone-approval")
    manager.decide("approve")
    manager.submit()
    assert flow.instance(instance.id).data["step_index"] == 1  # on to the operations manager

    second = flow.start("store_staff", "approval_chain", approval_request("store_expense", 99, title="重复提交"))
    page = clerk.goto(f"/instances/{second.id}")
    page.on("dialog", lambda dialog: dialog.accept())
    page.fill("#rq-reason", "重复提交了")
    page.get_by_role("button", name="撤回").click()
    expect(page.locator("[data-withdrawn]")).to_contain_text("重复提交了")
    assert sideways(page) == 0
    assert flow.instance(second.id).status == "terminated"
    clerk.close()
    manager.close()


def test_the_worklist_fits_a_phone_on_every_tab(chromium: Any, live_server: str, flow: Flow) -> None:
    flow.start("store_staff", "approval_chain", approval_request("store_expense", 87, title="门店宣传单印刷"))
    flow.start("cs_agent1", "complaint_handling", COMPLAINT)
    for user, tabs in (("cs_sup", ("mine", "available", "team", "done")), ("region_mgr", ("mine", "available"))):
        person = Session(chromium, live_server, user, viewport=PHONE)
        for tab in tabs:
            page = person.goto(f"/tasks?tab={tab}")
            expect(page.locator("#worklist")).to_be_visible()
            assert sideways(page) == 0, (user, tab)
        person.close()
