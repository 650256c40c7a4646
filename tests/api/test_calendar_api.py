"""The working calendar by year (API.md "Calendar"): a packaged year (chinesecalendar) as the
calendar counts it; 2027, which chinesecalendar 1.11.0 does not have, reported missing (healthz)
and counting weekends only, until an admin enters it: then a "5 working days" deadline across its
Spring Festival skips the holidays and counts the make-up Sunday; removed, the year is missing
again. Bad years and days are refused whole; only admins see and change it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from engine import calendar
from engine.process_engine import ProcessEngine
from tests.conftest import Api

SHANGHAI = ZoneInfo("Asia/Shanghai")
# The test's own 2027 Spring Festival (the Lunar New Year is Saturday 6 February): nine days off
# from Friday the 5th, the Sunday before and the Saturday after worked.
SPRING_2027 = {
    "holidays": [f"2027-02-{d:02d}" for d in range(5, 14)],
    "workdays": ["2027-01-31", "2027-02-20"],
}


@pytest.fixture
def year_2027(api: Api) -> Iterator[None]:
    yield
    api.call("DELETE", "admin", "/api/v1/admin/calendar/2027")  # other tests count 2027 as packaged (missing)


def _deadline() -> datetime:
    """Five working days (09:00-18:00) from Thursday 4 February 2027, 10:00 in Shanghai."""
    return calendar.add_duration(datetime(2027, 2, 4, 10, 0, tzinfo=SHANGHAI), "P5D", True).astimezone(SHANGHAI)


def test_a_packaged_year_is_shown_as_the_calendar_counts_it(api: Api) -> None:
    year = api.get("admin", "/api/v1/admin/calendar/2025").get_json()
    assert (year["source"], year["complete"]) == ("chinesecalendar", True)
    assert "2025-10-01" in year["holidays"] and "2025-09-28" in year["workdays"]  # National Day and its make-up Sunday
    assert calendar.is_working_day(datetime(2025, 9, 28).date()) and not calendar.is_working_day(datetime(2025, 10, 1).date())


def test_an_admin_entered_2027_counts_its_spring_festival(api: Api, engine: ProcessEngine, year_2027: None) -> None:
    if 2027 in calendar.packaged_years():
        pytest.skip("the packaged holiday data has 2027 now: this test is about a year it lacks")
    before = api.get("admin", "/api/v1/admin/calendar/2027").get_json()
    assert (before["source"], before["complete"], before["holidays"]) == ("none", False, [])
    today = engine.identity.today()
    health = api.client.get("/healthz").get_json()
    assert (2027 in health["calendar"]["missing"]) == (today.year in (2026, 2027))
    # Without data: weekends only, the holiday counted as working days (the documented fallback).
    assert _deadline() == datetime(2027, 2, 11, 10, 0, tzinfo=SHANGHAI)

    entered = api.call("PUT", "admin", "/api/v1/admin/calendar/2027", json=SPRING_2027)
    assert entered.status_code == 200, entered.get_json()
    assert (entered.get_json()["source"], entered.get_json()["complete"]) == ("admin", True)
    assert _deadline() == datetime(2027, 2, 19, 10, 0, tzinfo=SHANGHAI)  # 4 Feb, then 15-18 Feb, then an hour on the 19th
    assert calendar.is_working_day(datetime(2027, 1, 31).date())  # the make-up Sunday
    assert 2027 not in api.client.get("/healthz").get_json()["calendar"]["missing"]

    assert api.call("DELETE", "admin", "/api/v1/admin/calendar/2027").status_code == 204
    assert api.get("admin", "/api/v1/admin/calendar/2027").get_json()["source"] == "none"
    assert _deadline() == datetime(2027, 2, 11, 10, 0, tzinfo=SHANGHAI)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"holidays": ["2028-01-01"]}, "holidays"),  # another year's day
        ({"holidays": ["2027-02-30"]}, "holidays"),
        ({"holidays": "2027-02-05"}, "holidays"),
        ({"holidays": ["2027-02-06"], "workdays": ["2027-02-06"]}, "workdays"),  # both
        ({"workdays": ["2027-02-08"]}, "workdays"),  # a Monday works anyway
    ],
)
def test_bad_days_are_refused_whole(api: Api, body: dict[str, object], field: str, year_2027: None) -> None:
    answer = api.call("PUT", "admin", "/api/v1/admin/calendar/2027", json=body)
    assert answer.status_code == 422 and field in answer.get_json()["fields"]
    assert api.get("admin", "/api/v1/admin/calendar/2027").get_json()["source"] in ("none", "chinesecalendar")


def test_only_admins_see_and_enter_years_and_years_are_bounded(api: Api) -> None:
    assert api.get("gm", "/api/v1/admin/calendar/2026").status_code == 403
    assert api.call("PUT", "fin_mgr", "/api/v1/admin/calendar/2031", json={"holidays": []}).status_code == 403
    assert api.get("admin", "/api/v1/admin/calendar/1999").status_code == 404
    assert api.get("admin", "/api/v1/admin/calendar/99999999999").status_code == 404
    assert api.call("DELETE", "admin", "/api/v1/admin/calendar/2031").status_code == 404  # nothing entered
