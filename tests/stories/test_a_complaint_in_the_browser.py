"""In Chromium: a complaint registered by cs_agent1 and carried through all nine steps by the right
people, including a return by the division leader; screenshots under test-output/screenshots."""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

from playwright.sync_api import expect

from tests.webui.browser import Session


def test_a_complaint_through_all_nine_steps_with_a_return(chromium: Any, live_server: str, shots: Callable[[Any, str], Path]) -> None:
    customer = f"宁波海联贸易{secrets.token_hex(2)}"
    people: dict[str, Session] = {}

    def as_user(username: str) -> Session:
        if username not in people:
            people[username] = Session(chromium, live_server, username)
        return people[username]

    # 1. Record the complaint (cs_agent1, start form)
    agent = as_user("cs_agent1")
    page = agent.goto("/processes")
    page.locator('a[href="/processes/complaint_handling/start"]').click()
    page.fill("#f-customer", customer)
    page.fill("#f-complainant", "王经理")
    page.fill("#f-contact", "13800000000")
    page.select_option("#f-channel", "phone")
    page.select_option("#f-category", "quality")
    page.fill("#f-description", "到港货物外箱破损，部分产品受潮")
    page.fill("#f-demand", "赔偿损失")
    page.select_option("#f-severity", "high")
    shots(page, "01-register-complaint")
    with page.expect_navigation() as landed:
        page.locator("[data-task-form] button[type=submit]").click()
    expect(page.locator("h1")).to_contain_text("客户投诉处理 #")
    instance_url = page.url
    # The page came with its success toast (read from the page as served: on a slow machine the
    # toast may have gone, after its 6 seconds, before the check).
    assert landed.value is not None and 'class="toast' in landed.value.text() and "已发起" in landed.value.text()

    # 2. Judge whether it stands (cs_sup): claim from the list, then open it from "my tasks"
    sup = as_user("cs_sup")
    row = sup.search(customer, "available", typing=True)
    expect(row.locator(".badge-soon")).to_be_visible()  # due within 24 hours
    shots(sup.page, "02-worklist-available")
    row.locator("[data-claim]").click()
    expect(sup.page.locator(".toast").last).to_contain_text("您已领取")
    expect(sup.page.locator("#worklist tr.task-row", has_text=customer)).to_have_count(0)  # the list refreshed itself
    assert "/tasks?tab=available" in sup.page.url  # ...in place: htmx, not a page load
    expect(sup.page.locator('#worklist a.tab[data-tab="mine"] .count')).not_to_have_text("0")
    sup.open_task(customer, "mine")
    sup.page.locator("[data-task-form] button[type=submit]").click()  # nothing chosen: the server says what is missing
    expect(sup.page.locator("#err-valid")).to_have_text("此项必填。")
    sup.page.check('input[name="valid"][value="true"]')
    sup.page.fill("#f-note", "属实，包装破损")
    sup.submit()

    # 3. Confirm the responsible department (cs_sup): the rule proposed quality
    page = sup.open_task(customer, "available")
    expect(page.locator("#f-department")).to_have_value("quality")
    sup.submit()

    # 4. and 5. The quality department analyses the cause and proposes a resolution
    qa = as_user("qa_staff")
    page = qa.open_task(customer, "available")
    page.fill("#f-cause", "包装不达标，纸箱承重不足")
    page.fill("#f-responsible_person", "包装组 李工")
    qa.submit_and_go_on()  # the case stays with the handler: straight on to the proposal
    expect(page.locator("h1")).to_contain_text("提出处理方案")
    page.select_option("#f-resolution_type", "compensation")
    page.fill("#f-amount", "5000")
    page.fill("#f-plan", "赔偿受潮货物 5000 元")
    qa.submit()

    # 6. The division leader returns it, with a comment
    leader = as_user("vp_service")
    page = leader.open_task(customer, "available")
    expect(page.locator(".side-by-side .card")).to_have_count(3)
    expect(page.locator(".ctx-resolution")).to_contain_text("¥5,000.00")
    leader.decide("return")
    expect(page.locator("#f-comment")).to_have_attribute("required", "")
    page.locator("[data-task-form] button[type=submit]").click()
    expect(page.locator("#err-comment")).to_contain_text("必须填写说明")
    leader.decide("return", "赔偿金额过高，请与客户协商折价")
    shots(page, "06-leader-returns")
    leader.submit()

    # 5 again: back with the handler, who sees why, with the last proposal filled in
    page = qa.open_task(customer, "mine")
    expect(page.locator(".callout-returned")).to_contain_text("赔偿金额过高")
    expect(page.locator("#f-amount")).to_have_value("5000")
    expect(page.locator("#f-plan")).to_have_value("赔偿受潮货物 5000 元")
    page.select_option("#f-resolution_type", "discount")
    page.fill("#f-amount", "2000")
    page.fill("#f-plan", "下批货折价 2000 元")
    qa.submit()

    # 6 again: approved, with the approval history on the page
    page = leader.open_task(customer, "available")
    expect(page.locator(".decision-list")).to_contain_text("赔偿金额过高")
    leader.decide("approve", "同意折价方案")
    shots(page, "06-leader-approval-page")
    leader.submit()

    # 7. The general manager's instruction
    gm = as_user("gm")
    page = gm.open_task(customer, "available")
    expect(page.locator(".ctx-resolution")).to_contain_text("¥2,000.00")
    gm.decide("approve")
    shots(page, "07-gm-approval-page")
    gm.submit()

    # 8. Carry out the resolution (the handler) and 9. summarise (cs_sup)
    page = qa.open_task(customer, "mine")
    page.check('input[name="customer_notified"][value="true"]')
    page.fill("#f-feedback", "客户接受折价")
    page.fill("#f-penalty", "包装组通报批评")
    qa.submit()
    page = sup.open_task(customer, "available")
    page.fill("#f-summary", "加强出货前包装检验")
    sup.submit()
    expect(sup.page.locator(".toast").last).to_contain_text("流程已结束")

    # The agent follows the closed case: resolved, every step in the history, the path on the diagram
    page = agent.page
    page.goto(instance_url)
    expect(page.locator(".chip-completed")).to_be_visible()
    expect(page.locator(".chip-outcome-resolved")).to_be_visible()
    expect(page.locator("#diagram")).to_have_attribute("data-ready", "true")
    expect(page.locator("#diagram .djs-element.crm-done")).not_to_have_count(0)
    expect(page.locator("#diagram .crm-flow-done")).not_to_have_count(0)
    expect(page.locator("#diagram .bjs-powered-by")).to_be_visible()  # the bpmn.io watermark stays
    state = json.loads(page.locator("#diagram").get_attribute("data-state") or "{}")
    assert state["active"] == [] and {"summarize", "gm_approval", "implement"} <= set(state["completed"])
    history = page.locator(".timeline").inner_text()
    for step in (
        "判断投诉是否成立",
        "确定责任部门",
        "分析投诉原因",
        "提出处理方案",
        "分管领导批示",
        "总经理批示",
        "实施处理方案",
        "总结评价并存档",
    ):
        assert step in history, step
    shots(page, "10-instance-resolved")
    for session in people.values():
        session.close()
