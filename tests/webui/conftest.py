"""Fixtures for the worklist UI: logged-in test clients that speak CSRF like a browser, and for the
Playwright tests a live server (werkzeug in a thread on a free port) plus Debian's Chromium."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.serving import WSGIRequestHandler, make_server

from webui.extensions import WebUser

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
OUTPUT = Path(__file__).resolve().parents[2] / "test-output"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


# Logins are throttled per client address; the UI tests use addresses of their own so that the
# failed logins other tests make from 127.0.0.1 do not lock them out (and theirs do not count here).
TEST_CLIENT_ADDRESS = "10.44.0.1"
BROWSER_ADDRESS = "10.44.0.2"


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
            with engine.db.sessions() as session:
                session_id = WebUser(engine.identity.user(session, username)).get_id()
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


class QuietHandler(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """The browser tests make hundreds of requests; their access log is noise."""


def _from_browser_address(app: Flask) -> Callable[[dict[str, Any], Any], Any]:
    def wsgi(environ: dict[str, Any], start_response: Any) -> Any:
        environ["REMOTE_ADDR"] = BROWSER_ADDRESS
        return app(environ, start_response)

    return wsgi


@contextmanager
def serve(wsgi: Any) -> Iterator[str]:
    """Serve a WSGI app on 127.0.0.1 and a free port in a thread; yields its base URL."""
    server = make_server("127.0.0.1", 0, wsgi, threaded=True, request_handler=QuietHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)


@pytest.fixture(scope="session")
def live_server(app: Flask) -> Iterator[str]:
    with serve(_from_browser_address(app)) as url:
        yield url


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():  # a failure, not a skip: the UI would go untested unnoticed
        pytest.fail(
            f"the browser tests need Debian's Chromium at {CHROMIUM}: `make test` installs it as root, or run: sudo apt-get install chromium fonts-noto-cjk"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def shots(request: pytest.FixtureRequest, database_url: str) -> Callable[[Any, str], Path]:
    """shots(page, 'name') saves a full-page PNG under test-output/screenshots/<test>/."""
    folder = OUTPUT / "screenshots" / f"{request.node.originalname}-{'pg' if database_url.startswith('postgresql') else 'sqlite'}"
    folder.mkdir(parents=True, exist_ok=True)

    def take(page: Any, name: str) -> Path:
        path = folder / f"{name}.png"
        page.evaluate("window.scrollTo(0, 0)")  # the sticky header belongs at the top of a full-page shot
        page.screenshot(path=str(path), full_page=True)
        return path

    return take
