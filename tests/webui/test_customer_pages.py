"""The customer pages through the Flask test client: the list and the customer page show exactly
what the customer service shows the user (404 beyond it), the new-customer form refuses a duplicate
with a link to the one on file, contacts and activities are added from the page, and a complaint
starts from the customer with its name filled in."""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from datetime import timedelta

from flask import Flask

from engine.process_engine import ProcessEngine
from tests.data import COMPLAINT
from tests.flow import Flow
from tests.webui.conftest import Page


def _name() -> str:
    return f"江北{secrets.token_hex(3)}进出口有限公司"


def _created(page: Page, data: dict[str, str]) -> int:
    response = page.post("/customers", data)
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    match = re.search(r"/customers/(\d+)$", response.headers["Location"])
    assert match, response.headers["Location"]
    return int(match.group(1))


def test_a_salesperson_creates_a_customer_and_only_those_who_may_see_it_do(ui: Callable[[str], Page]) -> None:
    name = _name()
    customer = _created(ui("sales1"), {"name": name, "industry": "纺织", "status": "potential", "grade": "B", "phone": "0574-1234 5678"})
    page = ui("sales1").text(f"/customers/{customer}")
    assert name in page and "纺织" in page and "潜在客户" in page and "业务员一" in page
    assert ui("sales2").get(f"/customers/{customer}").status_code == 404
    assert ui("cs_agent1").get(f"/customers/{customer}").status_code == 404
    assert name in ui("sales_dir").text(f"/customers?q={name[:8]}")
    assert name not in ui("sales2").text(f"/customers?q={name[:8]}")
    assert "新建客户" not in ui("cs_agent1").text("/customers")  # customer service does not add customers
    assert ui("cs_agent1").post("/customers", {"name": _name()}).status_code == 403


def test_a_duplicate_is_refused_with_a_link_to_the_customer_on_file(ui: Callable[[str], Page]) -> None:
    name = _name()
    first = _created(ui("sales1"), {"name": name})
    again = ui("sales2").post("/customers", {"name": f" {name}　"})
    assert again.status_code == 409
    assert f'data-existing="{first}"' in again.get_data(as_text=True)
    empty = ui("sales2").post("/customers", {"name": ""})
    assert empty.status_code == 422 and "此项必填" in empty.get_data(as_text=True)
    assert ui("sales2").post("/customers", {"name": _name()}, csrf=False).status_code == 400


def test_contacts_and_activities_from_the_customer_page(ui: Callable[[str], Page], engine: ProcessEngine) -> None:
    name = _name()
    customer = _created(ui("sales1"), {"name": name})
    assert (
        ui("sales1").post(f"/customers/{customer}/contacts", {"name": "周总", "title": "总经理", "relationship": "key"}).status_code == 302
    )
    tomorrow = (engine.clock() + timedelta(days=2)).date().isoformat()
    logged = ui("sales1").post(
        f"/customers/{customer}/activities",
        {"kind": "visit", "summary": "拜访周总，谈明年合同", "next_step": "寄报价单", "next_at": tomorrow},
    )
    assert logged.status_code == 302
    page = ui("sales1").text(f"/customers/{customer}")
    assert "周总" in page and "关键联系人" in page
    timeline = page[page.index('id="customer-timeline"') :]
    assert "拜访周总，谈明年合同" in timeline and "拜访" in timeline
    bad = ui("sales1").post(f"/customers/{customer}/activities", {"kind": "visit", "summary": ""}, htmx=True)
    assert bad.status_code == 204 and "error" in bad.headers["HX-Trigger"]  # a toast says what is missing
    assert ui("sales2").post(f"/customers/{customer}/activities", {"kind": "call", "summary": "x"}).status_code == 404


def test_a_complaint_starts_from_the_customer_and_shows_in_its_timeline(ui: Callable[[str], Page], flow: Flow) -> None:
    name = _name()
    customer = _created(ui("sales1"), {"name": name})
    instance = flow.start("cs_agent1", "complaint_handling", {**COMPLAINT, "customer": name})
    page = ui("sales1").text(f"/customers/{customer}")
    assert f'data-instance="{instance.id}"' in page and "投诉" in page
    start = ui("cs_agent1").text(f"/customers/{customer}")  # their complaint's customer: visible to them
    link = re.search(r'href="([^"]+)" data-start="complaint_handling"', start)
    assert link
    form = ui("cs_agent1").text(link.group(1).replace("&amp;", "&"))
    assert f'value="{name}"' in form


