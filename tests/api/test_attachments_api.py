"""Files on a running instance over the API (API.md "Contract additions"): the bytes come back
exactly, as a download whatever they are (an HTML page in a .txt is text, never a page of the
app); a file over the limit is 413, a refused type or an empty file 422, an ended instance 409;
whoever may not see the instance gets 404 for its files as for the instance."""

from __future__ import annotations

import io
import struct
import zlib
from typing import Any

import pytest

from engine.process_engine import ProcessEngine
from engine.services.attachments import clean_filename, content_type_of
from tests.conftest import Api
from tests.data import approval_request

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def png(width: int = 2, height: int = 2) -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    rows = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def _request(api: Api) -> int:
    made = api.post(
        "store_staff", "/api/v1/process-instances", json={"process_key": "approval_chain", "data": approval_request("store_expense", 330)}
    )
    assert made.status_code == 201, made.get_json()
    return int(made.get_json()["id"])


def _upload(api: Api, user: str, instance_id: int, name: str, data: bytes) -> Any:
    return api.post(
        user,
        f"/api/v1/process-instances/{instance_id}/attachments",
        data={"file": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
    )


def test_a_receipt_goes_up_and_comes_back_byte_for_byte(api: Api) -> None:
    instance_id = _request(api)
    image = png()
    added = _upload(api, "store_staff", instance_id, "发票 照片.png", image)
    assert added.status_code == 201, added.get_json()
    body = added.get_json()
    assert (body["filename"], body["size"], body["content_type"]) == ("发票 照片.png", len(image), "image/png")
    assert _upload(api, "region_mgr", instance_id, "contract.pdf", PDF).status_code == 201  # the approver too
    listed = api.get("store_staff", f"/api/v1/process-instances/{instance_id}/attachments").get_json()["items"]
    assert [(a["filename"], a["uploaded_by"]) for a in listed] == [("发票 照片.png", "store_staff"), ("contract.pdf", "region_mgr")]
    download = api.get("region_mgr", f"/api/v1/attachments/{body['id']}")
    assert download.status_code == 200 and download.data == image
    assert download.headers["Content-Type"] == "image/png"
    assert download.headers["Content-Disposition"].startswith("attachment;")
    assert "filename*=UTF-8''%E5%8F%91%E7%A5%A8%20%E7%85%A7%E7%89%87.png" in download.headers["Content-Disposition"]
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    history = api.get("store_staff", f"/api/v1/process-instances/{instance_id}").get_json()["history"]
    assert [h["user"] for h in history if h["action"] == "attach"] == ["store_staff", "region_mgr"]


def test_an_html_page_is_only_ever_a_download(api: Api) -> None:
    instance_id = _request(api)
    page = b"<html><script>alert(document.cookie)</script></html>"
    assert _upload(api, "store_staff", instance_id, "x.html", page).status_code == 422  # not an accepted type
    added = _upload(api, "store_staff", instance_id, "notes.txt", page)  # text, as its bytes say
    assert added.status_code == 201 and added.get_json()["content_type"] == "text/plain"
    served = api.get("store_staff", f"/api/v1/attachments/{added.get_json()['id']}")
    assert served.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert served.headers["Content-Disposition"].startswith("attachment;")
    assert served.headers["X-Content-Type-Options"] == "nosniff" and "sandbox" in served.headers["Content-Security-Policy"]


@pytest.mark.parametrize(
    ("name", "data", "status"),
    [
        ("empty.pdf", b"", 422),
        ("tool.exe", b"MZ\x90\x00" + b"\x00" * 60, 422),
        ("fake.pdf", b"MZ\x90\x00not a pdf", 422),
        ("fake.docx", b"PK\x03\x04 a zip without the Office parts", 422),
        ("latin1.txt", "café".encode("latin-1"), 422),
    ],
)
def test_a_refused_file_changes_nothing(api: Api, name: str, data: bytes, status: int) -> None:
    instance_id = _request(api)
    assert _upload(api, "store_staff", instance_id, name, data).status_code == status
    assert api.get("store_staff", f"/api/v1/process-instances/{instance_id}/attachments").get_json()["items"] == []


def test_a_file_over_the_limit_is_413(api: Api, engine: ProcessEngine, monkeypatch: pytest.MonkeyPatch) -> None:
    instance_id = _request(api)
    monkeypatch.setattr(engine, "settings", engine.settings.but(attachment_max_bytes=1024))
    assert _upload(api, "store_staff", instance_id, "big.pdf", PDF + b" " * 2000).status_code == 413
    assert _upload(api, "store_staff", instance_id, "small.pdf", PDF).status_code == 201
    assert api.post("store_staff", f"/api/v1/process-instances/{instance_id}/attachments", data={}).status_code == 422  # no file part


def test_outsiders_get_404_and_an_ended_request_takes_no_more_files(api: Api) -> None:
    instance_id = _request(api)
    added = _upload(api, "store_staff", instance_id, "contract.pdf", PDF).get_json()
    assert api.get("sales1", f"/api/v1/attachments/{added['id']}").status_code == 404
    assert api.get("sales1", f"/api/v1/process-instances/{instance_id}/attachments").status_code == 404
    assert _upload(api, "sales1", instance_id, "x.pdf", PDF).status_code == 404
    assert api.get("store_staff", "/api/v1/attachments/2147483647").status_code == 404
    api.post("store_staff", f"/api/v1/process-instances/{instance_id}/withdraw", json={})
    assert _upload(api, "store_staff", instance_id, "late.pdf", PDF).status_code == 409
    assert api.get("store_staff", f"/api/v1/attachments/{added['id']}").status_code == 200  # still readable


def test_what_a_file_is_comes_from_its_bytes_and_its_name_from_its_last_part() -> None:
    assert content_type_of("scan.PDF", PDF) == "application/pdf"
    assert content_type_of("photo.jpg", b"\xff\xd8\xff\xe0rest") == "image/jpeg"
    assert content_type_of("anything.bin", png()) == "image/png"
    assert content_type_of("old.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 8) == "application/vnd.ms-excel"
    assert content_type_of("old.exe", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 8) is None
    assert clean_filename("../../etc/passwd") == "passwd"
    assert clean_filename("C:\\Users\\a\\合同.pdf") == "合同.pdf"
    assert clean_filename("..\x00\x1f") == "file"
    assert len(clean_filename("a" * 400 + ".pdf")) == 255 and clean_filename("a" * 400 + ".pdf").endswith(".pdf")
