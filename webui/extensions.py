"""Browser sessions, CSRF and languages for the server-rendered pages (the REST API keeps its
bearer tokens and is exempt from CSRF: it has no cookies to ride on)."""

from __future__ import annotations

from datetime import timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

from babel import Locale
from flask import Flask, current_app, g, request, session
from flask_babel import Babel
from flask_login import LoginManager, UserMixin
from flask_wtf.csrf import CSRFProtect
from sqlalchemy.orm import Session

from engine.process_engine import ProcessEngine
from engine.services.identity import Actor
from store.models import User
from webui import i18n

LOCALES = ("zh_CN", "en")
DEFAULT_LOCALE = "zh_CN"  # the demo organisation is Chinese
TRANSLATIONS = Path(__file__).parent / "translations"

login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()


class WebUser(UserMixin):
    """The logged-in user as the pages need it; rebuilt from the database on every request."""

    def __init__(self, user: User, session_secret: str) -> None:
        self.user_id = user.id
        self.username = user.username
        self.display_name = user.display_name or user.username
        self.locale = user.locale if user.locale in LOCALES else DEFAULT_LOCALE
        self.roles = frozenset(user.role_names)
        # The secret of the server-side session record (identity.start_session): what the signed
        # cookie carries. Logout, a password reset or deactivation deletes the record.
        self._session_id = session_secret

    def get_id(self) -> str:
        return self._session_id

    @property
    def actor(self) -> Actor:
        return Actor(self.user_id, self.username, self.roles)

    @property
    def is_admin(self) -> bool:
        return "admin" in self.roles


def engine() -> ProcessEngine:
    """The app's process engine (set by app.create_app); pages, API and health checks all use this."""
    return current_app.extensions["crmflow"]  # type: ignore[no-any-return]


def page_session() -> Session:
    """The request's read-only session for what a page shows around its content: the header's
    menus and badges, people's names, role and process labels, and a read-only page's own
    lists. One connection for all of them instead of one each (a checkout and a rollback per
    helper), and one memo (authorization asks for a user's reports more than once).

    Opened on first use, so after whatever the request wrote, and closed when the request ends.
    Never for writes: those keep their own transaction (`engine.db.transaction()`)."""
    found = g.get("_page_session")
    if found is None:
        found = g._page_session = engine().db.sessions()
    return found  # type: ignore[no-any-return]


def _close_page_session(_exc: BaseException | None) -> None:
    found = g.pop("_page_session", None)
    if found is not None:
        found.close()


@login_manager.user_loader
def load_user(session_secret: str) -> WebUser | None:
    if not session_secret or len(session_secret) > 128:
        return None
    with engine().db.sessions() as db:
        user = engine().identity.user_for_session(db, session_secret)
        return WebUser(user, session_secret) if user is not None else None


def select_locale() -> Locale:
    """The user's language, else the one chosen on the login page, else the browser's."""
    from flask_login import current_user

    if current_user and current_user.is_authenticated:
        return _locale(current_user.locale)
    chosen = session.get("locale")
    if chosen in LOCALES:
        return _locale(chosen)
    return _locale(request.accept_languages.best_match(LOCALES, default=DEFAULT_LOCALE) or DEFAULT_LOCALE)


@lru_cache(maxsize=16)
def _locale(name: str) -> Locale:
    """Parsed once per process: Babel's Locale.parse looks for the locale's data file on disk each time."""
    return Locale.parse(name)


def init_extensions(app: Flask) -> None:
    """Flask-Login, CSRF on every state-changing form (API exempt), Flask-Babel, cookie hardening."""
    settings = app.extensions["crmflow"].settings
    zone = settings.working_hours.zone  # the one time zone: deadlines, "today" and the times shown
    defaults: dict[str, Any] = {
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": settings.session_cookie_secure,
        "SESSION_COOKIE_NAME": "crmflow_session",
        "PERMANENT_SESSION_LIFETIME": timedelta(hours=12),
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        # A worklist left open all day must still accept its forms: tokens live as long as the session.
        "WTF_CSRF_TIME_LIMIT": None,
        "BABEL_DEFAULT_LOCALE": DEFAULT_LOCALE,
        "BABEL_DEFAULT_TIMEZONE": zone,
        "BABEL_TRANSLATION_DIRECTORIES": str(TRANSLATIONS),
    }
    # Flask ships its own (weaker) defaults for the cookie settings, so these are set, not defaulted.
    app.config.update(defaults)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.session_protection = "basic"
    csrf.init_app(app)
    from webui.api import bp as api_bp

    csrf.exempt(api_bp)
    babel.init_app(app, locale_selector=select_locale, timezone_selector=lambda: zone)
    i18n.init_app(app)
    app.teardown_appcontext(_close_page_session)
