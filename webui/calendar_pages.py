"""The working calendar (admins, /admin/calendar): which years have holiday data and from where,
and a year's holidays and make-up working days (调休) entered or corrected by hand: one date or
range (2027-02-05..2027-02-13) per line. Each change is one engine.calendar call (checked,
audited); the business calendar counts it at once in this process, within 30 s in the others."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from flask import render_template, request, url_for
from flask.typing import ResponseReturnValue

from engine import calendar
from engine.errors import ValidationFailed
from engine.services.calendar_years import FIRST_YEAR, LAST_YEAR
from webui import labels
from webui.admin_pages import admins_only
from webui.i18n import gettext as _
from webui.ui import actor, done, eng, page_blueprint

bp = page_blueprint("calendar", __name__)
MAX_RANGE_DAYS = 60  # one line's range: a holiday period is never longer


bp.before_request(admins_only)  # the administration area's rule (webui.admin_pages)


def parse_days(text: str) -> list[str] | None:
    """Dates written one per line, or as ranges `from..to`, as ISO dates; None if a line is not."""
    found: list[str] = []
    for line in text.replace(",", "\n").replace("，", "\n").splitlines():
        line = line.strip()
        if not line:
            continue
        first, _sep, last = line.partition("..")
        try:
            start = date.fromisoformat(first.strip())
            end = date.fromisoformat(last.strip()) if last else start
        except ValueError:
            return None
        if end < start or (end - start).days > MAX_RANGE_DAYS:
            return None
        found += [(start + timedelta(days=n)).isoformat() for n in range((end - start).days + 1)]
    return found


def _years(today: date) -> list[dict[str, Any]]:
    entered = calendar.entered_years()
    packaged = set(calendar.packaged_years())
    shown = sorted({today.year - 1, today.year, today.year + 1} | set(entered) | {y for y in packaged if y >= today.year - 1})
    return [{"year": y, "source": "admin" if y in entered else "chinesecalendar" if y in packaged else "none"} for y in shown]


@bp.get("/admin/calendar")
def index() -> ResponseReturnValue:
    today = eng().identity.today()
    return render_template("admin/calendar.html", years=_years(today), missing=calendar.missing_years(today))


def _year_page(year: int, status: int = 200, **extra: Any) -> ResponseReturnValue:
    engine = eng()
    with engine.db.sessions() as session:
        shown = engine.calendar.get(session, actor(), year)
    values = extra.pop("values", None) or {"holidays": "\n".join(shown["holidays"]), "workdays": "\n".join(shown["workdays"])}
    return render_template("admin/calendar_year.html", shown=shown, values=values, errors=extra.pop("errors", {}), **extra), status


@bp.get(f"/admin/calendar/<int(min={FIRST_YEAR}, max={LAST_YEAR}):year>")
def year_page(year: int) -> ResponseReturnValue:
    return _year_page(year)


@bp.post(f"/admin/calendar/<int(min={FIRST_YEAR}, max={LAST_YEAR}):year>")
def save(year: int) -> ResponseReturnValue:
    values = {key: request.form.get(key, "")[:20_000] for key in ("holidays", "workdays")}
    parsed = {key: parse_days(text) for key, text in values.items()}
    errors = {
        key: _("Write one date (YYYY-MM-DD) or range (from..to, at most two months) per line.") for key, v in parsed.items() if v is None
    }
    if not errors:
        try:
            eng().calendar.put(actor(), year, parsed)
        except ValidationFailed as exc:
            errors = {key: labels.field_error(message) for key, message in exc.fields.items()}
    if errors:
        return _year_page(year, 422, values=values, errors=errors)
    return done(_("Saved the working calendar of %(year)s.", year=year), url_for("calendar.year_page", year=year))


@bp.post(f"/admin/calendar/<int(min={FIRST_YEAR}, max={LAST_YEAR}):year>/delete")
def delete(year: int) -> ResponseReturnValue:
    eng().calendar.delete(actor(), year)
    return done(_("The entered calendar of %(year)s is removed.", year=year), url_for("calendar.year_page", year=year))
