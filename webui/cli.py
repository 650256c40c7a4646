"""The `flask --app app` commands of the contract (docs/api.md): db-upgrade, seed-demo, deploy,
jobs run-due, backup and restore. `init_app` registers them, as flaskr's `db.init_app` registers its own."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

import click
from flask import Flask

from engine.errors import EngineError
from engine.process_engine import ProcessEngine

ADMIN_COMMANDS = ("db-upgrade", "seed-demo", "deploy", "jobs", "routes", "backup", "restore")


def is_admin_command(argv: list[str] | None = None) -> bool:
    """`flask db-upgrade`, `seed-demo`, `deploy`, `jobs`, `backup` and `restore` need no SECRET_KEY
    and start no ticker (a restore must not race a ticker of its own process)."""
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

    @app.cli.command("backup")
    @click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
    @click.option("--force", is_flag=True, help="overwrite FILE if it exists")
    def backup(file: Path, force: bool) -> None:
        """Write a backup of DATABASE_URL's database to FILE (PostgreSQL: a pg_dump custom-format
        archive; SQLite: a consistent copy, safe while the app runs)."""
        from store import backup as backups

        try:
            info = backups.backup(app.config["DATABASE_URL"], file, overwrite=force)
        except backups.DestinationExists as exc:
            raise click.ClickException(f"{exc}: pass --force to overwrite it") from exc
        except backups.BackupError as exc:
            raise click.ClickException(str(exc)) from exc
        click.echo(f"wrote {info.path}: {_size(info.size)}, {backups.KIND_NAMES[info.kind]} backup at revision {info.revision}")

    @app.cli.command("restore")
    @click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
    @click.option("--force", is_flag=True, help="replace the content of a database that is not empty")
    def restore(file: Path, force: bool) -> None:
        """Restore the backup FILE into DATABASE_URL's database, which must be empty (no tables)
        unless --force. A file that is not a backup of the right kind changes nothing."""
        from store import backup as backups

        try:
            info = backups.restore(file, app.config["DATABASE_URL"], clear=force)
        except backups.TargetNotEmpty as exc:
            raise click.ClickException(f"{exc}: restore into an empty database, or pass --force to replace its content") from exc
        except backups.BackupError as exc:
            raise click.ClickException(str(exc)) from exc
        click.echo(f"restored {file} ({_size(info.size)}) at revision {info.revision}")
        head = backups.head_revision()
        if info.revision == head:
            click.echo("the schema is current; a backup older than the code needs `flask --app app db-upgrade` after restoring")
        elif info.revision is not None and not backups.is_known_revision(info.revision):
            click.echo(f"revision {info.revision} is unknown to this code (at {head}): it was made by a newer CRMFlow; run that version")
        else:
            click.echo(f"this code's schema is at {head}: run `flask --app app db-upgrade` to bring the restored database up to it")

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


def _size(n: int) -> str:
    if n < 1024:
        return f"{n} bytes"
    size = n / 1024
    for unit in ("KB", "MB"):
        if size < 1024:
            return f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GB"
