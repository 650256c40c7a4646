"""A file form field on the pages: the contract approval's start form asks for the contract as a
file (multipart form), the started request shows it on its card as a download, and a refused
file keeps the form with its message and starts nothing."""

from __future__ import annotations

import io
import re
import secrets
from collections.abc import Callable

from sqlalchemy import func, select

from engine.process_engine import ProcessEngine
from store.models import ProcessInstance
from tests.api.test_attachments_api import PDF
from tests.data import approval_request
from tests.webui.conftest import Page


def _form(title: str) -> dict[str, object]:
    return {k: str(v) for k, v in approval_request("contract", 52000, title=title).items()}


def test_the_contract_goes_up_with_the_start_form_and_shows_on_the_request(ui: Callable[[str], Page], engine: ProcessEngine) -> None:
    sales = ui("sales1")
    page = sales.text("/processes/approval_chain/start")
    assert 'enctype="multipart/form-data"' in page and re.search(r'<input type="file"[^>]*name="contract_file"', page)
    title = f"仓储合同 {secrets.token_hex(2)}"
    answer = sales.post("/processes/approval_chain/start", {**_form(title), "contract_file": (io.BytesIO(PDF), "仓储合同.pdf")})
    assert answer.status_code == 302, answer.get_data(as_text=True)[:300]
    instance_id = int(answer.headers["Location"].rstrip("/").rsplit("/", 1)[1])
    with engine.db.sessions() as session:
        value = session.get(ProcessInstance, instance_id).data["contract_file"]  # type: ignore[union-attr]
    shown = sales.text(f"/instances/{instance_id}")
    assert f'href="/attachments/{value["attachment_id"]}" download>仓储合同.pdf' in shown
    assert sales.get(f"/attachments/{value['attachment_id']}").data == PDF


def test_a_refused_file_keeps_the_form_and_starts_nothing(ui: Callable[[str], Page], engine: ProcessEngine) -> None:
    title = f"坏文件 {secrets.token_hex(3)}"
    answer = ui("sales1").post(
        "/processes/approval_chain/start", {**_form(title), "contract_file": (io.BytesIO(b"MZ\x90 binary"), "run.exe")}
    )
    assert answer.status_code == 422
    assert re.search(r'data-field="contract_file">.*?class="field-error"', answer.get_data(as_text=True), re.S)
    with engine.db.sessions() as session:
        started = session.scalar(
            select(func.count()).select_from(ProcessInstance).where(ProcessInstance.data["title"].as_string() == title)
        )
    assert started == 0
