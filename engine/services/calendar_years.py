"""The business calendar's years (API.md "Calendar"): each year's public holidays and make-up
working days (调休) from the packaged data (chinesecalendar), or as an admin entered them, which
the calendar then takes instead (engine.calendar). The packaged data stops at the last year the
State Council had announced when it was released (1.11.0: 2026): entering the coming year when it
is announced keeps deadlines in working days right across its Spring Festival. A year with
neither is reported (healthz, the monitor) and counts weekends only."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from engine import calendar
from engine.errors import NotFound, ValidationFailed
from engine.services.identity import Actor
from store.models import CalendarYear

if TYPE_CHECKING:
    from engine.authorization import Authorization
    from engine.services.history import HistoryService
    from store.db import Database

log = logging.getLogger(__name__)
FIRST_YEAR, LAST_YEAR = 2000, 2100
MAX_DAYS = 200  # holidays or make-up days in one year: far more than any year has


def year_of(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not FIRST_YEAR <= value <= LAST_YEAR:
        raise NotFound(f"no calendar year {value} (years {FIRST_YEAR} to {LAST_YEAR})")
    return value


def _days(data: dict[str, Any], key: str, year: int, errors: dict[str, str]) -> list[date]:
    value = data.get(key, [])
    if not isinstance(value, list) or len(value) > MAX_DAYS:
        errors[key] = f"must be a list of at most {MAX_DAYS} ISO dates (YYYY-MM-DD)"
        return []
    found: set[date] = set()
    for item in value:
        try:
            day = date.fromisoformat(item) if isinstance(item, str) and len(item) == 10 else None
        except ValueError:
            day = None
        if day is None or day.year != year:
            errors[key] = f"must be ISO dates (YYYY-MM-DD) in {year}"
            return []
        found.add(day)
    return sorted(found)


class CalendarYearService:
    def __init__(self, *, authorization: Authorization, clock: Callable[[], datetime], db: Database, history: HistoryService) -> None:
        self._authorization = authorization
        self._clock = clock
        self._db = db
        self._history = history

    def load(self) -> dict[int, calendar.YearDays]:
        """Every entered year, for the calendar (engine.calendar.use_entered_years). A database not
        yet upgraded has none: the packaged data then stands, rather than every deadline failing."""
        try:
            with self._db.sessions() as session:
                rows = session.execute(select(CalendarYear.year, CalendarYear.holidays, CalendarYear.workdays)).all()
        except SQLAlchemyError:
            log.warning("the calendar_years table cannot be read (run db-upgrade): the packaged holiday data stands")
            return {}
        return {
            year: calendar.YearDays(frozenset(date.fromisoformat(d) for d in holidays), frozenset(date.fromisoformat(d) for d in workdays))
            for year, holidays, workdays in rows
        }

    def get(self, session: Session, actor: Actor, year: object) -> dict[str, Any]:
        """The year as the calendar counts it: `source` admin, chinesecalendar or none."""
        self._authorization.require_admin(actor, "see and edit the working calendar")
        year = year_of(year)
        row = session.get(CalendarYear, year)
        if row is not None:
            return {"year": year, "source": "admin", "holidays": row.holidays, "workdays": row.workdays, "complete": True}
        if year in calendar.packaged_years():
            days = calendar.packaged_days(year)
            return {
                "year": year,
                "source": "chinesecalendar",
                "holidays": sorted(d.isoformat() for d in days.holidays),
                "workdays": sorted(d.isoformat() for d in days.workdays),
                "complete": True,
            }
        return {"year": year, "source": "none", "holidays": [], "workdays": [], "complete": False}

    def put(self, actor: Actor, year: object, data: Any) -> dict[str, Any]:
        """Enter (or replace) the year: its holidays, and its make-up working days (weekend days)."""
        self._authorization.require_admin(actor, "see and edit the working calendar")
        year = year_of(year)
        if not isinstance(data, dict):
            raise ValidationFailed({"data": "must be an object"})
        errors: dict[str, str] = {}
        holidays, workdays = _days(data, "holidays", year, errors), _days(data, "workdays", year, errors)
        if not errors and set(holidays) & set(workdays):
            errors["workdays"] = "a day cannot be both a holiday and a make-up working day"
        if not errors and any(d.weekday() < 5 for d in workdays):
            errors["workdays"] = "make-up working days are weekend days (a weekday works anyway)"
        if errors:
            raise ValidationFailed(errors)
        with self._db.transaction() as session:
            row = session.get(CalendarYear, year, with_for_update=True)
            if row is None:
                row = CalendarYear(year=year)
                session.add(row)
            row.holidays = [d.isoformat() for d in holidays]
            row.workdays = [d.isoformat() for d in workdays]
            row.updated_by, row.updated_at = actor.username, self._clock()
            self._history.record(
                session, actor.username, "admin.calendar.update", data={"year": year, "holidays": len(holidays), "workdays": len(workdays)}
            )
        calendar.refresh()
        with self._db.sessions() as session:
            return self.get(session, actor, year)

    def delete(self, actor: Actor, year: object) -> None:
        """Back to the packaged data (or none) for the year."""
        self._authorization.require_admin(actor, "see and edit the working calendar")
        year = year_of(year)
        with self._db.transaction() as session:
            row = session.get(CalendarYear, year, with_for_update=True)
            if row is None:
                raise NotFound(f"no entered calendar for {year}")
            session.delete(row)
            self._history.record(session, actor.username, "admin.calendar.delete", data={"year": year})
        calendar.refresh()
