"""Settings come from the environment in one place (engine.config), and a value that is not
understood stops the app with a message naming it, instead of being taken for a default."""

from __future__ import annotations

from datetime import UTC, datetime, time
from pathlib import Path

import pytest

from app import create_app
from engine import config
from engine.config import ConfigError, DatabaseLimits, Settings, parse_boolean
from engine.services.worklist import local_day_bounds
from webui.ui import local_time


@pytest.mark.parametrize(
    ("text", "value"),
    [("1", True), ("true", True), (" Yes ", True), ("ON", True), ("0", False), ("false", False), ("No", False), ("off", False)],
)
def test_one_boolean_parser_accepts_the_usual_words(text: str, value: bool) -> None:
    assert parse_boolean("X", text) is value


@pytest.mark.parametrize("text", ["flase", "2", "enabled", "y", "真"])
def test_and_refuses_every_other_word(text: str) -> None:
    with pytest.raises(ConfigError, match=r"X=.*1/0, true/false, yes/no or on/off"):
        parse_boolean("X", text)


def test_every_variable_is_read() -> None:
    settings = Settings.from_environ(
        {
            "DATABASE_URL": "postgresql+psycopg://crm@db/crm",
            "SECRET_KEY": "k",
            "SCHEDULER_ENABLED": "off",
            "SCHEDULER_INTERVAL": "2.5",
            "SESSION_COOKIE_SECURE": "yes",
            "BASE_URL": "https://crm.example.cn/",
            "SMTP_HOST": "mail.example.cn",
            "SMTP_PORT": "587",
            "SMTP_USER": "crm",
            "SMTP_PASSWORD": "secret",
            "SMTP_FROM": "crm@example.cn",
            "SMTP_STARTTLS": "true",
            "WORKING_HOURS": "08:30-17:30",
            "WORKING_TIMEZONE": "Asia/Urumqi",
            "LOGIN_MAX_FAILURES_PER_USER": "7",
            "LOGIN_MAX_FAILURES_PER_ADDRESS": "70",
            "WORKLIST_PAGE_SIZE": "40",
        }
    )
    assert (settings.database_url, settings.secret_key, settings.scheduler_enabled, settings.scheduler_interval) == (
        "postgresql+psycopg://crm@db/crm",
        "k",
        False,
        2.5,
    )
    assert settings.session_cookie_secure and settings.base_url == "https://crm.example.cn"
    assert settings.mail is not None
    assert (settings.mail.host, settings.mail.port, settings.mail.username, settings.mail.password) == (
        "mail.example.cn",
        587,
        "crm",
        "secret",
    )
    assert (settings.mail.sender, settings.mail.starttls, settings.mail.base_url) == ("crm@example.cn", True, "https://crm.example.cn")
    hours = settings.working_hours
    assert (hours.start, hours.end, hours.zone) == (time(8, 30), time(17, 30), "Asia/Urumqi")
    assert (settings.login_max_failures_per_user, settings.login_max_failures_per_address, settings.worklist_page_size) == (7, 70, 40)


def test_the_limits_that_bound_recovery_from_faults_are_read_in_seconds() -> None:
    settings = Settings.from_environ(
        {
            "DATABASE_CONNECT_TIMEOUT": "3",
            "DATABASE_LOCK_TIMEOUT": "4.5",
            "DATABASE_STATEMENT_TIMEOUT": "60",
            "DATABASE_IDLE_IN_TRANSACTION_TIMEOUT": "0",
            "DATABASE_TCP_TIMEOUT": "9",
            "JOB_LEASE": "30",
        }
    )
    assert settings.database_limits == DatabaseLimits(
        connect_timeout=3, lock_timeout=4.5, statement_timeout=60, idle_in_transaction=0, tcp_timeout=9
    )
    assert settings.job_lease == 30


def test_nothing_set_means_the_documented_defaults() -> None:
    settings = Settings.from_environ({})
    assert settings.mail is None and settings.scheduler_enabled and settings.worklist_page_size == 25
    assert settings.database_limits == DatabaseLimits(5, 10, 0, 30, 15) and settings.job_lease == 120
    assert settings.working_hours.zone == "Asia/Shanghai" and settings.working_hours.start == time(9, 0)


@pytest.mark.parametrize(
    ("name", "value", "needle"),
    [
        ("SCHEDULER_ENABLED", "flase", "SCHEDULER_ENABLED"),
        ("SMTP_STARTTLS", "si", "SMTP_STARTTLS"),
        ("SCHEDULER_INTERVAL", "fast", "seconds"),
        ("WORKLIST_PAGE_SIZE", "0", "between 1 and 500"),
        ("WORKING_TIMEZONE", "Mars/Olympus", "time zone"),
        ("WORKING_HOURS", "18:00-09:00", "end after it starts"),
        ("WORKING_HOURS", "nine to six", "span of hours"),
        ("DATABASE_LOCK_TIMEOUT", "soon", "DATABASE_LOCK_TIMEOUT"),
        ("DATABASE_TCP_TIMEOUT", "-1", "between 0 and 3600"),
        ("JOB_LEASE", "1", "between 5 and 86400"),
    ],
)
def test_a_bad_value_stops_the_app_with_a_message_naming_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, name: str, value: str, needle: str
) -> None:
    env = {"SMTP_HOST": "mail.example.cn"} if name.startswith("SMTP") else {}
    with pytest.raises(ConfigError, match=needle):
        Settings.from_environ({**env, name: value})
    for key, text in {**env, name: value}.items():
        monkeypatch.setenv(key, text)
    with pytest.raises(SystemExit) as stopped:
        create_app({"TESTING": True, "DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}"})
    assert str(stopped.value).startswith("crmflow: ") and name in str(stopped.value)


def test_the_one_time_zone_places_today_and_the_times_shown(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    moment = datetime(2026, 12, 6, 3, 30, tzinfo=UTC)  # Sunday 11:30 in Shanghai, Saturday 22:30 in New York
    shanghai, _tomorrow, _week = local_day_bounds(moment, Settings.from_environ({}).timezone)
    new_york, _tomorrow, _week = local_day_bounds(moment, Settings.from_environ({"WORKING_TIMEZONE": "America/New_York"}).timezone)
    assert shanghai == datetime(2026, 12, 5, 16, 0, tzinfo=UTC)  # 6 December 00:00 +08:00
    assert new_york == datetime(2026, 12, 5, 5, 0, tzinfo=UTC)  # 5 December 00:00 -05:00
    before = config.current()
    monkeypatch.setenv("WORKING_TIMEZONE", "America/New_York")
    try:
        app = create_app({"TESTING": True, "DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}", "SCHEDULER_ENABLED": False})
        with app.test_request_context("/"):
            assert local_time(moment) == "2026-12-05 22:30"
        assert app.extensions["crmflow"].settings.timezone.key == "America/New_York"
        assert config.current().timezone.key == "America/New_York"  # the business calendar's too
    finally:
        config.use(before)
