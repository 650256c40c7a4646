"""Attachments kept in a directory (ATTACHMENT_DIR) rather than the database: the bytes go to
`<dir>/<aa>/<sha256>` and the row keeps none, they come back byte for byte, the same file twice is
stored once, a file changed or lost on disk is refused with 503 (never served, never a 500),
rows stored in the database stay readable after the setting is turned on, and the sweep removes
only the day-old files no row names."""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from engine.config import ConfigError, Settings
from engine.process_engine import ProcessEngine
from store.models import Attachment
from tests.api.test_attachments_api import PDF, _request, _upload, png
from tests.conftest import Api


@pytest.fixture
def directory(engine: ProcessEngine, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    root = tmp_path / "files"
    monkeypatch.setattr(engine, "settings", engine.settings.but(attachment_dir=str(root)))
    return root


def _row(engine: ProcessEngine, attachment_id: int) -> Attachment:
    with engine.db.sessions() as session:
        row = session.get(Attachment, attachment_id)
        assert row is not None
        return row


def test_a_file_goes_to_the_directory_and_comes_back_byte_for_byte(api: Api, engine: ProcessEngine, directory: Path) -> None:
    instance_id = _request(api)
    image = png(5, 4)
    first = _upload(api, "store_staff", instance_id, "收据.png", image).get_json()
    again = _upload(api, "store_staff", instance_id, "收据-副本.png", image).get_json()
    digest = hashlib.sha256(image).hexdigest()
    stored = directory / digest[:2] / digest
    assert stored.read_bytes() == image and [p.name for p in directory.rglob("*") if p.is_file()] == [digest]  # once
    with engine.db.sessions() as session:
        data = session.scalars(select(Attachment.data).where(Attachment.id.in_([first["id"], again["id"]]))).all()
    assert data == [None, None]  # the rows keep no bytes
    download = api.get("region_mgr", f"/api/v1/attachments/{first['id']}")
    assert download.status_code == 200 and download.data == image and download.headers["X-Content-Type-Options"] == "nosniff"


def test_a_file_changed_or_lost_on_disk_is_refused_with_503(api: Api, engine: ProcessEngine, directory: Path) -> None:
    instance_id = _request(api)
    made = _upload(api, "store_staff", instance_id, "合同.pdf", PDF + b"% changed later").get_json()
    stored = directory / _row(engine, made["id"]).sha256[:2] / _row(engine, made["id"]).sha256
    stored.write_bytes(PDF + b"% tampered")
    answer = api.get("store_staff", f"/api/v1/attachments/{made['id']}")
    assert answer.status_code == 503 and "checksum" in answer.get_json()["message"]
    stored.unlink()
    answer = api.get("store_staff", f"/api/v1/attachments/{made['id']}")
    assert answer.status_code == 503 and "missing" in answer.get_json()["message"]


def test_files_stored_in_the_database_stay_readable_when_the_directory_is_set(
    api: Api, engine: ProcessEngine, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    instance_id = _request(api)
    made = _upload(api, "store_staff", instance_id, "old.pdf", PDF).get_json()
    with engine.db.sessions() as session:
        assert session.scalar(select(Attachment.data).where(Attachment.id == made["id"])) == PDF  # in the database
    monkeypatch.setattr(engine, "settings", engine.settings.but(attachment_dir=str(tmp_path / "later")))
    assert api.get("store_staff", f"/api/v1/attachments/{made['id']}").data == PDF


def test_the_sweep_removes_only_old_files_no_row_names(api: Api, engine: ProcessEngine, directory: Path) -> None:
    instance_id = _request(api)
    kept = _upload(api, "store_staff", instance_id, "kept.pdf", PDF + b"% kept").get_json()
    orphan = directory / "ab" / ("ab" + "0" * 62)
    fresh_orphan = directory / "cd" / ("cd" + "1" * 62)
    for path in (orphan, fresh_orphan):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"left by a crash")
    day_and_more = time.time() - 25 * 3600
    kept_path = directory / _row(engine, kept["id"]).sha256[:2] / _row(engine, kept["id"]).sha256
    for path in (orphan, kept_path):
        os.utime(path, (day_and_more, day_and_more))
    with engine.db.sessions() as session:
        assert engine.attachments.sweep(session) == 1
    assert not orphan.exists() and fresh_orphan.exists() and kept_path.exists()


def test_the_directory_setting_must_be_an_absolute_directory(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="absolute"):
        Settings.from_environ({"ATTACHMENT_DIR": "files"})
    afile = tmp_path / "a-file"
    afile.write_text("x")
    with pytest.raises(ConfigError, match="not a directory"):
        Settings.from_environ({"ATTACHMENT_DIR": str(afile)})
    assert Settings.from_environ({"ATTACHMENT_DIR": f"{tmp_path}/files/"}).attachment_dir == f"{tmp_path}/files"
    assert Settings.from_environ({}).attachment_dir is None


def test_a_file_in_the_directory_is_503_once_the_setting_is_gone(
    api: Api, engine: ProcessEngine, directory: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    instance_id = _request(api)
    made = _upload(api, "store_staff", instance_id, "kept-outside.pdf", PDF + b"% outside").get_json()
    monkeypatch.setattr(engine, "settings", engine.settings.but(attachment_dir=None))
    answer = api.get("store_staff", f"/api/v1/attachments/{made['id']}")
    assert answer.status_code == 503 and "ATTACHMENT_DIR" in answer.get_json()["message"]
