"""Importing leads from Excel and CSV: a 1,000-row spreadsheet with duplicates and bad rows is
previewed without writing anything, then imported in one go (each good row a lead_qualification of
its owner), with the duplicates and the per-row errors reported; hostile and wrong files refused."""

from __future__ import annotations

import io
import secrets
from typing import Any

from openpyxl import Workbook
from sqlalchemy import func, select

from engine.process_engine import ProcessEngine
from store.models import Lead, ProcessInstance
from tests.conftest import Api

HEADERS = ["公司名称", "联系人", "电话", "Email", "线索来源", "行业", "负责人"]


def _xlsx(rows: list[list[Any]]) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(HEADERS)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _post(api: Api, user: str, name: str, content: bytes, dry_run: bool = False) -> Any:
    return api.post(user, f"/api/v1/imports/leads?dry_run={'true' if dry_run else 'false'}", data={"file": (io.BytesIO(content), name)})


def _counts(engine: ProcessEngine, tag: str) -> tuple[int, int]:
    with engine.db.sessions() as session:
        leads = session.scalar(select(func.count()).select_from(Lead).where(Lead.company.like(f"{tag}%"))) or 0
        instances = (
            session.scalar(select(func.count()).select_from(ProcessInstance).where(ProcessInstance.process_key == "lead_qualification"))
            or 0
        )
    return leads, instances


def test_a_thousand_rows_with_duplicates_and_bad_rows(api: Api, engine: ProcessEngine) -> None:
    tag = f"导入{secrets.token_hex(3)}"
    owner = f"importer_{secrets.token_hex(3)}"  # the rows' owner, of their own: others' worklists stay as they were
    made = api.post("admin", "/api/v1/admin/users", json={"username": owner, "password": "demo pass", "roles": ["sales"]})
    assert made.status_code == 201
    rows: list[list[Any]] = []
    for i in range(1000):
        rows.append(
            [
                f"{tag}公司{i:04d}",
                "王经理",
                f"0574-{int(tag[2:], 16) % 9000 + 1000}{i:04d}",
                f"{tag}{i}@example.cn",
                "海关/商检数据",
                "纺织",
                owner,
            ]
        )
    rows[10] = [f"{tag}公司0003 有限公司", "", "", "", "customs", "", ""]  # the same company as row 5 (normalised)
    rows[20] = ["", "没有公司名", "", "", "customs", "", ""]  # company missing
    rows[30] = [f"{tag}公司x", "", "", "", "小道消息", "", ""]  # not a source of the form
    rows[40] = [f"{tag}公司y", "", "", "", "web", "", "no_such_user"]
    content = _xlsx(rows)
    before = _counts(engine, tag)

    preview = _post(api, "admin", "线索.xlsx", content, dry_run=True)
    assert preview.status_code == 200, preview.get_json()
    body = preview.get_json()
    assert body["rows"] == 1000 and body["created"] == 996 and body["dry_run"] is True, (body["duplicates"][:3], body["errors"][:3])
    assert [d["row"] for d in body["duplicates"]] == [12] and body["duplicates"][0]["of_row"] == 5  # spreadsheet row numbers
    assert sorted(e["row"] for e in body["errors"]) == [22, 32, 42]
    assert body["mapping"]["公司名称"] == "company" and body["mapping"]["负责人"] == "owner"
    assert _counts(engine, tag) == before  # a preview writes nothing

    done = _post(api, "admin", "线索.xlsx", content).get_json()
    assert done["created"] == 996 and len(done["instance_ids"]) == 996
    leads, instances = _counts(engine, tag)
    assert leads == before[0] + 996 and instances == before[1] + 996
    with engine.db.sessions() as session:
        owners = set(session.scalars(select(ProcessInstance.started_by).where(ProcessInstance.id.in_(done["instance_ids"][:50]))))
    assert owners == {owner}  # the owner column
    again = _post(api, "admin", "线索.xlsx", content).get_json()
    assert again["created"] == 0 and len(again["duplicates"]) == 997  # everything is on file now


def test_csv_in_gb18030_and_what_is_refused(api: Api, engine: ProcessEngine) -> None:
    tag = f"表格{secrets.token_hex(3)}"
    text = "公司名称,线索来源\n" + f"{tag}甲公司,网站\n{tag}乙公司,web\n"
    done = _post(api, "sales1", "leads.csv", text.encode("gb18030")).get_json()
    assert done["created"] == 2 and done["errors"] == []
    assert _post(api, "sales1", "leads.csv", b"name\nx\n").status_code == 422  # no company column
    assert _post(api, "sales1", "leads.pdf", b"%PDF-1.4").status_code == 422
    assert _post(api, "sales1", "leads.xlsx", b"PK\x03\x04 not really a zip").status_code == 422
    assert _post(api, "sales1", "big.csv", b"a" * (5 * 1024 * 1024 + 10)).status_code == 413
    assert api.post("sales1", "/api/v1/imports/leads", data={}).status_code == 422
    assert _post(api, "cs_agent1", "leads.csv", text.encode()).status_code == 403  # not a lead starter
    bomb = io.BytesIO()
    import zipfile

    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/worksheets/sheet1.xml", b"0" * (120 * 1024 * 1024))
    assert _post(api, "sales1", "bomb.xlsx", bomb.getvalue()).status_code == 413
