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
