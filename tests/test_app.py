"""The application factory and the flask CLI commands of API.md."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask

from app import create_app
from tests.conftest import FIXTURES


def test_the_app_refuses_to_start_without_a_secret_key_outside_debug_and_tests(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}"})


def test_db_upgrade_seed_demo_twice_and_deploy(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    app = create_app({"TESTING": True, "DATABASE_URL": url})
    runner = app.test_cli_runner()
    created = runner.invoke(args=["db-upgrade"])
    assert created.exit_code == 0 and created.output.startswith("database created at revision ")
    again = runner.invoke(args=["db-upgrade"])
    assert again.exit_code == 0 and again.output.startswith("database is up to date (revision ")
    first = runner.invoke(args=["seed-demo"])
    assert first.exit_code == 0 and "users created: 21" in first.output and "complaint_handling version 1" in first.output
    second = runner.invoke(args=["seed-demo"])
    assert second.exit_code == 0 and "users created: 0" in second.output and "(unchanged)" in second.output
    ok = runner.invoke(args=["deploy", str(FIXTURES / "simple_review.bpmn")])
    assert ok.exit_code == 0 and ok.output.strip() == "simple_review 1"
    broken = tmp_path / "broken.bpmn"
    broken.write_bytes((FIXTURES / "simple_review.bpmn").read_bytes().replace(b"outcome = 'approved'", b"import os"))
    bad = runner.invoke(args=["deploy", str(broken)])
    assert bad.exit_code == 1 and "set_approved" in bad.output and "imports are not allowed" in bad.output
    assert runner.invoke(args=["jobs", "run-due", "--now", "2026-01-01T00:00:00Z"]).output.strip() == "fired 0"
    assert (
        runner.invoke(args=["jobs", "run-due", "--now", "2026-01-01T00:00:00Z", "--instance", "7", "--instance", "8"]).output.strip()
        == "fired 0"
    )
    assert runner.invoke(args=["jobs", "run-due", "--instance", "0"]).exit_code == 2  # not an instance number


def test_chinese_text_is_returned_as_utf8_json(app: Flask) -> None:
    response = app.test_client().post("/api/v1/auth/token", json={"username": "cs_sup", "password": "demo"})
    assert "客服主管".encode() in response.data


def test_an_address_no_route_knows_gets_the_styled_page_or_the_json_error(app: Flask) -> None:
    page = app.test_client().get("/no/such/page")
    assert page.status_code == 404 and page.mimetype == "text/html"
    assert 'lang="zh-CN"' in page.get_data(as_text=True) and "Not Found" not in page.get_data(as_text=True)
    api = app.test_client().get("/api/v1/no/such/thing")
    assert api.status_code == 404 and api.get_json()["error"] == "not_found"
