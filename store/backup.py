"""Backups of the product's database, and restoring one (`flask --app app backup` / `restore`).

PostgreSQL: a standard `pg_dump --format=custom` archive, so `pg_restore` also works on it by
hand. SQLite: a copy made with SQLite's online backup API, which reads one consistent snapshot
without blocking the running app's writers (WAL). A file is checked completely before anything in
the target database is touched: a wrong, damaged or missing file changes nothing.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import quote

import psycopg
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect
from sqlalchemy.engine import URL, make_url

from store.schema import alembic_config

Kind = Literal["postgresql", "sqlite"]
KIND_NAMES: dict[Kind, str] = {"postgresql": "PostgreSQL", "sqlite": "SQLite"}
_MAGIC: dict[Kind, bytes] = {"postgresql": b"PGDMP", "sqlite": b"SQLite format 3\x00"}
_PG_FLAGS = ("--no-owner", "--no-privileges")  # restorable by any role that owns the target


class BackupError(Exception):
    """A backup or restore refused or failed; the message is one line meant for the operator."""


class TargetNotEmpty(BackupError):
    """The restore target already holds tables (restore with `clear=True` to replace them)."""


class DestinationExists(BackupError):
    """The backup file is there already (back up with `overwrite=True` to replace it)."""


@dataclass(frozen=True)
class BackupInfo:
    path: Path
    kind: Kind
    size: int
    revision: str | None  # the Alembic revision the backup holds


def kind_of_url(url: str) -> Kind:
    backend = make_url(url).get_backend_name()
    if backend not in ("postgresql", "sqlite"):
        raise BackupError(f"cannot back up a {backend} database: only PostgreSQL and SQLite")
    return backend  # type: ignore[return-value]


def head_revision() -> str | None:
    """The schema revision this code migrates to (`flask db-upgrade`)."""
    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


def is_known_revision(revision: str) -> bool:
    """Whether this code has the migration; a backup made by newer code may be past the head."""
    try:
        return ScriptDirectory.from_config(alembic_config("sqlite://")).get_revision(revision) is not None
    except Exception:  # alembic raises several kinds for an unknown or ambiguous id
        return False


def backup(url: str, dest: Path, *, overwrite: bool = False) -> BackupInfo:
    """Write a backup of the database at `url` to `dest`, then read it back to describe it.

    Written to a private (0600: it holds password hashes) temporary file beside `dest` and renamed
    into place only when complete, so a failed backup never leaves a partial file under the name.
    """
    kind = kind_of_url(url)
    if dest.exists() and not overwrite:
        raise DestinationExists(f"{dest} already exists")
    if dest.is_dir():
        raise BackupError(f"{dest} is a directory")
    if not dest.parent.is_dir():
        raise BackupError(f"directory {dest.parent} does not exist")
    fd, name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".partial")
    os.close(fd)
    tmp = Path(name)
    try:
        if kind == "postgresql":
            conninfo, env = libpq(url)
            _run(["pg_dump", "--format=custom", *_PG_FLAGS, f"--file={tmp}", f"--dbname={conninfo}"], env, "pg_dump")
        else:
            _sqlite_backup(_sqlite_path(url), tmp)
        info = describe(tmp, kind)
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)
    return BackupInfo(dest, info.kind, info.size, info.revision)


def restore(path: Path, url: str, *, clear: bool = False) -> BackupInfo:
    """Restore the backup at `path` into the database at `url`.

    The target must have no tables unless `clear`; then its content is replaced. The backup is
    checked first (kind, readable to the end, a CRMFlow schema), so a bad file changes nothing.
    PostgreSQL restores in one transaction: a restore that fails leaves the target as it was
    (with `clear`, the schema is cleared just before it, after the file passed every check).
    SQLite copies the pages in one write transaction of the target, so readers never see half.
    """
    kind = kind_of_url(url)
    info = describe(path, kind, full=True)
    if not clear and (tables := table_names(url)):
        raise TargetNotEmpty(f"{_show(url)} is not empty ({len(tables)} tables)")
    if kind == "postgresql":
        conninfo, env = libpq(url)
        if clear:
            _clear_postgres(conninfo, env)
        cmd = ["pg_restore", *_PG_FLAGS, "--exit-on-error", "--single-transaction", f"--dbname={conninfo}", str(path)]
        try:
            _run(cmd, env, "pg_restore")
        except BackupError as exc:
            raise BackupError(f"{exc} ({'the database was cleared and is empty now' if clear else 'nothing was restored'})") from exc
    else:
        _sqlite_restore(path, _sqlite_path(url))
    return info


def describe(path: Path, expected: Kind, *, full: bool = False) -> BackupInfo:
    """Check that `path` is a CRMFlow backup of the `expected` kind; its size and revision.

    `full` also reads a PostgreSQL archive's data to the end (a truncated copy fails here, not
    halfway through a restore); a SQLite copy is always checked page by page (`quick_check`).
    """
    if not path.is_file():
        raise BackupError(f"{path}: no such file")
    with path.open("rb") as f:
        head = f.read(16)
    kind = next((k for k, magic in _MAGIC.items() if head.startswith(magic)), None)
    if kind is None:
        raise BackupError(f"{path} is not a CRMFlow backup (neither a pg_dump custom-format archive nor a SQLite database)")
    if kind != expected:
        raise BackupError(f"{path} is a {KIND_NAMES[kind]} backup; it cannot be restored into a {KIND_NAMES[expected]} database")
    revision = _pg_revision(path, full) if kind == "postgresql" else _sqlite_revision(path)
    return BackupInfo(path, kind, path.stat().st_size, revision)


def table_names(url: str) -> list[str]:
    """The tables of the database's default schema (`public` on PostgreSQL)."""
    if kind_of_url(url) == "sqlite" and not Path(_sqlite_path(url)).exists():
        return []  # do not create the file just to look
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return inspect(conn).get_table_names()
    finally:
        engine.dispose()


