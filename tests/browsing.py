"""The browser fixtures, for the UI tests and the stories alike (tests/conftest.py offers them to
every folder, so one Chromium serves the run): a live server (werkzeug in a thread on a free port)
and Debian's Chromium driven by Playwright."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from werkzeug.serving import WSGIRequestHandler, make_server

OUTPUT = Path(__file__).resolve().parents[1] / "test-output"
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
# The browser's requests come from an address of their own, so that failed logins other tests make
# from 127.0.0.1 do not throttle it.
BROWSER_ADDRESS = "10.44.0.2"


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
