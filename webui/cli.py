"""The `flask --app app` commands of the contract (docs/api.md): db-upgrade, seed-demo, deploy and
jobs run-due. `init_app` registers them, as flaskr's `db.init_app` registers its own."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

import click
from flask import Flask

from engine.errors import EngineError
from engine.process_engine import ProcessEngine

ADMIN_COMMANDS = ("db-upgrade", "seed-demo", "deploy", "jobs", "routes")


def is_admin_command(argv: list[str] | None = None) -> bool:
    """`flask db-upgrade`, `seed-demo`, `deploy` and `jobs` need no SECRET_KEY and start no ticker."""
    return any(cmd in (sys.argv[1:] if argv is None else argv) for cmd in ADMIN_COMMANDS)


def init_app(app: Flask) -> None:
    def engine() -> ProcessEngine:
        return app.extensions["crmflow"]  # type: ignore[no-any-return]

    @app.cli.command("db-upgrade")
    def db_upgrade() -> None:
        """Create or migrate the schema (Alembic) for DATABASE_URL."""
        from store.schema import upgrade

        before, after = upgrade(app.config["DATABASE_URL"])
        if before is None:
            click.echo(f"database created at revision {after}")
        elif before != after:
            click.echo(f"database migrated from revision {before} to {after}")
        else:
            click.echo(f"database is up to date (revision {after})")

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
    @click.option(
        "--instance", "instances", type=click.IntRange(1, 2_147_483_647), multiple=True, help="only this instance's jobs (repeatable)"
    )
    def run_due(now: str | None, instances: tuple[int, ...]) -> None:
        """Fire every job due at or before --now (of --instance only, and the jobs of no instance);
        prints how many fired."""
        from engine.services.management import run_due_jobs

        try:
            at = datetime.fromisoformat(now.replace("Z", "+00:00")) if now else None
        except ValueError as exc:
            raise click.BadParameter(f"'{now}' is not an ISO 8601 time, e.g. 2026-10-08T09:00:00+08:00", param_hint="--now") from exc
        if at is not None and at.tzinfo is None:
            at = at.replace(tzinfo=UTC)
        click.echo(f"fired {run_due_jobs(engine(), at, instances=instances or None)}")
