"""Every setting of the product, read from the environment here and nowhere else.

`Settings.from_environ` parses and checks each variable once, at start-up: a value that is not
understood stops the app with a message naming the variable, rather than being taken for a default
(a `SCHEDULER_ENABLED=flase` that silently leaves timers running). Booleans accept 1/0, true/false,
yes/no and on/off in any case, and nothing else. One time zone, `WORKING_TIMEZONE`, places working
hours, the worklist's "today" and "this week", and every time shown on the pages.

Alembic's `store/migrations/env.py` still reads `DATABASE_URL` for itself when run by hand: the
store knows nothing of the engine.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})


class ConfigError(ValueError):
    """A setting that cannot be used; the message names the variable and what it accepts."""


def parse_boolean(name: str, text: str) -> bool:
    word = text.strip().lower()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    raise ConfigError(f"{name}={text!r} is not a yes or no: use 1/0, true/false, yes/no or on/off")


def parse_int(name: str, text: str, low: int, high: int) -> int:
    try:
        value = int(text.strip())
    except ValueError:
        raise ConfigError(f"{name}={text!r} is not a whole number") from None
    if not low <= value <= high:
        raise ConfigError(f"{name}={value} must be between {low} and {high}")
    return value


def parse_seconds(name: str, text: str, low: float, high: float) -> float:
    try:
        value = float(text.strip())
    except ValueError:
        raise ConfigError(f"{name}={text!r} is not a number of seconds") from None
    if not low <= value <= high:
        raise ConfigError(f"{name}={value:g} must be between {low:g} and {high:g} seconds")
    return value


def parse_directory(name: str, text: str | None) -> str | None:
    """An absolute directory (made when first written to), or None when unset."""
    if text is None:
        return None
    path = text.strip()
    if not os.path.isabs(path):
        raise ConfigError(f"{name}={text!r} must be an absolute directory (e.g. /var/lib/crmflow/files)")
    if os.path.exists(path) and not os.path.isdir(path):
        raise ConfigError(f"{name}={text!r} is a file, not a directory")
    return os.path.normpath(path)


def parse_zone(name: str, text: str) -> ZoneInfo:
    try:
        return ZoneInfo(text.strip())
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"{name}={text!r} is not a time zone such as Asia/Shanghai") from None


@dataclass(frozen=True)
class WorkingHours:
    """The working day of the business calendar, in the company's time zone."""

    start: time = time(9, 0)
    end: time = time(18, 0)
    zone: str = "Asia/Shanghai"

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.zone)

    @property
    def day_length(self) -> timedelta:
        return datetime.combine(date.min, self.end) - datetime.combine(date.min, self.start)


def parse_hours(name: str, text: str, zone: str) -> WorkingHours:
    start, _, end = text.partition("-")
    try:
        hours = WorkingHours(time.fromisoformat(start.strip()), time.fromisoformat(end.strip()), zone)
    except ValueError:
        raise ConfigError(f"{name}={text!r} is not a span of hours such as 09:00-18:00") from None
    if hours.day_length <= timedelta(0):
        raise ConfigError(f"{name}={text!r} must end after it starts")
    return hours


@dataclass(frozen=True)
class MailSettings:
    """SMTP delivery of notifications; none at all when `SMTP_HOST` is unset."""

    host: str
    port: int = 25
    username: str | None = None
    password: str | None = None
    sender: str = "crmflow@localhost"
    sender_name: str = "CRMFlow"
    starttls: bool = False
    timeout: float = 10.0
    base_url: str = "http://127.0.0.1:5000"


@dataclass(frozen=True)
class DatabaseLimits:
    """How long one PostgreSQL connection may wait, or keep others waiting, before it gives up:
    what bounds recovery from a lost host, a cut link or a database restart (README "Faults").

    A request waiting on a lock held by a host that vanished gets a retryable 503 after
    `lock_timeout`; the vanished host's own session is ended by the server once it sat idle in its
    transaction for `idle_in_transaction` or its socket went unanswered for `tcp_timeout`, which
    releases its locks; the app's side of a cut socket fails after `tcp_timeout` too (keepalives
    and TCP_USER_TIMEOUT on both ends) instead of hanging. 0 turns a limit off.
    """

    connect_timeout: float = 5.0
    lock_timeout: float = 10.0
    statement_timeout: float = 0.0
    idle_in_transaction: float = 30.0
    tcp_timeout: float = 15.0


