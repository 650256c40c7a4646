"""Helpers for driving the worklist UI in Chromium the way people use it."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

from playwright.sync_api import expect


class Session:
    """One person in their own browser context (cookies), with console errors collected."""

    def __init__(self, browser: Any, base: str, username: str, viewport: tuple[int, int] = (1440, 900), password: str = "demo") -> None:
        self.username = username
        self.base = base
        width, height = viewport
        self.context = browser.new_context(viewport={"width": width, "height": height}, locale="zh-CN", timezone_id="Asia/Shanghai")
        self.context.set_default_timeout(10_000)
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.goto(f"{base}/login")
        self.page.fill("#username", username)
        self.page.fill("#password", password)
        self.page.click("button[type=submit]")
        expect(self.page).to_have_url(f"{base}/tasks")

    def _console(self, message: Any) -> None:
        # A form answered 422 (field messages) is expected; Chromium still logs it as an error.
        if message.type == "error" and "status of 422" not in message.text:
            self.errors.append(message.text)

    def goto(self, path: str) -> Any:
        self.page.goto(f"{self.base}{path}")
        return self.page

    def search(self, text: str, tab: str, typing: bool = False) -> Any:
        """The worklist on a tab, filtered by `text`: typed into the search box (htmx swaps the
        list as you type), or straight from the address, as a bookmarked filter would."""
        if typing:
            page = self.goto(f"/tasks?tab={tab}")
            page.fill("#q", text)
        else:
            page = self.goto(f"/tasks?tab={tab}&q={quote(text)}")
        row = page.locator("#worklist tr.task-row", has_text=text)
        expect(row.first).to_be_visible()
        return row

    def open_task(self, text: str, tab: str = "mine") -> Any:
        row = self.search(text, tab)
        expect(row).to_have_count(1)
        row.locator("a.task-link").click()
        expect(self.page.locator("#task-form")).to_be_visible()
        return self.page

    def submit(self, expect_url: str = "/tasks") -> None:
        self.page.locator("[data-task-form] button[type=submit]").click()
        expect(self.page).to_have_url(f"{self.base}{expect_url}")

    def submit_and_go_on(self) -> None:
        """Submit, and land on the same person's next step of the case (not the worklist)."""
        self.page.locator("[data-task-form] button[type=submit]").click()
        expect(self.page).to_have_url(re.compile(rf"^{re.escape(self.base)}/tasks/[0-9a-f-]{{36}}$"))
        expect(self.page.locator("#task-form")).to_be_visible()

    def decide(self, decision: str, comment: str | None = None) -> None:
        self.page.locator(f"label.decision-{decision}").click()
        if comment is not None:
            self.page.fill("#f-comment", comment)

    def close(self) -> None:
        assert self.errors == [], f"{self.username}: browser errors {self.errors}"
        self.context.close()