def test_edit_is_for_those_who_keep_the_file_and_the_owner_changes_by_superiors(ui: Callable[[str], Page], app: Flask) -> None:
    customer = _created(ui("sales1"), {"name": _name()})
    assert 'name="owner"' not in ui("sales1").text(f"/customers/{customer}/edit")  # not theirs to give away
    assert 'name="owner"' in ui("sales_dir").text(f"/customers/{customer}/edit")
    saved = ui("sales_dir").post(f"/customers/{customer}/edit", {"name": _name(), "owner": "sales2", "status": "trading"})
    assert saved.status_code == 302
    assert ui("sales2").get(f"/customers/{customer}").status_code == 200
    assert ui("sales1").get(f"/customers/{customer}").status_code == 404
    bad = ui("sales2").post(f"/customers/{customer}/edit", {"name": "", "status": "trading"})
    assert bad.status_code == 422
    assert ui("gm").get(f"/customers/{customer}/edit").status_code == 302  # the gm views; editing goes back to the page


def test_forms_suggest_only_the_customers_the_user_may_see(ui: Callable[[str], Page]) -> None:
    name = _name()
    _created(ui("sales1"), {"name": name})
    found = ui("sales1").get(f"/customers/suggest?q={name[:8]}").get_json()
    assert [c["name"] for c in found["items"]] == [name]
    assert ui("sales2").get(f"/customers/suggest?q={name[:8]}").get_json()["items"] == []
    assert ui("sales1").get("/customers/suggest?q=").get_json()["items"] == []
    form = ui("cs_agent1").text("/processes/complaint_handling/start")
    assert 'list="suggest-customer"' in form and "data-customer-suggest" in form


def test_the_filtered_list_exports_to_excel(ui: Callable[[str], Page]) -> None:
    from io import BytesIO

    from openpyxl import load_workbook

    tag = secrets.token_hex(3)
    _created(ui("sales1"), {"name": f"{tag}出口公司", "industry": '=HYPERLINK("http://x")', "grade": "A", "address": "宁波\x0b北仑"})
    _created(ui("sales2"), {"name": f"{tag}别人的公司"})
    response = ui("sales1").get(f"/customers/export.xlsx?q={tag}")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"] == "attachment; filename=customers.xlsx"
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    sheet = load_workbook(BytesIO(response.data)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "客户全称" and rows[0][2] == "状态"
    assert [r[0] for r in rows[1:]] == [f"{tag}出口公司"]  # sales2's customer is not theirs to export
    assert rows[1][2] == "潜在客户" and rows[1][4] == "业务员一"
    cell = sheet.cell(row=2, column=6)
    assert cell.value == '=HYPERLINK("http://x")' and cell.data_type == "s"  # text, never a formula
    assert sheet.cell(row=2, column=9).value == "宁波北仑"  # a control character XLSX cannot hold is left out, not a 500


def test_the_pipeline_board_moves_stages_and_the_director_gives_work_away(ui: Callable[[str], Page], flow: Flow) -> None:
    from tests.data import lead

    data = lead(estimated_value=120_000)
    instance = flow.start("sales1", "lead_qualification", data)
    flow.complete("sales1", instance.id, "verify_lead", {"outcome": "qualified", "grade": "A"})
    flow.complete("sales_dir", instance.id, "director_review", {"decision": "approve"})
    opportunity = flow.instance(instance.id).data["opportunity_id"]
    board = ui("sales1").text("/opportunities?owner=sales1")
    column = board[board.index('data-stage="qualified"') : board.index('data-stage="proposal"')]
    assert f'data-opportunity="{opportunity}"' in column and data["company"] in column
    assert "转交给" not in board  # a salesperson without reports gives nothing away
    assert ui("sales1").post(f"/opportunities/{opportunity}/stage", {"stage": "proposal"}).status_code == 302
    board = ui("sales1").text("/opportunities")
    assert f'data-opportunity="{opportunity}"' in board[board.index('data-stage="proposal"') : board.index('data-stage="negotiation"')]
    assert ui("sales2").post(f"/opportunities/{opportunity}/stage", {"stage": "won"}).status_code == 404
    assert ui("sales_dir").post(f"/opportunities/{opportunity}/assign", {"username": "sales2"}).status_code == 302
    assert f'data-opportunity="{opportunity}"' in ui("sales2").text("/opportunities")
