"""Hostile input to the pages (not the API): ids beyond 32 bits, NUL characters, instance numbers
too large for the database, '²' where digits are expected. Each gets a clear 4xx, never a 500,
and stores nothing."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask
from sqlalchemy import func, select

from store.ui_models import SavedFilter
from tests.conftest import Api
from tests.webui.conftest import Page

HUGE = 2**70


@pytest.mark.parametrize(
    "path",
    [f"/instances/{HUGE}", f"/instances/{2**40}", f"/instances/{HUGE}/diagram.bpmn", "/instances/0"],
)
def test_an_id_no_row_can_have_is_not_found(ui: Callable[[str], Page], path: str) -> None:
    assert ui("cs_sup").get(path).status_code == 404


def test_ids_beyond_32_bits_in_posted_routes_are_not_found(ui: Callable[[str], Page]) -> None:
    page = ui("cs_sup")
    assert page.post(f"/notifications/{HUGE}/open").status_code == 404
    assert page.post(f"/filters/{2**40}/delete").status_code == 404


@pytest.mark.parametrize(
    ("method", "path", "form"),
    [
        ("GET", "/processes/%00/start", None),
        ("GET", "/tasks?q=%00", None),
        ("GET", "/tasks?tab=started&q=a%00b", None),
        ("POST", "/filters", {"name": "a\x00b", "tab": "mine"}),
        ("POST", "/admin/users/a%00b", {"display_name": "x"}),
    ],
)
def test_nul_characters_are_refused_before_the_database_sees_them(
    ui: Callable[[str], Page], method: str, path: str, form: dict[str, str] | None
) -> None:
    page = ui("admin")
    response = page.get(path) if method == "GET" else page.post(path, form)
    assert response.status_code == 400
    assert "无法保存的字符" in response.get_data(as_text=True)  # the demo users read Chinese


def test_the_login_form_refuses_nul_without_a_500(fresh: Callable[[str], Page]) -> None:
    page = fresh("a\x00b")
    form = page.client.get("/login")
    assert form.status_code == 200
    assert page.client.post("/login", data={"username": "a\x00b", "password": "x"}).status_code == 400


@pytest.mark.parametrize("tab", ["mine", "available", "team", "done", "started"])
@pytest.mark.parametrize("q", ["#99999999999", "#" + "9" * 25, "²", "#4294967296"])
def test_searching_for_an_instance_number_no_row_can_have_finds_nothing(ui: Callable[[str], Page], tab: str, q: str) -> None:
    assert ui("cs_sup").get("/tasks", query_string={"tab": tab, "q": q}).status_code == 200


def test_a_saved_filter_with_a_huge_instance_number_keeps_the_worklist_working(ui: Callable[[str], Page], app: Flask) -> None:
    page = ui("qa_staff")
    assert page.post("/filters", {"name": "huge", "tab": "started", "q": "#99999999999"}).status_code in (200, 302, 303)
    assert page.get("/tasks").status_code == 200
    assert page.get("/tasks", query_string={"tab": "available"}).status_code == 200
    engine = app.extensions["crmflow"]
    with engine.db.sessions() as session:
        assert session.scalar(select(func.count()).select_from(SavedFilter).where(SavedFilter.name == "huge")) >= 1


@pytest.mark.parametrize("raw", ["²", "¹²"])
def test_digit_like_characters_in_number_arguments_are_ignored(ui: Callable[[str], Page], raw: str) -> None:
    page = ui("admin")
    assert page.get("/tasks", query_string={"page": raw}).status_code == 200
    assert page.get("/notifications", query_string={"page": raw}).status_code == 200
    assert page.get("/admin/audit", query_string={"limit": raw}).status_code == 200


def test_the_api_refuses_digit_like_instance_ids_and_bad_draft_keys(api: Api) -> None:
    assert api.get("cs_sup", "/api/v1/tasks", query_string={"instance_id": "²"}).status_code == 422
    too_long = api.call("PUT", "admin", "/api/v1/process-definitions/" + "k" * 300 + "/draft", data=b"<x/>")
    assert too_long.status_code == 422 and "key" in too_long.get_json()["fields"]
    assert api.call("PUT", "admin", "/api/v1/process-definitions/a%20b/draft", data=b"<x/>").status_code == 422


def test_a_migration_batch_longer_than_the_limit_is_refused(api: Api) -> None:
    body = {"to_version": 1, "instance_ids": list(range(1, 70_002)), "dry_run": True}
    response = api.post("admin", "/api/v1/process-definitions/complaint_handling/migrations", json=body)
    assert response.status_code == 422 and "instance_ids" in response.get_json()["fields"]
