"""Every answer says how long the app took to make it (Server-Timing), pages and API alike."""

from __future__ import annotations

import re

from flask.testing import FlaskClient

TIMING = re.compile(r"^app;dur=(\d+\.\d)$")


def test_a_page_and_an_api_answer_carry_the_apps_time(client: FlaskClient) -> None:
    for path in ("/login", "/api/v1/tasks", "/healthz"):
        answer = client.get(path)
        timing = TIMING.match(answer.headers.get("Server-Timing", ""))
        assert timing is not None, (path, answer.status_code, answer.headers.get("Server-Timing"))
        assert 0 < float(timing.group(1)) < 60_000
