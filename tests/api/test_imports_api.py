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


def test_customers_with_duplicates_bad_rows_and_a_mapping_chosen_by_hand(api: Api, engine: ProcessEngine) -> None:
    tag = secrets.token_hex(3)
    on_file = api.post("sales1", "/api/v1/customers", json={"name": f"慈溪{tag}家电有限公司"})
    assert on_file.status_code == 201
    book = Workbook()
    sheet = book.active
    sheet.append(["客户名称", "电话", "行业", "状态", "负责人", "价值等级"])
    sheet.append([f"余姚{tag}模具厂", f"0574-6{int(tag, 16) % 10**7:07d}", "模具", "交易客户", "", "a"])
    sheet.append([f"慈溪{tag}家电有限公司", "", "", "", "", ""])  # on file already
    sheet.append([f"余姚{tag}模具厂", "", "", "", "", ""])  # the same as row 2
    sheet.append([f"北仑{tag}港务", "", "", "正在谈", "", ""])  # not a status
    sheet.append([f"镇海{tag}石化", "", "", "", "sales2", ""])  # sales1 may not give a customer to a colleague
    sheet.append([f"江东{tag}商贸", "", "", "", "", ""])
    out = io.BytesIO()
    book.save(out)

    def send(user: str, dry_run: bool, **extra: Any) -> Any:
        return api.post(
            user,
            f"/api/v1/imports/customers?dry_run={'true' if dry_run else 'false'}",
            data={"file": (io.BytesIO(out.getvalue()), "客户.xlsx"), **extra},
        )

    preview = send("sales1", True).get_json()
    assert preview["created"] == 2 and preview["rows"] == 6, preview
    assert sorted(d["row"] for d in preview["duplicates"]) == [3, 4]
    assert sorted(e["row"] for e in preview["errors"]) == [5, 6]
    listed = api.get("sales1", f"/api/v1/customers?q={tag}").get_json()
    assert listed["total"] == 1  # a preview writes nothing

    done = send("sales1", False).get_json()
    assert done["created"] == 2
    found = {c["name"]: c for c in api.get("sales1", f"/api/v1/customers?q={tag}").get_json()["items"]}
    made = found[f"余姚{tag}模具厂"]
    assert made["owner"] == "sales1" and made["status"] == "trading"
    assert api.get("sales1", f"/api/v1/customers/{made['id']}").get_json().get("industry") in ("模具", None)

    csv_text = f"Firma,Telefon\n宁海{tag}文具厂,0574-5{int(tag, 16) % 10**7:07d}\n".encode()
    by_hand = api.post(
        "sales1",
        "/api/v1/imports/customers",
        data={"file": (io.BytesIO(csv_text), "c.csv"), "mapping": '{"Firma": "name", "Telefon": "phone"}'},
    ).get_json()
    assert by_hand["created"] == 1 and by_hand["mapping"] == {"Firma": "name", "Telefon": "phone"}
    wrong = api.post(
        "sales1", "/api/v1/imports/customers", data={"file": (io.BytesIO(csv_text), "c.csv"), "mapping": '{"Firma": "salary"}'}
    )
    assert wrong.status_code == 422
    assert api.post("cs_agent1", "/api/v1/imports/customers", data={"file": (io.BytesIO(csv_text), "c.csv")}).status_code == 403
