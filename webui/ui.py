"""What every page blueprint shares: login on every route, HTML (or htmx) error pages, security
headers, and the template helpers (times in the product's time zone, due badges, names in the user's language)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import Any
from urllib.parse import quote, urlsplit

from babel.dates import TIMEDELTA_UNITS
from flask import Blueprint, Flask, Response, current_app, flash, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import format_datetime, format_decimal, format_timedelta
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DBAPIError
from werkzeug.exceptions import HTTPException

from engine.bpmn.forms import Upload, is_digits, is_storable_text
from engine.clock import aware, iso
from engine.errors import EngineError
from engine.services.identity import Actor
from engine.services.inbox import InboxService
from engine.services.worklist import WorklistService
from store.db import RETRY_AFTER_SECONDS, retryable
from webui import i18n, labels
from webui.extensions import engine as eng
from webui.extensions import login_manager, page_session
from webui.i18n import gettext as _

SOON = timedelta(hours=24)
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "font-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'self'; object-src 'none'"
)


def actor() -> Actor:
    return current_user.actor  # type: ignore[no-any-return]


def worklist() -> WorklistService:
    return eng().worklist


def inbox() -> InboxService:
    return eng().inbox


def is_htmx() -> bool:
    return request.headers.get("HX-Request") == "true"


def events_header(events: dict[str, Any]) -> str:
    """HX-Trigger value; ASCII-only JSON because HTTP headers cannot carry Chinese as such."""
    return json.dumps(events, ensure_ascii=True)


def submitted_form(form_model: list[dict[str, Any]]) -> dict[str, Any]:
    """A generated form's values as posted: only its own fields (the engine refuses unknown ones),
    empty text meaning 'not given'; a file field's new file as an Upload, else the id of the file
    it has already (sent back by the form)."""
    values: dict[str, Any] = {}
    for f in form_model:
        fid = f["id"]
        if f.get("readonly"):
            continue
        upload = request.files.get(fid) if f.get("type") == "file" else None
        if upload is not None and upload.filename:
            values[fid] = Upload(upload.filename, upload.read())
        elif fid in request.form:
            values[fid] = request.form.get(fid, "")
    return values


def done(message: str, back: str, level: str = "success", events: Iterable[str] = ("worklist-changed",)) -> ResponseReturnValue:
    """The answer to an action: for htmx a toast plus events that make lists refresh, otherwise a
    flash message and a redirect (the pages work without JavaScript too)."""
    if is_htmx():
        triggers: dict[str, Any] = dict.fromkeys(events)
        triggers["crm-toast"] = {"message": message, "level": level}
        return Response(status=204, headers={"HX-Trigger": events_header(triggers)})
    flash(message, level)
    return redirect(back)


def safe_next(target: str | None, default: str) -> str:
    """Only same-site paths: `next=//evil.example` or absolute URLs are ignored."""
    if not target:
        return default
    try:
        parts = urlsplit(target)
    except ValueError:  # not a URL at all, e.g. an unclosed IPv6 bracket
        return default
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target


def page_blueprint(name: str, import_name: str, public: Iterable[str] = ()) -> Blueprint:
    """A blueprint whose routes need a logged-in user (except `public` endpoints), answer errors
    with pages in the user's language and send the security headers."""
    bp = Blueprint(name, import_name)
    open_endpoints = {f"{name}.{endpoint}" for endpoint in public}

    @bp.before_request
    def require_login() -> ResponseReturnValue | None:
        texts = [request.path, *request.args.keys(), *request.args.values(), *request.form.keys(), *request.form.values()]
        if not all(is_storable_text(t) for t in texts):  # the database would refuse NUL or broken Unicode
            return error_page(400, _("The request contains characters that cannot be stored."))
        if request.endpoint in open_endpoints or current_user.is_authenticated:
            return None
        return login_manager.unauthorized()  # type: ignore[no-any-return]

    @bp.after_request
    def security_headers(response: Response) -> Response:
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if response.mimetype == "text/html":
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    bp.register_error_handler(EngineError, engine_error_page)
    bp.register_error_handler(CSRFError, _csrf_error)
    bp.register_error_handler(HTTPException, http_error_page)
    bp.register_error_handler(DBAPIError, database_error_page)
    bp.register_error_handler(Exception, unexpected_error_page)
    return bp


