"""Times on pages: the numeric patterns the templates use, formatted without Babel, read exactly
as Babel formats them, in the product's time zone, in both languages."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from flask import Flask
from flask_babel import force_locale, format_datetime

from webui.ui import _strftime_pattern, local_time

PATTERNS = ["yyyy-MM-dd HH:mm", "yyyy-MM-dd", "MM-dd HH:mm", "HH:mm:ss", "yyyy-MM-dd HH:mm:ss", "yyyy/MM/dd"]
TIMES = [
    datetime(2026, 12, 31, 16, 5, 9, tzinfo=UTC),  # past midnight in Shanghai: the next day, the next year
    datetime(2027, 2, 5, 0, 0, 0, tzinfo=UTC),
    datetime(2026, 7, 1, 9, 30, 0),  # naive: a UTC time as SQLite returns it
]


@pytest.mark.parametrize("locale", ["zh_Hans_CN", "en"])
@pytest.mark.parametrize("pattern", PATTERNS)
def test_a_numeric_pattern_reads_as_babel_formats_it(app: Flask, locale: str, pattern: str) -> None:
    assert _strftime_pattern(pattern) is not None
    with app.test_request_context("/"), force_locale(locale):
        for value in TIMES:
            babel = format_datetime(value if value.tzinfo else value.replace(tzinfo=UTC), pattern)
            assert local_time(value, pattern) == babel


def test_the_time_is_the_product_time_zones(app: Flask) -> None:
    with app.test_request_context("/"):
        assert local_time(TIMES[0]) == "2027-01-01 00:05"  # WORKING_TIMEZONE Asia/Shanghai, UTC+8


def test_patterns_with_names_or_literals_are_left_to_babel(app: Flask) -> None:
    assert _strftime_pattern("d MMM yyyy") is None
    assert _strftime_pattern("HH 'o''clock'") is None
    with app.test_request_context("/"), force_locale("en"):
        assert local_time(TIMES[1], "d MMM yyyy") == "5 Feb 2027"
    assert local_time(None) == ""
