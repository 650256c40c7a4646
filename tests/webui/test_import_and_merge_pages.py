"""The import page previews a spreadsheet (the mapping, what each row would do) and imports it with
the columns as mapped; the merge page finds the duplicate by name, shows what will move, merges.
Both only for those who may."""

from __future__ import annotations

import io
import secrets
from collections.abc import Callable

from store.models import Opportunity
from tests.flow import Flow
from tests.webui.conftest import Page


def _csv(text: str) -> tuple[io.BytesIO, str]:
    return io.BytesIO(text.encode()), "customers.csv"


def test_preview_then_import_customers_with_a_column_mapped_by_hand(flow: Flow, ui: Callable[[str], Page]) -> None:
    tag = secrets.token_hex(3)
    page = ui("sales1")
    assert "data-import-link" in page.text("/customers")
    text = f"Firma,电话\n宁海{tag}文具厂,0574-5{int(tag, 16) % 10**7:07d}\n宁海{tag}文具厂,\n"
    first = page.post("/imports/preview", {"kind": "customers", "file": _csv(text)}, htmx=True, content_type="multipart/form-data")
    body = first.get_data(as_text=True)
    assert first.status_code == 200 and "data-import-error" in body and "没有识别出客户名称列" in body  # no column says "name"
    assert 'id="import-mapping"' in body and "data-import " not in body  # the mapping to correct, nothing to import yet
    mapped = {
        "kind": "customers",
        "mapped": "1",
        "columns": "2",
        "header_0": "Firma",
        "map_0": "name",
        "header_1": "电话",
        "map_1": "phone",
    }
    second = page.post("/imports/preview", {**mapped, "file": _csv(text)}, htmx=True, content_type="multipart/form-data")
    body = second.get_data(as_text=True)
    assert "data-import" in body and "data-duplicates" in body  # one to import, the second row its duplicate
    assert f"宁海{tag}文具厂" not in page.text(f"/customers?q={tag}")  # a preview writes nothing
    done = page.post("/imports/run", {**mapped, "file": _csv(text)}, content_type="multipart/form-data")
    assert done.status_code == 200 and 'data-imported="1"' in done.get_data(as_text=True)
    assert f"宁海{tag}文具厂" in page.text(f"/customers?q={tag}")
    assert ui("cs_agent1").get("/imports").status_code == 403  # starts no leads, files no customers


def test_the_director_merges_a_duplicate_from_the_customer_page(flow: Flow, ui: Callable[[str], Page]) -> None:
    tag = secrets.token_hex(3)
    keep = flow.engine.customers.create(flow.actor("sales1"), {"name": f"宁波{tag}永盛纺织有限公司"})
    twin = flow.engine.customers.create(flow.actor("sales1"), {"name": f"永盛{tag}纺织（宁波）", "industry": "纺织"})
    director = ui("sales_dir")
    assert "data-merge" in director.text(f"/customers/{keep.id}")
    assert "data-merge" not in ui("sales1").text(f"/customers/{keep.id}")
    assert ui("sales1").get(f"/customers/{keep.id}/merge").status_code == 403
    found = director.text(f"/customers/{keep.id}/merge?q=永盛{tag}")
    assert f'data-duplicate="{twin.id}"' in found and f'data-duplicate="{keep.id}"' not in found
    plan = director.text(f"/customers/{keep.id}/merge?duplicate_id={twin.id}")
    assert "data-merge-plan" in plan
    assert director.post(f"/customers/{keep.id}/merge", {"duplicate_id": str(twin.id)}).status_code == 302
    assert director.get(f"/customers/{twin.id}").status_code == 404
    with flow.engine.db.sessions() as session:
        assert flow.engine.customers.get(session, flow.actor("admin"), keep.id).industry == "纺织"
    wrong = director.post(f"/customers/{keep.id}/merge", {"duplicate_id": str(twin.id)})  # gone now
    assert wrong.status_code == 302
    assert director.get(f"/customers/{keep.id}/merge?duplicate_id=nonsense").status_code == 200  # said, not a 500


def test_the_pipeline_shows_an_opportunity_without_an_estimated_value(flow: Flow, ui: Callable[[str], Page]) -> None:
    customer = flow.engine.customers.create(flow.actor("sales1"), {"name": f"北仑{secrets.token_hex(3)}港口服务有限公司"})
    with flow.engine.db.transaction() as session:
        row = Opportunity(customer_id=customer.id, title="没有估值的机会", owner="sales1", created_at=customer.created_at)
        session.add(row)
        session.flush()
        opportunity_id = row.id
    assert f'data-opportunity="{opportunity_id}"' in ui("sales1").text("/opportunities")  # was a 500