def page_arg() -> int:
    """The `page` query argument: a page number, 1 for anything else."""
    raw = request.args.get("page", "1")
    return int(raw) if is_digits(raw) and 0 < int(raw) < 100_000 else 1


def error_page(status: int, message: str) -> ResponseReturnValue:
    if is_htmx():
        headers = {"HX-Trigger": events_header({"crm-toast": {"message": message, "level": "error"}}), "HX-Reswap": "none"}
        return Response(message, status=status, headers=headers, mimetype="text/plain")
    return render_template("error.html", status=status, message=message), status


def engine_error_page(exc: EngineError) -> ResponseReturnValue:
    return error_page(exc.status, labels.error_message(exc))


def _csrf_error(exc: CSRFError) -> ResponseReturnValue:
    return error_page(400, _("The form has expired or did not come from this site. Reload the page and try again."))


def http_error_page(exc: HTTPException) -> ResponseReturnValue:
    messages = {
        403: _("You are not allowed to do this."),
        404: _("Not found, or you may not see it."),
        405: _("This action is not available here."),
        413: _("What you sent is too large."),
    }
    status = exc.code or 500
    if status in (301, 302, 303, 307, 308):
        return exc  # type: ignore[return-value]
    return error_page(status, messages.get(status, _("The request could not be handled.")))


def database_error_page(exc: DBAPIError) -> ResponseReturnValue:
    """A retryable database failure (store.db.retryable) is the outage page; any other a 500."""
    return unavailable_page() if retryable(exc) else unexpected_error_page(exc)


def unavailable_page() -> ResponseReturnValue:
    """The database was briefly out of reach or busy: a page that needs none of it (no user, no
    locale), in both languages, reloading itself after Retry-After."""
    retry_after = RETRY_AFTER_SECONDS
    headers = {"Retry-After": str(retry_after)}
    if is_htmx():
        message = "系统暂时忙，这次操作没有生效，请稍后重试。"
        headers["HX-Trigger"] = events_header({"crm-toast": {"message": message, "level": "error"}})
        headers["HX-Reswap"] = "none"
        return Response(message, status=503, headers=headers, mimetype="text/plain")
    return render_template("unavailable.html", retry_after=retry_after), 503, headers


def unexpected_error_page(exc: Exception) -> ResponseReturnValue:
    current_app.logger.exception("unhandled error on %s %s", request.method, request.path)
    return error_page(500, _("Something went wrong on our side; it has been logged. Please try again."))


@login_manager.unauthorized_handler
def unauthorized() -> ResponseReturnValue:
    target = url_for("auth.login", next=request.full_path.rstrip("?") if request.method == "GET" else None)
    if is_htmx():
        return Response(status=401, headers={"HX-Redirect": target})
    return redirect(target)


# --- template helpers ------------------------------------------------------------------------


# The CLDR date fields the templates use, as strftime's: numbers only, the same in every locale.
_NUMERIC_FIELDS = {"yyyy": "%Y", "MM": "%m", "dd": "%d", "HH": "%H", "mm": "%M", "ss": "%S"}


@lru_cache(maxsize=64)
def _strftime_pattern(fmt: str) -> str | None:
    """The strftime pattern of a CLDR pattern made of numeric fields and punctuation; None for any
    other (a month's name, a quoted literal), which Babel formats."""
    parts = []
    for part in re.findall(r"[A-Za-z]+|[^A-Za-z]+", fmt):
        if part[0].isalpha():
            if part not in _NUMERIC_FIELDS:
                return None
            parts.append(_NUMERIC_FIELDS[part])
        elif "'" in part:
            return None
        else:
            parts.append(part.replace("%", "%%"))
    return "".join(parts)


