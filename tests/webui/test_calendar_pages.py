"""The working calendar pages (admins): the years with where their data comes from; a year's
holidays and make-up days entered as dates and ranges, counted by the calendar at once; a bad
line keeps the form with its message and stores nothing; the entry removed again; others 403."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import date

import pytest

from engine import calendar
from engine.process_engine import ProcessEngine
from tests.webui.conftest import Page
from webui.calendar_pages import parse_days

YEAR = 2031  # neither this year nor the next: other tests' deadlines never reach it


@pytest.fixture
def admin(ui: Callable[[str], Page]) -> Iterator[Page]:
    page = ui("admin")
    yield page
    page.post(f"/admin/calendar/{YEAR}/delete")


def test_dates_and_ranges_one_per_line() -> None:
    assert parse_days("2031-01-01\n\n 2031-01-22..2031-01-24 ，2031-02-01") == [
        "2031-01-01",
        "2031-01-22",
        "2031-01-23",
        "2031-01-24",
        "2031-02-01",
    ]
    assert parse_days("2031-01-24..2031-01-22") is None and parse_days("next friday") is None
    assert parse_days("2031-01-01..2031-06-01") is None  # a range longer than two months


def test_an_admin_enters_a_year_and_removes_it(admin: Page, engine: ProcessEngine) -> None:
    listing = admin.text("/admin/calendar")
    assert re.search(r'data-year="2025" data-source="chinesecalendar"', listing)
    sunday = next(d for d in (date(YEAR, 1, 18 + n) for n in range(7)) if d.weekday() == 6)
    saved = admin.post(f"/admin/calendar/{YEAR}", {"holidays": f"{YEAR}-01-01\n{YEAR}-01-22..{YEAR}-01-28", "workdays": sunday.isoformat()})
    assert saved.status_code == 302
    assert not calendar.is_working_day(date(YEAR, 1, 23)) and calendar.is_working_day(sunday)
    page = admin.text(f"/admin/calendar/{YEAR}")
    assert 'data-source="admin"' in page and f"{YEAR}-01-28" in page
    assert re.search(rf'data-year="{YEAR}" data-source="admin"', admin.text("/admin/calendar"))

    refused = admin.post(f"/admin/calendar/{YEAR}", {"holidays": f"{YEAR}-01-01\nsoon", "workdays": ""})
    assert refused.status_code == 422 and 'aria-invalid="true"' in refused.get_data(as_text=True)
    monday = next(date(YEAR, 1, d) for d in range(1, 8) if date(YEAR, 1, d).weekday() == 0)
    not_weekend = admin.post(f"/admin/calendar/{YEAR}", {"holidays": "", "workdays": monday.isoformat()})
    assert not_weekend.status_code == 422
    assert not calendar.is_working_day(date(YEAR, 1, 23))  # the refused forms changed nothing

    assert admin.post(f"/admin/calendar/{YEAR}/delete").status_code == 302
    assert calendar.is_working_day(date(YEAR, 1, 23)) == (date(YEAR, 1, 23).weekday() < 5)
    with engine.db.sessions() as session:
        assert engine.calendar.get(session, engine.identity.actor(session, "admin"), YEAR)["source"] == "none"


def test_only_admins_open_the_calendar(ui: Callable[[str], Page]) -> None:
    assert ui("gm").get("/admin/calendar").status_code == 403
    assert ui("gm").post(f"/admin/calendar/{YEAR}", {"holidays": f"{YEAR}-01-01"}).status_code == 403
    assert ui("admin").get("/admin/calendar/1999").status_code == 404
