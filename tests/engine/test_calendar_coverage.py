"""The working calendar says which years its holiday data covers, and which of this year and the
next it does not."""

from __future__ import annotations

from datetime import date

from engine import calendar


def test_the_years_without_holiday_data_are_named() -> None:
    known = calendar.known_years()
    assert known == sorted(known) and 2025 in known
    last = known[-1]
    assert calendar.missing_years(date(last, 6, 1)) == [last + 1]
    assert calendar.missing_years(date(last - 1, 6, 1)) == []
    assert calendar.missing_years(date(last + 1, 1, 2)) == [last + 1, last + 2]
    # Outside the data a weekday counts as working, a weekend not (the fallback the warning names).
    assert calendar.is_working_day(date(last + 1, 1, 1)) == (date(last + 1, 1, 1).weekday() < 5)
