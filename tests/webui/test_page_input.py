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
from tests.data import COMPLAINT
from tests.flow import Flow
from tests.webui.conftest import CSRF, Page

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
    token = CSRF.search(form.get_data(as_text=True))
    assert token is not None  # a valid form: the NUL check, not the CSRF check, must answer
    response = page.client.post("/login", data={"username": "a\x00b", "password": "x", "csrf_token": token.group(1)})
    assert response.status_code == 400 and "无法保存的字符" in response.get_data(as_text=True)


@pytest.mark.parametrize("tab", ["mine", "available", "team", "done", "started"])
@pytest.mark.parametrize("q", ["#99999999999", "#" + "9" * 25, "²", "#4294967296"])
def test_searching_for_an_instance_number_no_row_can_have_finds_nothing(ui: Callable[[str], Page], flow: Flow, tab: str, q: str) -> None:
    flow.start("cs_agent1", "complaint_handling", COMPLAINT)  # something on cs_sup's 'available' tab
    page = ui("cs_sup")
    if tab == "available":
        assert 'class="task-row' in page.get("/tasks", query_string={"tab": tab}).get_data(as_text=True)
    response = page.get("/tasks", query_string={"tab": tab, "q": q})
    assert response.status_code == 200 and 'class="task-row' not in response.get_data(as_text=True)


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


@pytest.mark.parametrize("target", ["http://[::1", "//[::1/x"])
def test_a_next_that_is_not_a_url_falls_back_to_the_default(
    ui: Callable[[str], Page], fresh: Callable[[str], Page], flow: Flow, target: str
) -> None:
    page = ui("cs_sup")
    assert page.post("/settings/language", {"locale": "zh_CN", "next": target}).headers["Location"] == "/tasks"
    instance = flow.start("cs_agent1", "complaint_handling", COMPLAINT).id
    task = flow.task(instance, "assess").id
    claimed = page.post(f"/tasks/{task}/claim", {"next": target})  # the claim is made, and the answer says so
    assert claimed.status_code == 302 and claimed.headers["Location"] == f"/tasks/{task}"
    assert flow.task(instance, "assess").assignee == "cs_sup"
    assert page.get("/login", query_string={"next": target}).headers["Location"] == "/tasks"  # logged in already
    newcomer = fresh("cs_sup")
    newcomer.token = CSRF.search(newcomer.client.get("/login").get_data(as_text=True)).group(1)  # type: ignore[union-attr]
    assert newcomer.post("/login", {"username": "cs_sup", "password": "demo", "next": target}).headers["Location"] == "/tasks"


def test_saving_a_filter_from_an_address_that_is_not_a_url_saves_the_default(ui: Callable[[str], Page], app: Flask) -> None:
    page = ui("qa_staff")
    assert page.post("/filters", {"name": "broken address", "from_url": "http://[::1"}).status_code == 302
    with app.extensions["crmflow"].db.sessions() as session:
        assert session.scalar(select(SavedFilter.params).where(SavedFilter.name == "broken address")) == {}
