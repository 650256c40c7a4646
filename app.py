"""CRMFlow: the Flask application factory and the `flask --app app` commands."""

from __future__ import annotations

import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
from flask import Flask, jsonify, request
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException

from engine.errors import EngineError
from engine.mail import MailSettings
from engine.process_engine import ProcessEngine
from store.db import Database

MAX_UPLOAD_BYTES = 10 * 1024 * 1024


def _default_database_url(app: Flask) -> str:
    return f"sqlite:///{Path(app.instance_path) / 'crmflow.db'}"


def create_app(config: dict[str, Any] | None = None) -> Flask:
    app = Flask(__name__, instance_relative_config=True)
    app.config.update(
        SECRET_KEY=os.environ.get("SECRET_KEY"),
        DATABASE_URL=os.environ.get("DATABASE_URL"),
        MAX_CONTENT_LENGTH=MAX_UPLOAD_BYTES,
        SCHEDULER_ENABLED=os.environ.get("SCHEDULER_ENABLED", "1") not in ("0", "false", "no"),
    )
    if config:
        app.config.update(config)
    if not app.config["DATABASE_URL"]:
        app.config["DATABASE_URL"] = _default_database_url(app)
    if not app.config["SECRET_KEY"]:
        if not (app.debug or app.testing or _is_cli_admin_command()):
            raise RuntimeError("SECRET_KEY is not set: refusing to start outside debug/test mode")
        app.config["SECRET_KEY"] = "dev-only-insecure-key"
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.json.ensure_ascii = False  # type: ignore[attr-defined]

    db = Database(app.config["DATABASE_URL"])
    app.extensions["crmflow"] = ProcessEngine(db, mail=MailSettings.from_env())

    from webui import register_blueprints
    from webui.extensions import init_extensions

    init_extensions(app)
    register_blueprints(app)
    _register_api_errors(app)
    _register_commands(app)
    if app.config["SCHEDULER_ENABLED"] and not app.testing and not _is_cli_admin_command():
        _start_ticker(app)
    return app


def _start_ticker(app: Flask) -> None:
    """Fire due timers, reminders and email from this process (every process may do so)."""
    from engine.scheduler import JobTicker

    ticker = JobTicker(app.extensions["crmflow"], interval=float(os.environ.get("SCHEDULER_INTERVAL", "5")))
    ticker.start()
    app.extensions["crmflow_ticker"] = ticker


def _is_cli_admin_command() -> bool:
    """`flask db-upgrade`, `seed-demo`, `deploy` and `jobs` need no SECRET_KEY; serving does."""
    argv = sys.argv[1:]
    return any(cmd in argv for cmd in ("db-upgrade", "seed-demo", "deploy", "jobs", "routes"))


def _register_api_errors(app: Flask) -> None:
    from webui.api import unexpected_error

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> ResponseReturnValue:
        if request.path.startswith("/api/"):
            codes = {404: "not_found", 405: "method_not_allowed", 413: "too_large", 400: "bad_request"}
            status = exc.code or 500
            return jsonify(error=codes.get(status, "error"), message=exc.description or exc.name), status
        return exc

    @app.errorhandler(EngineError)
    def engine_error(exc: EngineError) -> ResponseReturnValue:
        return jsonify(error=exc.code, message=exc.message, **exc.extra), exc.status

    app.register_error_handler(Exception, unexpected_error)


def _register_commands(app: Flask) -> None:
    def engine() -> ProcessEngine:
        return app.extensions["crmflow"]  # type: ignore[no-any-return]

    @app.cli.command("db-upgrade")
    def db_upgrade() -> None:
        """Create or migrate the schema (Alembic) for DATABASE_URL."""
        from store.migrate import upgrade

        upgrade(app.config["DATABASE_URL"])
        click.echo("database is up to date")

    @app.cli.command("seed-demo")
    def seed_demo() -> None:
        """Create the demo organisation (password 'demo') and deploy the shipped processes."""
        from processes.demo import seed_demo as run

        created, deployed = run(engine())
        click.echo(f"users created: {created}")
        for d in deployed:
            click.echo(f"{d.kind} {d.key} version {d.version}{'' if d.new else ' (unchanged)'}")

    @app.cli.command("deploy")
    @click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
    def deploy(files: tuple[str, ...]) -> None:
        """Deploy BPMN/DMN files as new versions."""
        from engine.errors import InvalidDefinition

        try:
            deployed = engine().repository.deploy([(Path(f).name, Path(f).read_bytes()) for f in files], "cli")
        except InvalidDefinition as exc:
            for p in exc.problems:
                click.echo(f"{p['severity']}: {p['element_id'] or '-'}: {p['message']}", err=True)
            sys.exit(1)
        except EngineError as exc:
            click.echo(f"error: {exc.message}", err=True)
            sys.exit(1)
        for d in deployed:
            click.echo(f"{d.key} {d.version}")

    jobs = click.Group("jobs", help="Timers, reminders and escalations.")
    app.cli.add_command(jobs)

    @jobs.command("run-due")
    @click.option("--now", "now", default=None, help="ISO 8601 time to fire jobs up to (default: now)")
    def run_due(now: str | None) -> None:
        """Fire every job due at or before --now; prints how many fired."""
        from engine.services.management import run_due_jobs

        try:
            at = datetime.fromisoformat(now.replace("Z", "+00:00")) if now else None
        except ValueError as exc:
            raise click.BadParameter(f"'{now}' is not an ISO 8601 time, e.g. 2026-10-08T09:00:00+08:00", param_hint="--now") from exc
        if at is not None and at.tzinfo is None:
            at = at.replace(tzinfo=UTC)
        click.echo(f"fired {run_due_jobs(engine(), at)}")
