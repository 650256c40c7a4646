"""The monitor's instance search: supervisors and admins search by a process's fields (the form's
options as lists, text containing, ranges), others get 403; a bad parameter is a 422 page; the
result exports to XLSX (read back with openpyxl: labels from the forms, numbers as numbers,
formula-like text as text) and CSV (UTF-8 with BOM, formulas defused) and the complaint register
prints; a supervisor's export holds their team's instances only; the API exports the same."""

from __future__ import annotations

import csv
import io
import secrets
from collections.abc import Callable
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook

from engine.clock import aware
from engine.services import runtime
from tests.conftest import Api
from tests.data import COMPLAINT, approval_request
from tests.flow import Flow
from tests.webui.conftest import Page
from webui import instance_search_pages


def _complaint(flow: Flow, tag: str, **extra: object) -> int:
    return flow.start("cs_agent1", "complaint_handling", {**COMPLAINT, "customer": f"象山{tag}水产有限公司", **extra}).id


def test_supervisors_search_a_process_by_its_fields_and_others_may_not(ui: Callable[[str], Page], flow: Flow) -> None:
    tag = secrets.token_hex(4)
    high = _complaint(flow, tag, severity="high")
    low = _complaint(flow, tag, severity="low", category="transport")
    page = ui("cs_sup").text(f"/monitor/instances?process_key=complaint_handling&data.customer.like={tag}")
    assert f'data-instance-id="{high}"' in page and f'data-instance-id="{low}"' in page
    assert 'data-field="severity"' in page and ">高</option>" in page  # the form's options, in its words
    assert 'name="step"' in page and "判断投诉是否成立" in page  # the steps to filter by
    only_high = ui("cs_sup").text(f"/monitor/instances?process_key=complaint_handling&data.customer.like={tag}&data.severity=high")
    assert f'data-instance-id="{high}"' in only_high and f'data-instance-id="{low}"' not in only_high
    transport = ui("admin").text(f"/monitor/instances?q={tag}&data.category=transport")
    assert f'data-instance-id="{low}"' in transport and f'data-instance-id="{high}"' not in transport
    assert ui("cs_agent1").get("/monitor/instances").status_code == 403
    assert ui("cs_agent1").get("/monitor/instances/export.xlsx").status_code == 403
    bad = ui("admin").get("/monitor/instances?data.amount.gte=lots")
    assert bad.status_code == 422
    assert ui("admin").get("/monitor/instances?process_key=no_such_process").status_code == 404
    assert ui("admin").get("/monitor/instances?status=sleeping").status_code == 422


def test_the_export_reads_back_with_labels_numbers_and_text_kept_as_text(ui: Callable[[str], Page], flow: Flow) -> None:
    tag = secrets.token_hex(4)
    formula = '=HYPERLINK("http://evil.example","click")'
    instance = _complaint(flow, tag, severity="high", description=formula)
    flow.complete("cs_sup", instance, "assess", {"valid": True, "note": "属实"})
    answer = ui("cs_sup").get(f"/monitor/instances/export.xlsx?process_key=complaint_handling&q={tag}")
    assert answer.status_code == 200 and answer.headers["X-Total-Count"] == "1"
    assert answer.headers["Content-Disposition"] == "attachment; filename=instances.xlsx"
    sheet = load_workbook(io.BytesIO(answer.data)).active
    headers = [c.value for c in sheet[1]]
    row = dict(zip(headers, [c.value for c in sheet[2]], strict=True))
    assert row["编号"] == instance and row["客户名称"] == f"象山{tag}水产有限公司"
    assert row["严重程度"] == "高" and row["投诉类别"] == "质量"  # options in the form's words
    assert row["投诉是否成立"] == "是"
    assert "确定责任部门" in row["当前步骤"]
    started = aware(flow.instance(instance).started_at).astimezone(ZoneInfo("Asia/Shanghai"))  # type: ignore[union-attr]
    assert row["发起时间"] == started.replace(tzinfo=None, microsecond=row["发起时间"].microsecond)  # local time, as the pages show
    description = sheet.cell(row=2, column=headers.index("投诉内容") + 1)
    assert description.value == formula and description.data_type == "s"  # text, never a formula
    text = ui("cs_sup").get(f"/monitor/instances/export.csv?process_key=complaint_handling&q={tag}").data
    assert text.startswith("\ufeff".encode())
    lines = list(csv.reader(io.StringIO(text.decode("utf-8-sig"))))
    assert lines[0] == headers and len(lines) == 2
    assert lines[1][headers.index("投诉内容")] == "'" + formula


def test_a_supervisors_export_holds_their_teams_instances_only(ui: Callable[[str], Page], flow: Flow) -> None:
    tag = secrets.token_hex(4)
    complaint = _complaint(flow, tag)
    expense = flow.start("store_staff", "approval_chain", approval_request("store_expense", 321, title=f"办公{tag}")).id
    mine = ui("cs_sup").get(f"/monitor/instances/export.csv?q={tag}").data.decode("utf-8-sig")
    numbers = {line[0] for line in list(csv.reader(io.StringIO(mine)))[1:]}
    assert numbers == {str(complaint)}
    everything = ui("admin").get(f"/monitor/instances/export.csv?q={tag}").data.decode("utf-8-sig")
    assert {line[0] for line in list(csv.reader(io.StringIO(everything)))[1:]} == {str(complaint), str(expense)}


