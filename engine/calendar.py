"""Business calendar: working time in China (weekends, public holidays, make-up working days 调休).

A duration "in working time" counts only working hours: `P5D` is five working days of the
configured hours, `PT4H` four working hours. Counting starts at the next working moment, so a
deadline set on a Friday evening runs from Monday morning, and a deadline that would end exactly
at the close of a day ends then (not at the next morning's opening).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import chinese_calendar
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition


def is_working_day(day: date) -> bool:
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:  # outside the years the library knows: weekdays only
        return day.weekday() < 5


@dataclass(frozen=True)
class WorkingHours:
    start: time = time(9, 0)
    end: time = time(18, 0)
    zone: str = "Asia/Shanghai"

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.zone)

    @property
    def day_length(self) -> timedelta:
        return datetime.combine(date.min, self.end) - datetime.combine(date.min, self.start)

    @classmethod
    def from_env(cls) -> WorkingHours:
        """`WORKING_HOURS=09:00-18:00`, `WORKING_TIMEZONE=Asia/Shanghai`."""
        text = os.environ.get("WORKING_HOURS", "09:00-18:00")
        start, _, end = text.partition("-")
        hours = cls(time.fromisoformat(start.strip()), time.fromisoformat(end.strip()), os.environ.get("WORKING_TIMEZONE", "Asia/Shanghai"))
        if hours.day_length <= timedelta(0):
            raise ValueError(f"WORKING_HOURS must end after it starts: {text}")
        return hours


@lru_cache(maxsize=1)
def default_hours() -> WorkingHours:
    return WorkingHours.from_env()


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
