"""Amounts on pages: formatted without Babel, read exactly as Babel's "#,##0.00" formats them, in
both languages."""

from __future__ import annotations

from decimal import Decimal

import pytest
from flask import Flask
from flask_babel import force_locale, format_decimal

from webui.ui import money

AMOUNTS = [
    0,
    1,
    12.5,
    "1234.5",
    1234567.891,
    Decimal("0.125"),
    Decimal("0.135"),
    Decimal("-8800.005"),
    -0.004,
    10**15,
    "3e4",
    Decimal("99999999.995"),
]


@pytest.mark.parametrize("locale", ["zh_Hans_CN", "en"])
def test_an_amount_reads_as_babel_formats_it(app: Flask, locale: str) -> None:
    with app.test_request_context("/"), force_locale(locale):
        for amount in AMOUNTS:
            assert money(amount) == "¥" + format_decimal(Decimal(str(amount)), format="#,##0.00"), amount


def test_other_currencies_and_what_is_not_an_amount(app: Flask) -> None:
    with app.test_request_context("/"):
        assert money(1500, "usd") == "US$1,500.00"
        assert money(1500, "JPY") == "1,500.00 JPY"
        assert money(None) == money("") == money(True) == ""
        assert money("about 3000") == "about 3000"
        assert money("NaN") == "NaN"