# A value no id ever has, digits so that every converter (string, int, uuid) builds it.
_ROW_MARK = 1_000_000_007_000_000_003
_PATH_SAFE = "!$&'()*+,/:;=@"  # what werkzeug's converters leave unquoted in a path


def row_url(endpoint: str, key: str, **values: Any) -> Callable[[Any], str]:
    """One url_for for a whole table's links to `endpoint`: each row's `key` (an id, in the path)
    put where the marker was built. url_for per row was a tenth of a worklist page's rendering."""
    head, mark, tail = url_for(endpoint, **values, **{key: _ROW_MARK}).partition(str(_ROW_MARK))
    if not mark or "?" in head:
        raise ValueError(f"{endpoint}: {key} is not part of its address's path")
    return lambda value: head + quote(str(value), safe=_PATH_SAFE) + tail


def local_time(value: datetime | None, fmt: str = "yyyy-MM-dd HH:mm") -> str:
    """A UTC time from the database, shown in the product's time zone (`WORKING_TIMEZONE`, Flask-Babel's).

    Numeric patterns go through strftime: Babel's format_datetime cost a fifth of a worklist
    page's rendering (two times per row); the result is the same (tests/webui/test_local_time.py)."""
    value = aware(value)
    if value is None:
        return ""
    pattern = _strftime_pattern(fmt)
    if pattern is None:
        return format_datetime(value, fmt)
    return value.astimezone(eng().settings.timezone).strftime(pattern)


def relative_time(value: datetime | None) -> str:
    """How far a time is from now ("in 3 days", "2 小时前"), as Babel's format_timedelta says it."""
    value = aware(value)
    if value is None:
        return ""
    seconds = (value - eng().clock()).total_seconds()
    # The text depends only on the unit Babel picks, its rounded count and the direction: made
    # once per process for each (a worklist page shows 25, Babel took a twentieth of its time).
    key = (i18n.locale_name(), *_timedelta_unit(seconds, "minute", RELATIVE_THRESHOLD), seconds >= 0)
    text = _relative_texts.get(key)
    if text is None:
        text = format_timedelta(timedelta(seconds=seconds), granularity="minute", add_direction=True, threshold=RELATIVE_THRESHOLD)
        if len(_relative_texts) < 10_000:
            _relative_texts[key] = text
    return text


RELATIVE_THRESHOLD = 1.1  # "1 day" from 26.4 hours on, "25 hours" before
_relative_texts: dict[tuple[Any, ...], str] = {}


def _timedelta_unit(seconds: float, granularity: str, threshold: float) -> tuple[str, int]:
    """The unit and count babel.dates.format_timedelta shows for `seconds` (its own choice, kept
    in step by tests/webui/test_relative_time.py)."""
    for unit, per_unit in TIMEDELTA_UNITS:
        value = abs(seconds) / per_unit
        if value >= threshold or unit == granularity:
            if unit == granularity and value > 0:
                value = max(1, value)
            return unit, round(value)
    return "second", 0


def due_state(due_at: datetime | None) -> str | None:
    """'overdue', 'soon' (within 24 hours) or None: the worklist badges."""
    due = aware(due_at)
    if due is None:
        return None
    now = eng().clock()
    if due < now:
        return "overdue"
    return "soon" if due - now <= SOON else None


def money(amount: Any, currency: str | None = "CNY") -> str:
    if amount is None or amount == "" or isinstance(amount, bool):
        return ""
    try:
        value = Decimal(str(amount))
    except ArithmeticError:
        return str(amount)
    if not value.is_finite():
        return str(amount)
    # Babel's "#,##0.00" through format(): the same text (tests/webui/test_money.py), a tenth of the time.
    text = f"{value:,.2f}".translate(i18n.number_symbols())
    symbol = {"CNY": "¥", "RMB": "¥", "USD": "US$", "EUR": "€"}.get((currency or "CNY").upper())
    return f"{symbol}{text}" if symbol else f"{text} {currency}"


def display_names() -> dict[str, str]:
    """Display names of every user, loaded once per request (organisations are small)."""
    if "people" not in g:
        g.people = eng().identity.display_names(page_session())
    return g.people  # type: ignore[no-any-return]


