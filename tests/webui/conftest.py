"""Fixtures for the worklist UI: logged-in test clients that speak CSRF like a browser (the
browser fixtures, shared with the stories, are in tests/browsing.py)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


# Logins are throttled per client address; the UI tests use addresses of their own so that the
# failed logins other tests make from 127.0.0.1 do not lock them out (and theirs do not count here).
TEST_CLIENT_ADDRESS = "10.44.0.1"


class Page:
    """A logged-in test client: GETs pages, POSTs forms with the session's CSRF token."""

    def __init__(self, client: FlaskClient, username: str) -> None:
        client.environ_base["REMOTE_ADDR"] = TEST_CLIENT_ADDRESS
        self.client = client
        self.username = username
        self.token = ""

    def login(self, password: str = "demo") -> Any:
        form = self.client.get("/login")
        self.token = CSRF.search(form.get_data(as_text=True)).group(1)  # type: ignore[union-attr]
        response = self.client.post("/login", data={"username": self.username, "password": password, "csrf_token": self.token})
        # The session is new after login; take the token the pages now carry.
        page = self.client.get("/tasks")
        match = CSRF.search(page.get_data(as_text=True))
        if match:
            self.token = match.group(1)
        return response

    def get(self, path: str, htmx: bool = False, **kwargs: Any) -> Any:
        headers = kwargs.pop("headers", {})
        if htmx:
            headers = {"HX-Request": "true", **headers}
        return self.client.get(path, headers=headers, **kwargs)

    def post(self, path: str, data: dict[str, Any] | None = None, htmx: bool = False, csrf: bool = True, **kwargs: Any) -> Any:
        payload = dict(data or {})
        headers = kwargs.pop("headers", {})
        if csrf:
            payload.setdefault("csrf_token", self.token)
        if htmx:
            headers = {"HX-Request": "true", **headers}
        return self.client.post(path, data=payload, headers=headers, **kwargs)

    def text(self, path: str, **kwargs: Any) -> str:
        response = self.get(path, **kwargs)
        assert response.status_code == 200, (path, response.status_code)
        return response.get_data(as_text=True)  # type: ignore[no-any-return]


@pytest.fixture(scope="session")
def ui_sessions() -> dict[tuple[str, str], Page]:
    return {}


@pytest.fixture
def ui(app: Flask, database_url: str, ui_sessions: dict[tuple[str, str], Page]) -> Callable[[str], Page]:
    """ui('cs_sup') -> a client with a session for that demo user (one per user and database).

    The session is made the way login_user makes it, without the login form: other tests lock
    accounts on purpose (login throttling), and the login form has its own tests."""

    def get(username: str) -> Page:
        key = (database_url, username)
        if key not in ui_sessions:
            engine = app.extensions["crmflow"]
            with engine.db.transaction() as session:
                session_id = engine.identity.start_session(session, engine.identity.user(session, username), "browser")
            page = Page(app.test_client(), username)
            with page.client.session_transaction() as cookie:
                cookie.update({"_user_id": session_id, "_fresh": True})
            match = CSRF.search(page.get("/tasks").get_data(as_text=True))
            assert match, f"no session for {username}"
            page.token = match.group(1)
            ui_sessions[key] = page
        return ui_sessions[key]

    return get


@pytest.fixture
def fresh(app: Flask) -> Callable[[str], Page]:
    """A new, not yet logged-in client (for login, logout and language tests that change the session)."""
    return lambda username: Page(app.test_client(), username)


# --- the browser ---------------------------------------------------------------------------
