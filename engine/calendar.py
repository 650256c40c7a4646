"""Business calendar: working time in China (weekends, public holidays, make-up working days 调休).

A duration "in working time" counts only working hours: `P5D` is five working days of the
configured hours, `PT4H` four working hours. Counting starts at the next working moment, so a
deadline set on a Friday evening runs from Monday morning, and a deadline that would end exactly
at the close of a day ends then (not at the next morning's opening).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import chinese_calendar
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

from engine import config
from engine.config import WorkingHours


@dataclass(frozen=True)
class YearDays:
    """A year's public holidays and make-up working days (调休), as an admin entered them."""

    holidays: frozenset[date]
    workdays: frozenset[date]


Loader = Callable[[], dict[int, YearDays]]
RELOAD_SECONDS = 30.0  # how soon another app process sees an admin's change (this one: at once)
# Where the admins' years come from, by database (engine.services.calendar_years): one in an app
# process; a test process with an engine per database sees the years of both.
_loaders: dict[str, Loader] = {}
_entered: dict[str, Any] = {"years": {}, "at": -math.inf}
_lock = threading.Lock()


def use_entered_years(source: str, loader: Loader | None) -> None:
    """Read the admins' years of `source` (a database) with `loader`; None: no longer."""
    with _lock:
        if loader is None:
            _loaders.pop(source, None)
        else:
            _loaders[source] = loader
        _entered.update(years={}, at=-math.inf)


def refresh() -> None:
    """Read the admins' years again at the next question (after a change in this process)."""
    with _lock:
        _entered["at"] = -math.inf


def entered_years() -> dict[int, YearDays]:
    """The admins' years, read at most every RELOAD_SECONDS: every deadline asks."""
    now = time.monotonic()
    if _loaders and now - _entered["at"] > RELOAD_SECONDS:
        with _lock:
            if now - _entered["at"] > RELOAD_SECONDS:
                years: dict[int, YearDays] = {}
                for loader in list(_loaders.values()):
                    years.update(loader())
                _entered.update(years=years, at=now)
    return _entered["years"]  # type: ignore[no-any-return]


def packaged_years() -> list[int]:
    """The years the packaged holiday data (chinesecalendar) covers."""
    from chinese_calendar import constants

    return sorted({d.year for d in constants.holidays} | {d.year for d in constants.workdays})


def packaged_days(year: int) -> YearDays:
    from chinese_calendar import constants

    return YearDays(frozenset(d for d in constants.holidays if d.year == year), frozenset(d for d in constants.workdays if d.year == year))


def known_years() -> list[int]:
    """The years with holiday data, packaged or entered by an admin; outside them only weekends count."""
    return sorted(set(packaged_years()) | set(entered_years()))


def missing_years(today: date) -> list[int]:
    """This year and the next, where the holiday data has nothing: deadlines counted in working
    days there skip weekends only, not the public holidays or make-up working days (调休)."""
    known = set(known_years())
    return [year for year in (today.year, today.year + 1) if year not in known]


def is_working_day(day: date) -> bool:
    """An admin's year wins over the packaged one (a correction, or a year the package lacks)."""
    entered = entered_years().get(day.year)
    if entered is not None:
        return day not in entered.holidays and (day in entered.workdays or day.weekday() < 5)
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:  # outside the years the library knows: weekdays only
        return day.weekday() < 5


def default_hours() -> WorkingHours:
    """`WORKING_HOURS` in `WORKING_TIMEZONE` (engine.config)."""
    return config.current().working_hours


def add_working_time(start: datetime, amount: timedelta, hours: WorkingHours | None = None) -> datetime:
    """The moment `amount` of working time after `start` (an aware datetime; result in UTC)."""
    hours = hours or default_hours()
    local = start.astimezone(hours.tz)
    remaining = amount
    day = local.date()
    cursor = local
    for _ in range(3660):  # ten years of days: a bound, never reached by real deadlines
        opening = datetime.combine(day, hours.start, hours.tz)
        closing = datetime.combine(day, hours.end, hours.tz)
        if is_working_day(day) and cursor < closing:
            cursor = max(cursor, opening)
            available = closing - cursor
            if remaining <= available:
                return (cursor + remaining).astimezone(UTC)
            remaining -= available
        day += timedelta(days=1)
        cursor = datetime.combine(day, hours.start, hours.tz)
    raise ValueError("working-time deadline is more than ten years away")


def working_amount(iso_duration: str, hours: WorkingHours | None = None) -> timedelta:
    """An ISO duration as working time: days (and weeks) are working days of the configured length."""
    hours = hours or default_hours()
    parsed = TimerEventDefinition.parse_iso_duration(iso_duration)
    if parsed.get("years") or parsed.get("months"):
        raise ValueError("working-time durations are counted in weeks, days, hours and minutes")
    days = parsed.get("weeks", 0) * 5 + parsed.get("days", 0)
    return days * hours.day_length + timedelta(
        hours=parsed.get("hours", 0), minutes=parsed.get("minutes", 0), seconds=parsed.get("seconds", 0)
    )


def add_duration(start: datetime, iso_duration: str, working: bool = False) -> datetime:
    """Add an ISO 8601 duration to an aware datetime, in calendar time or in working time."""
    if working:
        return add_working_time(start, working_amount(iso_duration))
    return start + TimerEventDefinition.get_timedelta_from_start(TimerEventDefinition.parse_iso_duration(iso_duration), start)
