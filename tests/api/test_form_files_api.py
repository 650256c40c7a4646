"""File form fields (type `file`): the contract on a contract approval's start form, sent with the
start as multipart/form-data, becomes the request's first attachment and its field's value; a
refused or oversized file starts nothing; a task's file field takes a new upload or one of the
instance's own attachments by id, never another instance's."""

from __future__ import annotations

import io
import json
import secrets
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from engine.process_engine import ProcessEngine
from store.models import ProcessInstance
from tests.api.test_attachments_api import PDF, _upload
from tests.conftest import Api
from tests.data import approval_request

FIXTURE = (Path(__file__).parents[1] / "fixtures" / "simple_review.bpmn").read_text()
SIGNED = b"%PDF-1.4\n% signed copy\n%%EOF\n"


def _start(api: Api, user: str, body: dict[str, Any], files: dict[str, tuple[bytes, str]]) -> Any:
    parts: dict[str, Any] = {"body": json.dumps(body)}
    parts.update({f"data.{name}": (io.BytesIO(data), filename) for name, (data, filename) in files.items()})
    return api.post(user, "/api/v1/process-instances", data=parts, content_type="multipart/form-data")


def _count(engine: ProcessEngine, title: str) -> int:
    with engine.db.sessions() as session:
        return int(
            session.scalar(select(func.count()).select_from(ProcessInstance).where(ProcessInstance.data["title"].as_string() == title)) or 0
        )


def test_a_contract_sent_with_the_start_is_the_requests_file(api: Api) -> None:
    title = f"年度运输合同 {secrets.token_hex(2)}"
    body = {"process_key": "approval_chain", "data": approval_request("contract", 68000, title=title)}
    made = _start(api, "sales1", body, {"contract_file": (PDF, "运输合同.pdf")})
    assert made.status_code == 201, made.get_json()
    instance = made.get_json()
    value = instance["data"]["contract_file"]
    assert (value["filename"], value["size"], value["content_type"]) == ("运输合同.pdf", len(PDF), "application/pdf")
    listed = api.get("sales1", f"/api/v1/process-instances/{instance['id']}/attachments").get_json()["items"]
    assert [(a["id"], a["uploaded_by"]) for a in listed] == [(value["attachment_id"], "sales1")]
    assert api.get("sales_dir", f"/api/v1/attachments/{value['attachment_id']}").data == PDF  # the approver reads it


@pytest.mark.parametrize(
    ("data", "name", "status"),
    [(b"MZ\x90\x00 not a document", "setup.exe", 422), (b"", "empty.pdf", 422), (PDF + b" " * 2048, "big.pdf", 413)],
)
def test_a_refused_file_starts_nothing(
    api: Api, engine: ProcessEngine, monkeypatch: pytest.MonkeyPatch, data: bytes, name: str, status: int
) -> None:
    monkeypatch.setattr(engine, "settings", engine.settings.but(attachment_max_bytes=1024))
    title = f"refused {secrets.token_hex(3)}"
    answer = _start(
        api,
        "sales1",
        {"process_key": "approval_chain", "data": approval_request("contract", 900, title=title)},
        {"contract_file": (data, name)},
    )
    assert answer.status_code == status, answer.get_json()
    if status == 422:
        assert "contract_file" in answer.get_json()["fields"]
    assert _count(engine, title) == 0


def test_a_start_takes_no_attachment_id_and_a_bad_multipart_body_is_400(api: Api) -> None:
    body = {"process_key": "approval_chain", "data": approval_request("contract", 900, contract_file=1)}
    answer = api.post("sales1", "/api/v1/process-instances", json=body)
    assert answer.status_code == 422 and "contract_file" in answer.get_json()["fields"]
    wrong = api.post("sales1", "/api/v1/process-instances", data={"body": "{not json"}, content_type="multipart/form-data")
    assert wrong.status_code == 400
    part = api.post(
        "sales1",
        "/api/v1/process-instances",
        data={"body": json.dumps({"process_key": "approval_chain", "data": {}}), "contract_file": (io.BytesIO(PDF), "a.pdf")},
        content_type="multipart/form-data",
    )
    assert part.status_code == 400 and "data.<field>" in part.get_json()["message"]


@pytest.fixture
def signing(engine: ProcessEngine) -> str:
    """A review whose step takes a required file: the signed copy."""
    key = f"signed_{secrets.token_hex(4)}"
    xml = FIXTURE.replace("simple_review", key).replace(
        '<camunda:formField id="comment" label="Comment" type="string">',
        '<camunda:formField id="signed_copy" label="Signed copy" type="file"><camunda:validation><camunda:constraint name="required" /></camunda:validation></camunda:formField>\n'
        '          <camunda:formField id="comment" label="Comment" type="string">',
    )
    engine.repository.deploy([(f"{key}.bpmn", xml.encode())], "admin")
    return key


def _review_task(api: Api, instance_id: int) -> str:
    view = api.get("cs_sup", f"/api/v1/process-instances/{instance_id}").get_json()
    return str(view["tasks"][0]["id"])


def test_a_task_file_field_takes_an_upload_or_the_instances_own_attachment(api: Api, signing: str) -> None:
    first = api.post(
        "cs_agent1", "/api/v1/process-instances", json={"process_key": signing, "data": {"title": "a", "amount": 5}}
    ).get_json()
    second = api.post(
        "cs_agent1", "/api/v1/process-instances", json={"process_key": signing, "data": {"title": "b", "amount": 6}}
    ).get_json()
    other = _upload(api, "cs_agent1", second["id"], "other.pdf", PDF).get_json()
    task = _review_task(api, first["id"])
    missing = api.post("cs_sup", f"/api/v1/tasks/{task}/complete", json={"data": {"approved": True}})
    assert missing.status_code == 422 and missing.get_json()["fields"]["signed_copy"] == "is required"
    foreign = api.post("cs_sup", f"/api/v1/tasks/{task}/complete", json={"data": {"approved": True, "signed_copy": other["id"]}})
    assert foreign.status_code == 422 and "signed_copy" in foreign.get_json()["fields"]  # another instance's file
    own = _upload(api, "cs_sup", first["id"], "scan.pdf", SIGNED).get_json()
    done = api.post("cs_sup", f"/api/v1/tasks/{task}/complete", json={"data": {"approved": True, "signed_copy": own["id"]}})
    assert done.status_code == 200, done.get_json()
    assert done.get_json()["instance"]["data"]["signed_copy"]["attachment_id"] == own["id"]

    uploaded_task = _review_task(api, second["id"])
    sent = api.post(
        "cs_sup",
        f"/api/v1/tasks/{uploaded_task}/complete",
        data={"body": json.dumps({"data": {"approved": True}}), "data.signed_copy": (io.BytesIO(SIGNED), "签字版.pdf")},
        content_type="multipart/form-data",
    )
    assert sent.status_code == 200, sent.get_json()
    value = sent.get_json()["instance"]["data"]["signed_copy"]
    assert value["filename"] == "签字版.pdf" and api.get("cs_sup", f"/api/v1/attachments/{value['attachment_id']}").data == SIGNED
