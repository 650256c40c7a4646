"""The README's screenshots, taken from a fresh demo database with realistic work in it (the shared
test databases hold every other test's instances): a supervisor's worklist and an approval page."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import expect
from sqlalchemy import select, update

from app import create_app
from processes.demo import seed_demo
from store.models import Task
from store.schema import upgrade
from tests.browsing import OUTPUT, serve
from tests.webui.browser import Session

SHOTS = OUTPUT / "screenshots" / "readme"


def _open(engine: Any, instance_id: int, key: str) -> str:
    with engine.db.sessions() as session:
        return session.scalar(select(Task.id).where(Task.instance_id == instance_id, Task.task_key == key, Task.status == "open"))  # type: ignore[no-any-return]


def _seed(app: Flask) -> None:
    engine = app.extensions["crmflow"]
    seed_demo(engine)
    with engine.db.sessions() as session:
        who = {u: engine.identity.actor(session, u) for u in ("cs_agent1", "cs_sup", "qa_staff", "vp_service", "store_staff", "sales1")}

    def complaint(customer: str, category: str, text: str, severity: str) -> int:
        data = {
            "customer": customer,
            "category": category,
            "description": text,
            "severity": severity,
            "channel": "phone",
            "demand": "尽快处理",
        }
        return int(engine.runtime.start(who["cs_agent1"], "complaint_handling", data).id)

    def complete(user: str, iid: int, key: str, data: dict[str, Any]) -> None:
        engine.tasks.complete(who[user], _open(engine, iid, key), data)

    overdue = complaint("杭州顺达物流有限公司", "transport", "集装箱延误三天到港，客户产线停工", "urgent")
    mine = complaint("上海德盛进出口有限公司", "customs", "报关单据品名错误导致滞港两天", "high")
    complaint("宁波海联贸易有限公司", "quality", "到港货物外箱破损，部分产品受潮", "high")
    complaint("温州华美鞋业有限公司", "service", "客服回复慢，三天未答复", "normal")
    late = complaint("苏州新纺织品有限公司", "billing", "运费发票金额与合同不符", "normal")
    complaint("义乌小商品进出口公司", "customs", "商检证书延迟出具", "low")
    leader = complaint("宁波北仑国际货运代理有限公司", "quality", "出口面料色差超标，客户要求退换", "high")
    engine.tasks.claim(who["cs_sup"], _open(engine, mine, "assess"))
    engine.tasks.claim(who["cs_sup"], _open(engine, overdue, "assess"))
    with engine.db.transaction() as session:
        for iid, hours in ((overdue, 5), (late, 2)):
            session.execute(
                update(Task).where(Task.id == _open(engine, iid, "assess")).values(due_at=engine.clock() - timedelta(hours=hours))
            )
    complete("cs_sup", leader, "assess", {"valid": True, "note": "经核实色差属实"})
    complete("cs_sup", leader, "assign_department", {"department": "quality"})
    complete("qa_staff", leader, "analyze_cause", {"cause": "染色批次未做色牢度复检", "responsible_person": "质检组 陈工"})
    complete("qa_staff", leader, "propose_resolution", {"resolution_type": "compensation", "amount": 28000, "plan": "全额赔偿受影响面料"})
    complete("vp_service", leader, "leader_approval", {"decision": "return", "comment": "全额赔偿过高，请与客户协商换货加折价"})
    complete(
        "qa_staff",
        leader,
        "propose_resolution",
        {"resolution_type": "replacement", "amount": 12000, "plan": "补发同批号合格面料 3000 米，并对本批货折价 12,000 元"},
    )
    # The customer file of the complaint's customer: a sales owner, contacts, activities.
    with engine.db.sessions() as session:
        sales = {u: engine.identity.actor(session, u) for u in ("sales1", "sales_dir")}
    haili = engine.customers.create(
        sales["sales1"],
        {
            "name": "宁波海联贸易有限公司",
            "short_name": "海联贸易",
            "industry": "纺织品进出口",
            "phone": "0574-87001234",
            "address": "宁波市北仑区新碶街道明州路 88 号",
            "market": "欧盟、东南亚",
            "trade_terms": "有进出口经营权；国内通关自理，国外清关委托代理；海运 FOB 宁波",
            "grade": "A",
            "status": "trading",
        },
    )
    engine.customers.add_contact(
        sales["sales1"],
        haili.id,
        {"name": "王建国", "title": "采购经理", "phone": "138 0000 1234", "relationship": "key", "birthday": "1978-05-17"},
    )
    engine.customers.add_contact(sales["sales1"], haili.id, {"name": "李娜", "title": "单证员", "email": "lina@haili.example"})
    engine.activities.on_customer(sales["sales1"], haili.id, {"kind": "call", "summary": "电话确认三月出运计划：两个 40 尺柜"})
    engine.activities.on_customer(
        sales["sales_dir"],
        haili.id,
        {
            "kind": "visit",
            "summary": "年度拜访：讨论 2027 年海运合同续签",
            "assignee": "sales1",
            "next_step": "寄送 2027 年报价单",
            "next_at": (engine.clock() + timedelta(days=5)).date().isoformat(),
        },
    )
    for title, kind, amount, user in (
        ("宁波门店三月水电费", "store_expense", 3200, "store_staff"),
        ("2027 年度海运合同", "contract", 150000, "sales1"),
    ):
        engine.runtime.start(who[user], "approval_chain", {"request_type": kind, "title": title, "amount": amount, "currency": "CNY"})


@pytest.fixture(scope="module")
def showcase(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url = f"sqlite:///{tmp_path_factory.mktemp('showcase') / 'demo.db'}"
    upgrade(url)
    app = create_app({"TESTING": True, "DATABASE_URL": url, "SCHEDULER_ENABLED": False})
    _seed(app)
    with serve(app) as base:
        yield base
    app.extensions["crmflow"].db.dispose()


def _shot(page: Any, name: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(path), full_page=True)
    return path


def test_readme_screenshots(chromium: Any, showcase: str) -> None:
    supervisor = Session(chromium, showcase, "cs_sup")
    page = supervisor.goto("/tasks")
    page.fill("#filter-name", "超期投诉")
    page.select_option('#filters select[name="due"]', "overdue")
    expect(page.locator("#worklist tr.task-row")).to_have_count(1)
    page.locator(".save-filter button").click()
    expect(page.locator("#saved-filters .saved-item")).to_have_count(1)
    page = supervisor.goto("/tasks?tab=available")
    expect(page.locator("#worklist tr.task-row")).to_have_count(4)
    expect(page.locator("#saved-filters [data-count]")).to_have_text("1")
    assert _shot(page, "worklist").stat().st_size > 20_000
    page = supervisor.goto("/tasks")
    expect(page.locator("#worklist .badge-overdue")).to_have_count(1)
    _shot(page, "worklist-mine")
    supervisor.close()

    leader = Session(chromium, showcase, "vp_service")
    page = leader.open_task("宁波北仑国际货运代理", "available")
    expect(page.locator("#diagram")).to_have_attribute("data-ready", "true")
    leader.decide("approve", "同意换货加折价方案，请质量部 5 个工作日内落实")
    assert _shot(page, "approval").stat().st_size > 20_000
    leader.close()

    salesperson = Session(chromium, showcase, "sales1")
    page = salesperson.goto("/customers?q=海联")
    page.locator("#customers a", has_text="宁波海联贸易有限公司").click()
    expect(page.locator("#customer-timeline li")).to_have_count(3)  # two activities and the complaint
    assert _shot(page, "customer").stat().st_size > 20_000
    salesperson.close()
