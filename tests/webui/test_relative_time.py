"""How far a time is from now: the texts made once per unit and count read exactly as Babel's
format_timedelta says them, either side of every unit's threshold, in both languages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from flask_babel import force_locale, format_timedelta

from webui import ui

NOW = datetime(2027, 3, 1, 8, 0, tzinfo=UTC)
# Around each unit's switch (1.1 of it) and its rounding (x.5), both directions, and tiny ones.
SECONDS = sorted(
    {
        s * sign
        for per in (60, 3600, 86400, 604800, 2592000, 31536000)
        for s in (per * 1.1 - 1, per * 1.1, per * 1.1 + 1, per * 2.49, per * 2.5, per * 2.51, per * 7)
        for sign in (1, -1)
    }
    | {0, 1, -1, 29, 30, 31, 59, 61, -3599}
)


@pytest.mark.parametrize("locale", ["zh_Hans_CN", "en"])
def test_every_distance_reads_as_babel_says_it(app: Flask, locale: str, monkeypatch: pytest.MonkeyPatch) -> None:
    engine = app.extensions["crmflow"]
    monkeypatch.setattr(engine, "clock", lambda: NOW)
    with app.test_request_context("/"), force_locale(locale):
        for seconds in SECONDS:
            expected = format_timedelta(timedelta(seconds=seconds), granularity="minute", add_direction=True, threshold=1.1)
            assert ui.relative_time(NOW + timedelta(seconds=seconds)) == expected, seconds
            assert ui.relative_time(NOW + timedelta(seconds=seconds)) == expected, seconds  # cached


def test_no_time_is_no_text(app: Flask) -> None:
    with app.test_request_context("/"):
        assert ui.relative_time(None) == ""