def person(username: str | None) -> str:
    if not username:
        return ""
    return display_names().get(username, username)


def role_names(roles: str | Iterable[str]) -> str:
    items = [r for r in (roles.split(",") if isinstance(roles, str) else roles) if r]
    if "role_labels" not in g:
        g.role_labels = eng().identity.role_labels(page_session())
    separator = ", " if labels.english() else "、"
    return separator.join(labels.role_label(r, g.role_labels.get(r)) for r in items)


def process_title(key: str, name: str | None = None) -> str:
    """A process's name in the user's language; without a name given, the latest version's."""
    if name is None:
        if "process_names" not in g:
            g.process_names = eng().repository.latest_names(page_session())
        name = g.process_names.get(key)
    return labels.process_name(key, name)


def unread_count() -> int:
    if not current_user.is_authenticated:
        return 0
    if "unread" not in g:
        g.unread = inbox().unread(page_session(), current_user.username)
    return g.unread  # type: ignore[no-any-return]


def form_value(value: Any) -> str:
    """A value as an input shows it: 80000.0 as 80000, nothing as an empty box."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def may_see_receivables() -> bool:
    """Whether the header offers the receivables board (engine.authorization decides)."""
    return current_user.is_authenticated and eng().authorization.may_see_receivables(actor())


def may_monitor() -> bool:
    """Whether the header offers the monitor (engine.authorization decides; asked once a request)."""
    if not current_user.is_authenticated:
        return False
    if "may_monitor" not in g:
        g.may_monitor = eng().authorization.may_monitor(page_session(), actor())
    return bool(g.may_monitor)


def may_budget() -> bool:
    """Whether the header offers the department budgets (engine.authorization decides)."""
    return bool(current_user.is_authenticated) and eng().authorization.may_budget(actor())


def duration(seconds: float | None) -> str:
    """How long a step takes, as people say it (3 小时, 2 天); a dash when nothing was measured."""
    if seconds is None:
        return "—"
    return format_timedelta(timedelta(seconds=seconds), granularity="minute", threshold=1.1)


def filesize(size: int) -> str:
    """A file's size as people read it: 812 B, 34 KB, 2.4 MB."""
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{format_decimal(round(size / 1024))} KB"
    return f"{format_decimal(round(size / (1024 * 1024), 1))} MB"


def count_label(total: int) -> str:
    """A list's total in the locale's digits; a total that stopped at its cap (instance_search.Total)
    as "10,000+"."""
    text = format_decimal(total)
    return text if getattr(total, "exact", True) else text + "+"


def register_template_helpers(app: Flask) -> None:
    helpers: dict[str, Callable[..., Any]] = {
        "local_time": local_time,
        "row_url": row_url,
        "relative_time": relative_time,
        "due_state": due_state,
        "money": money,
        "person": person,
        "role_names": role_names,
        "process_name": process_title,
        "task_name": labels.task_name,
        "option_label": labels.option_label,
        "field_label": labels.field_label,
        "field_error": labels.field_error,
        "action_label": labels.action_label,
        "notification_kind": labels.notification_kind,
        "status_label": labels.status_label,
        "outcome_label": labels.outcome_label,
        "customer_status": labels.customer_status,
        "activity_kind": labels.activity_kind,
        "timeline_kind": labels.timeline_kind,
        "stage_label": labels.stage_label,
        "unread_count": unread_count,
        "may_see_receivables": may_see_receivables,
        "may_monitor": may_monitor,
        "may_budget": may_budget,
        "job_kind": labels.job_kind,
        "duration": duration,
        "count_label": count_label,
        "filesize": filesize,
        "iso": iso,
    }
    app.jinja_env.globals.update(helpers)
    app.jinja_env.globals["labels_customer"] = labels.CUSTOMER_FIELDS
    app.context_processor(lambda: {"english": labels.english()})
    app.jinja_env.filters["local_time"] = local_time
    app.jinja_env.filters["money"] = money
    app.jinja_env.filters["form_value"] = form_value
