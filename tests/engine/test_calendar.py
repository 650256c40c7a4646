"""The working-time calendar: Chinese holidays, make-up working days, evenings and weekends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from engine.calendar import add_duration, add_working_time, working_amount
from engine.config import Settings, WorkingHours

SHANGHAI = ZoneInfo("Asia/Shanghai")


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)


def test_five_working_days_across_national_day_count_the_make_up_saturday() -> None:
    # 2026: 1-7 October are holidays, Saturday 10 October is a make-up working day (调休).
    due = add_duration(local(2026, 9, 30, 10, 0), "P5D", working=True).astimezone(SHANGHAI)
    # 30 Sep (from 10:00), 8, 9, 10 (Saturday), 12 Oct, and one hour of 13 Oct.
    assert due == local(2026, 10, 13, 10, 0)


def test_a_deadline_set_on_friday_evening_runs_from_monday_morning() -> None:
    friday_evening = local(2026, 11, 20, 20, 30)
    assert add_duration(friday_evening, "P2D", working=True).astimezone(SHANGHAI) == local(2026, 11, 24, 18, 0)
    assert add_duration(friday_evening, "PT4H", working=True).astimezone(SHANGHAI) == local(2026, 11, 23, 13, 0)


def test_calendar_time_ignores_the_calendar() -> None:
    start = local(2026, 11, 20, 20, 30)
    assert add_duration(start, "PT24H") == start + timedelta(hours=24)
    assert add_duration(start, "P30D") == start + timedelta(days=30)


def test_working_hours_are_configurable() -> None:
    short_days = Settings.from_environ({}).working_hours
    assert short_days.day_length == timedelta(hours=9)
    half_days = WorkingHours(start=datetime.strptime("08:30", "%H:%M").time(), end=datetime.strptime("12:30", "%H:%M").time())
    due = add_working_time(local(2026, 11, 23, 12, 0), timedelta(hours=2), half_days).astimezone(SHANGHAI)
    assert due == local(2026, 11, 24, 10, 0)
    assert working_amount("P1W", half_days) == timedelta(hours=20)


def test_results_are_utc() -> None:
    assert add_duration(local(2026, 11, 23, 9, 0), "PT1H", working=True).tzinfo == UTC
