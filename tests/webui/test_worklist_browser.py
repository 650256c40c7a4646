"""In Chromium: the worklist's tabs and pager ask for exactly the view they name (#13.12: the
list's auto-refresh included the filter form, whose `tab` was added to every link's own)."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlparse

from playwright.sync_api import expect

from tests.webui.browser import Session


def test_switching_tabs_keeps_one_tab_parameter_in_requests_and_the_address(chromium: Any, live_server: str) -> None:
    session = Session(chromium, live_server, "cs_sup")
    page = session.goto("/tasks?tab=mine")
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url) if urlparse(r.url).path == "/tasks" else None)
    for tab in ("available", "team", "mine", "available"):
        page.locator(f'nav.tabs a.tab[data-tab="{tab}"]').click()
        expect(page.locator(f'nav.tabs a.tab[data-tab="{tab}"]')).to_have_attribute("aria-current", "page")
        query = parse_qs(urlparse(page.url).query)
        assert query.get("tab", ["mine"]) == [tab], page.url  # "mine" is the default: no parameter
    assert asked and all(len(parse_qs(urlparse(u).query).get("tab", [])) <= 1 for u in asked), asked
    assert session.errors == []