def libpq(url: str) -> tuple[str, dict[str, str]]:
    """The libpq connection string for the PostgreSQL tools and their environment.

    The password goes in PGPASSWORD, not on the command line where `ps` would show it; the URL's
    query parameters (sslmode, options, ...) are libpq's own and pass through.
    """
    u: URL = make_url(url)
    params: dict[str, str] = {k: v if isinstance(v, str) else v[-1] for k, v in u.query.items()}
    for key, value in (("host", u.host), ("port", u.port), ("user", u.username), ("dbname", u.database)):
        if value is not None:
            params[key] = str(value)
    env = dict(os.environ)
    if u.password is not None:
        env["PGPASSWORD"] = str(u.password)
    return psycopg.conninfo.make_conninfo(**params), env


def _run(cmd: list[str], env: dict[str, str], tool: str) -> str:
    try:
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    except FileNotFoundError as exc:
        raise BackupError(f"{tool} not found on PATH: install the PostgreSQL client tools") from exc
    if done.returncode != 0:
        lines = [line.strip().removeprefix(f"{tool}: ").removeprefix("error: ") for line in done.stderr.splitlines() if line.strip()]
        raise BackupError(f"{tool} failed: {lines[0] if lines else f'exit status {done.returncode}'}")
    return done.stdout


def _pg_revision(path: Path, full: bool) -> str | None:
    """The revision from the archive's alembic_version data (read with pg_restore, no server)."""
    env = dict(os.environ)
    try:
        toc = _run(["pg_restore", "--list", str(path)], env, "pg_restore")
        if full:
            _run(["pg_restore", f"--file={os.devnull}", str(path)], env, "pg_restore")
    except BackupError as exc:
        raise BackupError(f"{path} is not a readable pg_dump archive ({exc})") from exc
    if not any(" TABLE DATA " in line and " alembic_version " in f"{line} " for line in toc.splitlines()):
        raise BackupError(f"{path} is a pg_dump archive but not of a CRMFlow database (no alembic_version table)")
    script = _run(["pg_restore", "--data-only", "--table=alembic_version", "--file=-", str(path)], env, "pg_restore")
    lines = iter(script.splitlines())
    for line in lines:
        if line.startswith("COPY ") and "alembic_version" in line:
            value = next(lines, "\\.")
            return None if value == "\\." else value.strip()
    return None


def _clear_postgres(conninfo: str, env: dict[str, str]) -> None:
    """Empty the target as a fresh database is: the public schema again, usable by every role."""
    with psycopg.connect(conninfo, password=env.get("PGPASSWORD")) as conn:  # one transaction
        conn.execute("DROP SCHEMA public CASCADE")
        conn.execute("CREATE SCHEMA public")
        conn.execute("GRANT USAGE ON SCHEMA public TO PUBLIC")


def _sqlite_path(url: str) -> str:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise BackupError("DATABASE_URL names no SQLite file")
    return database


@contextmanager
def _sqlite(path: str | Path, mode: Literal["ro", "rw", "rwc"]) -> Iterator[sqlite3.Connection]:
    """A connection by URI, so a missing file is an error (ro, rw) rather than silently created."""
    uri = f"file:{quote(str(Path(path).absolute()))}?mode={mode}"
    try:
        with closing(sqlite3.connect(uri, uri=True, timeout=30)) as conn:
            yield conn
    except sqlite3.Error as exc:
        raise BackupError(f"{path}: {exc}") from exc


def _sqlite_backup(source: str, dest: Path) -> None:
    """One step of the backup API: a single read transaction, so one consistent snapshot that
    never waits for the app's writers (WAL). The copy is set to rollback-journal mode so it is one
    self-contained file, readable without -wal/-shm companions."""
    if not Path(source).is_file():
        raise BackupError(f"{source}: no such SQLite database")
    with _sqlite(source, "ro") as src, _sqlite(dest, "rw") as dst:
        src.backup(dst)
        dst.execute("PRAGMA journal_mode=DELETE")


def _sqlite_revision(path: Path) -> str | None:
    with _sqlite(path, "ro") as conn:
        try:
            problems = [row[0] for row in conn.execute("PRAGMA quick_check")]
            if problems != ["ok"]:
                raise BackupError(f"{path} is a damaged SQLite database: {problems[0]}")
            if not conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'alembic_version'").fetchone():
                raise BackupError(f"{path} is a SQLite database but not of CRMFlow (no alembic_version table)")
            row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
        except sqlite3.DatabaseError as exc:
            raise BackupError(f"{path} is a damaged SQLite database: {exc}") from exc
    return None if row is None else str(row[0])


def _sqlite_restore(backup_file: Path, target: str) -> None:
    """The backup API again, from the backup into the target: the target's pages are replaced in
    one write transaction of the target (it waits up to 30 s for the app's writers), so a failure
    leaves it as it was. The target keeps WAL, as the app's connections set it."""
    Path(target).parent.mkdir(parents=True, exist_ok=True)
    with _sqlite(backup_file, "ro") as src, _sqlite(target, "rwc") as dst:
        try:
            src.backup(dst)
            dst.execute("PRAGMA journal_mode=WAL")
        except sqlite3.Error as exc:
            raise BackupError(f"restoring into {target} failed: {exc}") from exc


def _show(url: str) -> str:
    u = make_url(url)
    return f"SQLite database {u.database}" if u.get_backend_name() == "sqlite" else f"database {u.database} on {u.host or 'localhost'}"


__all__ = ["BackupError", "BackupInfo", "TargetNotEmpty", "backup", "describe", "head_revision", "restore", "table_names"]