@dataclass(frozen=True)
class Settings:
    database_url: str | None = None
    secret_key: str | None = None
    scheduler_enabled: bool = True
    scheduler_interval: float = 5.0
    session_cookie_secure: bool = False
    base_url: str = "http://127.0.0.1:5000"
    mail: MailSettings | None = None
    working_hours: WorkingHours = field(default_factory=WorkingHours)
    login_max_failures_per_user: int = 5  # per account from one address
    login_max_failures_per_account: int = 50  # per account from everywhere: the backstop
    login_max_failures_per_address: int = 30
    worklist_page_size: int = 25
    sandbox_workers: int = 2  # sandbox processes per app process for non-trivial expressions and scripts
    attachment_max_bytes: int = 10 * 1024 * 1024  # one attached file (413 beyond)
    # Where attached files' bytes go: None keeps them in the database (the embedded set-up stays
    # one file); an absolute directory stores them there (engine.services.file_store), shared
    # storage when several hosts run the app.
    attachment_dir: str | None = None
    database_limits: DatabaseLimits = field(default_factory=DatabaseLimits)
    # How long a worker holds the jobs it claimed: a worker that died or was cut off gives them up
    # after this long and another worker takes them over (engine.services.management).
    job_lease: float = 120.0

    @property
    def timezone(self) -> ZoneInfo:
        """The one time zone of the product (`WORKING_TIMEZONE`)."""
        return self.working_hours.tz

    def but(self, **changes: Any) -> Settings:
        """The same settings with some changed (tests, and create_app's overrides)."""
        return replace(self, **changes)

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ

        def text(name: str) -> str | None:
            value = env.get(name)
            return value if value is not None and value.strip() else None

        defaults = cls()
        zone = text("WORKING_TIMEZONE")
        if zone is not None:
            parse_zone("WORKING_TIMEZONE", zone)
        zone_name = zone.strip() if zone else defaults.working_hours.zone
        hours_text = text("WORKING_HOURS")
        base_url = (text("BASE_URL") or defaults.base_url).rstrip("/")
        mail = None
        host = text("SMTP_HOST")
        if host:
            port, starttls = text("SMTP_PORT"), text("SMTP_STARTTLS")
            mail = MailSettings(
                host=host.strip(),
                port=parse_int("SMTP_PORT", port, 1, 65535) if port else 25,
                username=text("SMTP_USER"),
                password=text("SMTP_PASSWORD"),
                sender=text("SMTP_FROM") or "crmflow@localhost",
                starttls=parse_boolean("SMTP_STARTTLS", starttls) if starttls else False,
                base_url=base_url,
            )
        flags = {name: text(name) for name in ("SCHEDULER_ENABLED", "SESSION_COOKIE_SECURE")}
        numbers = {
            name: text(name)
            for name in (
                "SCHEDULER_INTERVAL",
                "LOGIN_MAX_FAILURES_PER_USER",
                "LOGIN_MAX_FAILURES_PER_ACCOUNT",
                "LOGIN_MAX_FAILURES_PER_ADDRESS",
                "WORKLIST_PAGE_SIZE",
                "SANDBOX_WORKERS",
                "ATTACHMENT_MAX_BYTES",
            )
        }
        seconds = {name: text(name) for name in (*_LIMITS, "JOB_LEASE")}
        return cls(
            database_url=text("DATABASE_URL"),
            secret_key=text("SECRET_KEY"),
            scheduler_enabled=parse_boolean("SCHEDULER_ENABLED", flags["SCHEDULER_ENABLED"])
            if flags["SCHEDULER_ENABLED"]
            else defaults.scheduler_enabled,
            scheduler_interval=parse_seconds("SCHEDULER_INTERVAL", numbers["SCHEDULER_INTERVAL"], 0.1, 3600)
            if numbers["SCHEDULER_INTERVAL"]
            else defaults.scheduler_interval,
            session_cookie_secure=parse_boolean("SESSION_COOKIE_SECURE", flags["SESSION_COOKIE_SECURE"])
            if flags["SESSION_COOKIE_SECURE"]
            else defaults.session_cookie_secure,
            base_url=base_url,
            mail=mail,
            working_hours=parse_hours("WORKING_HOURS", hours_text, zone_name)
            if hours_text
            else replace(defaults.working_hours, zone=zone_name),
            login_max_failures_per_user=_number(
                numbers, "LOGIN_MAX_FAILURES_PER_USER", 1, 1_000_000_000, defaults.login_max_failures_per_user
            ),
            login_max_failures_per_account=_number(
                numbers, "LOGIN_MAX_FAILURES_PER_ACCOUNT", 1, 1_000_000_000, defaults.login_max_failures_per_account
            ),
            login_max_failures_per_address=_number(
                numbers, "LOGIN_MAX_FAILURES_PER_ADDRESS", 1, 1_000_000_000, defaults.login_max_failures_per_address
            ),
            worklist_page_size=_number(numbers, "WORKLIST_PAGE_SIZE", 1, 500, defaults.worklist_page_size),
            attachment_max_bytes=_number(numbers, "ATTACHMENT_MAX_BYTES", 1, 10 * 1024 * 1024, defaults.attachment_max_bytes),
            sandbox_workers=_number(numbers, "SANDBOX_WORKERS", 1, 64, defaults.sandbox_workers),
            attachment_dir=parse_directory("ATTACHMENT_DIR", text("ATTACHMENT_DIR")),
            database_limits=DatabaseLimits(
                **{
                    attribute: parse_seconds(name, seconds[name], 0, 3600)
                    if seconds[name]
                    else getattr(defaults.database_limits, attribute)
                    for name, attribute in _LIMITS.items()
                }
            ),
            job_lease=parse_seconds("JOB_LEASE", seconds["JOB_LEASE"], 5, 86400) if seconds["JOB_LEASE"] else defaults.job_lease,
        )


# The variables of DatabaseLimits, in seconds.
_LIMITS = {
    "DATABASE_CONNECT_TIMEOUT": "connect_timeout",
    "DATABASE_LOCK_TIMEOUT": "lock_timeout",
    "DATABASE_STATEMENT_TIMEOUT": "statement_timeout",
    "DATABASE_IDLE_IN_TRANSACTION_TIMEOUT": "idle_in_transaction",
    "DATABASE_TCP_TIMEOUT": "tcp_timeout",
}


def _number(found: Mapping[str, str | None], name: str, low: int, high: int, default: int) -> int:
    value = found[name]
    return parse_int(name, value, low, high) if value else default


_CURRENT: list[Settings] = []


def current() -> Settings:
    """The settings of this process, from its environment (read once); engine code that has no
    ProcessEngine at hand (the business calendar inside a timer) reads them here."""
    if not _CURRENT:
        _CURRENT.append(Settings.from_environ())
    return _CURRENT[0]


def use(settings: Settings) -> None:
    """Make these the process's settings (create_app does, so its overrides reach everything)."""
    _CURRENT[:] = [settings]
