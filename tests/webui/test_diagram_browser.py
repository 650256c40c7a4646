"""In Chromium: a task's or instance's diagram opens at a readable scale on the current step, not
fitted to the width with 5-pixel labels (#13.15)."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

from tests.data import COMPLAINT
from tests.flow import Flow
from tests.webui.browser import Session

SCALE = "document.querySelector('#diagram .viewport').transform.baseVal.consolidate().matrix.a"
INSIDE = """() => {
  const box = document.querySelector('#diagram').getBoundingClientRect();
  const step = document.querySelector('#diagram .crm-active').getBoundingClientRect();
  return step.left >= box.left && step.right <= box.right && step.top >= box.top && step.bottom <= box.bottom;
}"""


def test_the_complaint_diagram_opens_readable_on_the_current_step(chromium: Any, live_server: str, flow: Flow) -> None:
    instance = flow.start("cs_agent1", "complaint_handling", COMPLAINT)
    for key, who, data in (
        ("assess", "cs_sup", {"valid": True, "note": "属实"}),
        ("assign_department", "cs_sup", {"department": "quality"}),
        ("analyze_cause", "qa_staff", {"cause": "包装", "responsible_person": "qa_staff"}),
        ("propose_resolution", "qa_staff", {"resolution_type": "apology", "plan": "致歉"}),
    ):
        flow.complete(who, instance.id, key, data)
    session = Session(chromium, live_server, "vp_service")
    page = session.goto(f"/instances/{instance.id}")
    expect(page.locator("#diagram[data-ready=true]")).to_have_count(1)
    assert page.evaluate(SCALE) >= 0.89
    assert page.evaluate(INSIDE)
    assert session.errors == []


APART = """() => {
  const a = document.querySelector('#toasts .toast').getBoundingClientRect();
  const b = document.querySelector('#diagram').getBoundingClientRect();
  return a.width > 0 && (a.bottom <= b.top || a.top >= b.bottom || a.right <= b.left || a.left >= b.right);
}"""


def test_the_success_toast_after_submitting_does_not_cover_the_diagram(chromium: Any, live_server: str, flow: Flow) -> None:
    for width, height in ((1440, 900), (390, 844)):
        customer = f"提示不遮挡客户{width}"
        instance = flow.start("cs_agent1", "complaint_handling", {**COMPLAINT, "customer": customer})
        flow.complete("cs_sup", instance.id, "assess", {"valid": True, "note": "属实"})
        flow.complete("cs_sup", instance.id, "assign_department", {"department": "quality"})
        session = Session(chromium, live_server, "qa_staff")
        session.page.set_viewport_size({"width": width, "height": height})
        page = session.open_task(customer, "available")
        page.fill("#f-cause", "包装不达标")
        page.fill("#f-responsible_person", "包装组")
        session.submit_and_go_on()  # the next step's page, with the diagram, and the toast saying it worked
        expect(page.locator("#toasts .toast")).to_be_visible()
        expect(page.locator("#diagram[data-ready=true]")).to_have_count(1)
        assert page.evaluate(APART), (width, height)
        page.locator("#toasts .toast").click()  # a click dismisses it at once
        expect(page.locator("#toasts .toast")).to_have_count(0)
        session.close()


def test_a_toast_on_an_instance_page_leaves_the_diagram_uncovered(chromium: Any, live_server: str, flow: Flow) -> None:
    instance = flow.start("cs_agent1", "complaint_handling", {**COMPLAINT, "customer": "实例页提示客户"})
    session = Session(chromium, live_server, "cs_sup")
    for width, height in ((1440, 900), (768, 1024), (390, 844)):
        session.page.set_viewport_size({"width": width, "height": height})
        page = session.goto(f"/instances/{instance.id}")
        expect(page.locator("#diagram[data-ready=true]")).to_have_count(1)
        page.evaluate("document.dispatchEvent(new CustomEvent('crm-toast', {detail: {message: '已领取：判断投诉是否成立'}}))")
        expect(page.locator("#toasts .toast")).to_be_visible()
        assert page.evaluate(APART), (width, height)
    session.close()