def test_the_complaint_register_prints_the_search(ui: Callable[[str], Page], flow: Flow) -> None:
    tag = secrets.token_hex(4)
    first = _complaint(flow, tag, complainant="李经理")
    second = _complaint(flow, tag, complainant="张主任")
    search = ui("cs_sup").text(f"/monitor/instances?process_key=complaint_handling&q={tag}")
    assert "data-register" in search and "客户投诉登记表" in search
    page = ui("cs_sup").text(f"/monitor/instances/register?process_key=complaint_handling&q={tag}")
    assert "<h1>客户投诉登记表</h1>" in page and "李经理" in page and "张主任" in page
    assert page.index(f'data-instance-id="{first}"') < page.index(f'data-instance-id="{second}"')  # oldest first, as on paper
    assert ui("cs_sup").get("/monitor/instances/register?process_key=lead_qualification").status_code == 404
    assert ui("cs_agent1").get(f"/monitor/instances/register?process_key=complaint_handling&q={tag}").status_code == 403


def test_the_api_exports_the_same_search(api: Api, flow: Flow) -> None:
    tag = secrets.token_hex(4)
    big = flow.start("store_staff", "approval_chain", approval_request("store_expense", 4321.5, title=f"展位{tag}")).id
    answer = api.get("admin", f"/api/v1/process-instances/export.xlsx?process_key=approval_chain&data.title.like={tag}")
    assert answer.status_code == 200 and answer.headers["X-Total-Count"] == "1"
    sheet = load_workbook(io.BytesIO(answer.data)).active
    headers = [c.value for c in sheet[1]]
    values = [c.value for c in sheet[2]]
    assert values[0] == big and values[headers.index("金额")] == 4321.5  # a number stays a number
    assert api.get("admin", "/api/v1/process-instances/export.csv?data.amount.lte=cheap").status_code == 422
    outsider = api.get("sales1", f"/api/v1/process-instances/export.csv?q={tag}")
    assert outsider.status_code == 200 and outsider.headers["X-Total-Count"] == "0"


def test_admins_preview_and_run_a_bulk_operation_from_the_search(ui: Callable[[str], Page], flow: Flow) -> None:
    tag = secrets.token_hex(4)
    first, second = _complaint(flow, tag), _complaint(flow, tag)
    admin = ui("admin")
    search = admin.text(f"/monitor/instances?q={tag}")
    assert 'id="bulk-operations"' in search
    assert 'id="bulk-operations"' not in ui("cs_sup").text(f"/monitor/instances?q={tag}")
    preview = admin.text(f"/monitor/instances/bulk?q={tag}&action=terminate&reason=重复登记")
    assert f'data-instance-id="{first}" data-change="yes"' in preview and f'data-instance-id="{second}" data-change="yes"' in preview
    assert flow.instance(first).status == "running"  # a preview changes nothing
    answer = admin.post(
        "/monitor/instances/bulk",
        {"action": "terminate", "instance": [str(first)], "reason": "重复登记", "back": f"/monitor/instances?q={tag}"},
    )
    assert answer.status_code == 302 and answer.headers["Location"].endswith(f"/monitor/instances?q={tag}")
    assert flow.instance(first).status == "terminated" and flow.instance(second).status == "running"  # only what was sent
    elsewhere = admin.post("/monitor/instances/bulk", {"action": "resume", "instance": [str(first)], "back": "https://evil.example/"})
    assert elsewhere.status_code == 302 and "evil" not in elsewhere.headers["Location"]
    assert ui("cs_sup").get(f"/monitor/instances/bulk?q={tag}&action=suspend").status_code == 403
    assert ui("cs_sup").post("/monitor/instances/bulk", {"action": "suspend", "instance": [str(second)], "reason": "x"}).status_code == 403
    assert admin.get(f"/monitor/instances/bulk?q={tag}&action=explode").status_code == 422
    assert admin.post("/monitor/instances/bulk", {"action": "suspend", "instance": [str(second)]}).status_code == 422  # no reason
    assert flow.instance(second).status == "running"


def test_a_supervisors_unfiltered_list_past_the_cap_says_so_and_pages_on(
    ui: Callable[[str], Page], api: Api, flow: Flow, monkeypatch: pytest.MonkeyPatch
) -> None:
    # cs_sup's team has more instances than a cap of 2 in the shared database (this test adds
    # three): the page says "2+", offers a next page, and says no "of n"; the API marks the total.
    for _ in range(3):
        _complaint(flow, secrets.token_hex(3))
    monkeypatch.setattr(runtime, "TOTAL_CAP", 2)
    monkeypatch.setattr(instance_search_pages, "PAGE_SIZE", 2)
    page = ui("cs_sup").text("/monitor/instances")
    assert "data-total>2+</span>" in page
    assert 'rel="next"' in page and "第 1 /" not in page and "Page 1 of" not in page
    listed = api.get("cs_sup", "/api/v1/process-instances?limit=2").get_json()
    assert listed["total"] == 2 and listed["total_exact"] is False and len(listed["items"]) == 2
    exported = api.get("cs_sup", "/api/v1/process-instances/export.csv")
    assert exported.status_code == 200 and "X-Total-Count" not in exported.headers
    assert api.get("admin", "/api/v1/process-instances?limit=2").get_json()["total_exact"] is True
