"""CRMFlow: the Flask application factory. Settings come from the environment (engine.config);
the `flask --app app` commands live in webui/cli.py."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

from flask import Flask

from engine import config
from engine.config import ConfigError, Settings
from engine.process_engine import ProcessEngine
from store.db import Database

MAX_UPLOAD_BYTES = 10 * 1024 * 1024
# Flask configuration keys a caller (the tests) may set, and the settings they stand for.
OVERRIDES = {
    "DATABASE_URL": "database_url",
    "SECRET_KEY": "secret_key",
    "SCHEDULER_ENABLED": "scheduler_enabled",
    "WORKLIST_PAGE_SIZE": "worklist_page_size",
}


def create_app(overrides: dict[str, Any] | None = None) -> Flask:
    app = Flask(__name__, instance_relative_config=True)
    try:
        settings = Settings.from_environ()
    except ConfigError as exc:
        raise SystemExit(f"crmflow: {exc}") from exc
    overrides = overrides or {}
    settings = settings.but(**{OVERRIDES[k]: v for k, v in overrides.items() if k in OVERRIDES})
    app.config.update({k: v for k, v in overrides.items() if k not in OVERRIDES})
    if not settings.database_url:
        settings = settings.but(database_url=f"sqlite:///{Path(app.instance_path) / 'crmflow.db'}")

    import processes  # noqa: F401  the shipped process packages register their parts and operations
    from webui import cli

    if not settings.secret_key:
        if not (app.debug or app.testing or cli.is_admin_command()):
            raise RuntimeError("SECRET_KEY is not set: refusing to start outside debug/test mode")
        settings = settings.but(secret_key="dev-only-insecure-key")
    config.use(settings)
    app.config.update(
        SECRET_KEY=settings.secret_key,
        DATABASE_URL=settings.database_url,
        MAX_CONTENT_LENGTH=MAX_UPLOAD_BYTES,
        WORKLIST_PAGE_SIZE=settings.worklist_page_size,
    )
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.json.ensure_ascii = False  # type: ignore[attr-defined]

    app.extensions["crmflow"] = ProcessEngine(
        Database(settings.database_url, limits=asdict(settings.database_limits)), mail=settings.mail, settings=settings
    )

    from webui import errors, register_blueprints, timing
    from webui.extensions import init_extensions

    timing.init_app(app)  # first: its hooks time everything the others do
    init_extensions(app)
    register_blueprints(app)
    errors.init_app(app)
    cli.init_app(app)
    if settings.scheduler_enabled and not app.testing and not cli.is_admin_command():
        _start_ticker(app, settings.scheduler_interval)
    return app


def _start_ticker(app: Flask, interval: float) -> None:
    """Fire due timers, reminders and email from this process (every process may do so)."""
    from engine.scheduler import JobTicker

    ticker = JobTicker(app.extensions["crmflow"], interval=interval)
    ticker.start()
    app.extensions["crmflow_ticker"] = ticker
