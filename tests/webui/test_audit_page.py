"""The audit log reads as sentences and filters by who, what and day (#13.13; it showed raw action
codes and JSON, with no filter)."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import timedelta

from flask import Flask

from tests.conftest import Api
from tests.webui.conftest import Page


def _rows(html: str) -> list[str]:
    return [row.split("</tr>")[0] for row in html.split("<tr data-action=")[1:]]


def test_entries_are_sentences_and_filters_narrow_them(app: Flask, api: Api, ui: Callable[[str], Page]) -> None:
    username = f"audit_{secrets.token_hex(3)}"
    created = api.post("admin", "/api/v1/admin/users", json={"username": username, "password": "demo pass 1", "roles": ["sales"]})
    assert created.status_code == 201, created.get_json()
    assert api.call("PATCH", "admin", f"/api/v1/admin/users/{username}", json={"active": False}).status_code == 200
    page = ui("admin")
    html = page.text("/admin/audit", query_string={"action": "admin.user.create", "user": "admin"})
    rows = _rows(html)
    assert rows and all('"admin.user.create"' in r for r in rows)
    mine = [r for r in rows if username in r]
    assert len(mine) == 1 and f"创建用户 {username}" in mine[0] and "销售" not in mine[0].split("</td>")[2]
    assert "{" not in mine[0]  # no JSON
    changed = [r for r in _rows(page.text("/admin/audit", query_string={"action": "admin.user.update"})) if username in r]
    assert len(changed) == 1 and "启用: 否" in changed[0]
    today = app.extensions["crmflow"].clock().astimezone(app.extensions["crmflow"].settings.timezone).date()
    later = (today + timedelta(days=2)).isoformat()
    assert _rows(page.text("/admin/audit", query_string={"from": later})) == []
    assert username in page.text("/admin/audit", query_string={"from": today.isoformat(), "to": today.isoformat()})
    assert "selected" in page.text("/admin/audit", query_string={"user": "admin"}).split('name="user"')[1].split("</select>")[0]


def test_unknown_filter_values_are_ignored_not_errors(ui: Callable[[str], Page]) -> None:
    page = ui("admin")
    for query in ({"action": "drop table"}, {"user": "<script>"}, {"from": "2026-13-45"}, {"to": "x"}, {"limit": "-1"}):
        assert page.get("/admin/audit", query_string=query).status_code == 200, query
