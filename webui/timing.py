"""Server-Timing on every answer: how long the app took to make it (`app;dur=<ms>`), from the
request's first hook to the response leaving Flask. Browsers' developer tools show it beside the
network time; the page benchmark (bench/pages.py) reads its p95 from it."""

from __future__ import annotations

import time

from flask import Flask, Response, g


def init_app(app: Flask) -> None:
    @app.before_request
    def _started() -> None:
        g._started = time.perf_counter()

    @app.after_request
    def _server_timing(response: Response) -> Response:
        started = g.get("_started")
        if started is not None:
            response.headers.add("Server-Timing", f"app;dur={(time.perf_counter() - started) * 1000:.1f}")
        return response
