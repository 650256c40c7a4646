"""Business calendar: working days in China (weekends, public holidays, make-up days 调休)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import chinese_calendar
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition


def is_working_day(day: date) -> bool:
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:  # outside the years the library knows: weekdays only
        return day.weekday() < 5


def add_working_days(start: datetime, days: int) -> datetime:
    """`days` working days after `start`, at the same time of day."""
    current = start
    remaining = days
    while remaining > 0:
        current += timedelta(days=1)
        if is_working_day(current.date()):
            remaining -= 1
    return current


def add_duration(start: datetime, iso_duration: str, working: bool = False) -> datetime:
    """Add an ISO 8601 duration; in working time, whole days count working days only."""
    delta = TimerEventDefinition.get_timedelta_from_start(TimerEventDefinition.parse_iso_duration(iso_duration), start)
    if not working:
        return start + delta
    whole_days = delta.days
    return add_working_days(start, whole_days) + (delta - timedelta(days=whole_days))
