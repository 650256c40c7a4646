"""`flask backup` / `flask restore` on SQLite and PostgreSQL: a backup of a database with instances
waiting at user tasks restores into a new database where they finish with their history intact;
a non-empty target, a bad or missing file and an existing backup file are refused with one line
and nothing changes."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from click.testing import Result
from flask import Flask
from sqlalchemy import create_engine, func, inspect, select, table, update

from app import create_app
from engine.process_engine import ProcessEngine
from processes.demo import seed_demo
from store.backup import head_revision
from store.models import ProcessInstance, Task
from store.schema import alembic_config, current_revision, upgrade
from tests.conftest import FIXTURES

KINDS = ["sqlite", "postgresql"]
HISTORY = tuple[int, str, str | None, str | None]  # id, action, user, task_key


@dataclass
class Source:
    """A seeded database with race_review instances waiting at user tasks, and its backup."""

    url: str
    app: Flask
    backup: Path
    instances: list[int]
    history: dict[int, list[HISTORY]] = field(default_factory=dict)


def _app(url: str) -> Flask:
    return create_app({"TESTING": True, "DATABASE_URL": url, "SCHEDULER_ENABLED": False})


def _engine(app: Flask) -> ProcessEngine:
    return app.extensions["crmflow"]  # type: ignore[no-any-return]


def _cli(app: Flask, *args: str) -> Result:
    return app.test_cli_runner().invoke(args=list(args))


def _history(engine: ProcessEngine, instance_id: int) -> list[HISTORY]:
    with engine.db.sessions() as session:
        return [(e.id, e.action, e.user, e.task_key) for e in engine.history.for_instance(session, instance_id)]


def _snapshot(url: str) -> dict[str, int]:
    """Every table's row count and the revision: what a restore that changed anything changes."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            names = inspect(conn).get_table_names()
            counts = {name: conn.execute(select(func.count()).select_from(table(name))).scalar_one() for name in names}
    finally:
        engine.dispose()
    return {**counts, f"revision {current_revision(url)}": 0}


def _one_line_error(result: Result, *parts: str) -> None:
    assert result.exit_code == 1, result.output
    message = result.output.strip()
    assert message.startswith("Error: ") and "\n" not in message, message
    for part in parts:
        assert part in message, message


@pytest.fixture(scope="module")
def new_url(tmp_path_factory: pytest.TempPathFactory, pg_database: Callable[[], str]) -> Callable[[str], str]:
    """A fresh, empty database of a kind (a SQLite file not yet there: a new server)."""

    def make(kind: str) -> str:
        if kind == "sqlite":
            return f"sqlite:///{tmp_path_factory.mktemp('backup') / f'{secrets.token_hex(4)}.db'}"
        return pg_database()

    return make


@pytest.fixture
def app_on() -> Iterator[Callable[[str], Flask]]:
    """An app on a database of the test's; every one's connections closed at the end."""
    apps: list[Flask] = []

    def make(url: str) -> Flask:
        apps.append(_app(url))
        return apps[-1]

    yield make
    for app in apps:
        _engine(app).db.dispose()


@pytest.fixture(scope="module")
def sources(tmp_path_factory: pytest.TempPathFactory, new_url: Callable[[str], str]) -> Iterator[Callable[[str], Source]]:
    made: dict[str, Source] = {}
    apps: list[Flask] = []

    def get(kind: str) -> Source:
        if kind not in made:
            url = new_url(kind)
            upgrade(url)
            app = _app(url)
            apps.append(app)
            engine = _engine(app)
            seed_demo(engine)
            engine.repository.deploy([("race_review.bpmn", (FIXTURES / "race_review.bpmn").read_bytes())], "admin")
            with engine.db.sessions() as session:
                sales1, sales2 = engine.identity.actor(session, "sales1"), engine.identity.actor(session, "sales2")
            instances = [engine.runtime.start(sales1, "race_review", {}, f"B-{n}").id for n in range(3)]
            with engine.db.sessions() as session:
                first = session.scalars(select(Task).where(Task.instance_id == instances[0], Task.status == "open")).one()
            engine.tasks.complete(sales2, first.id, {"note": "checked before the backup"})
            path = tmp_path_factory.mktemp("backups") / f"crmflow-{kind}.backup"
            # A write transaction stays open while the backup runs: it neither waits for it nor
            # finds its uncommitted change in the backup (SQLite in WAL, PostgreSQL's snapshot).
            with engine.db.engine.connect() as conn:
                conn.execute(update(ProcessInstance).where(ProcessInstance.id == instances[1]).values(business_key="uncommitted"))
                result = _cli(app, "backup", str(path))
                conn.rollback()
            assert result.exit_code == 0, result.output
            made[kind] = Source(url, app, path, instances, {i: _history(engine, i) for i in instances})
        return made[kind]

    yield get
    for app in apps:
        _engine(app).db.dispose()


@pytest.mark.parametrize("kind", KINDS)
def test_a_backup_restored_into_a_new_database_finishes_its_instances(
    kind: str, sources: Callable[[str], Source], new_url: Callable[[str], str], app_on: Callable[[str], Flask]
) -> None:
    source = sources(kind)
    head = head_revision()
    assert source.backup.stat().st_mode & 0o077 == 0  # it holds password hashes: the owner's only
    assert not list(source.backup.parent.glob("*.partial"))
    target_url = new_url(kind)
    target = app_on(target_url)
    restored = _cli(target, "restore", str(source.backup))
    assert restored.exit_code == 0, restored.output
    assert f"at revision {head}" in restored.output and "flask --app app db-upgrade" in restored.output
    assert _cli(target, "db-upgrade").output.strip() == f"database is up to date (revision {head})"
    engine = _engine(target)
    with engine.db.sessions() as session:
        sales2 = engine.identity.actor(session, "sales2")
        keys = {i: session.get(ProcessInstance, i).business_key for i in source.instances}  # type: ignore[union-attr]
    assert keys == {i: f"B-{n}" for n, i in enumerate(source.instances)}  # not the uncommitted change
    for instance_id in source.instances:
        assert _history(engine, instance_id) == source.history[instance_id]
        while True:
            with engine.db.sessions() as session:
                task = session.scalars(select(Task).where(Task.instance_id == instance_id, Task.status == "open")).one_or_none()
            if task is None:
                break
            engine.tasks.complete(sales2, task.id, {"note" if task.task_key == "first" else "note2": "after the restore"})
        with engine.db.sessions() as session:
            assert session.get(ProcessInstance, instance_id).status == "completed"  # type: ignore[union-attr]
        history = _history(engine, instance_id)
        assert history[: len(source.history[instance_id])] == source.history[instance_id]  # intact, then continued
        completions = [h for h in history if h[1] == "complete"]
        assert [h[3] for h in completions] == ["first", "second"], history


@pytest.mark.parametrize("kind", KINDS)
def test_restore_refuses_a_database_that_is_not_empty_unless_forced(
    kind: str, sources: Callable[[str], Source], new_url: Callable[[str], str], app_on: Callable[[str], Flask]
) -> None:
    source = sources(kind)
    target_url = new_url(kind)
    upgrade(target_url)  # the schema, the demo organisation not: not empty, not the backup either
    before = _snapshot(target_url)
    target = app_on(target_url)
    _one_line_error(_cli(target, "restore", str(source.backup)), "is not empty", "--force")
    assert _snapshot(target_url) == before
    forced = _cli(target, "restore", "--force", str(source.backup))
    assert forced.exit_code == 0, forced.output
    assert _snapshot(target_url) == _snapshot(source.url)


@pytest.mark.parametrize("kind", KINDS)
def test_an_older_backup_is_restored_as_it_is_and_db_upgrade_brings_it_to_the_head(
    kind: str, new_url: Callable[[str], str], tmp_path: Path, app_on: Callable[[str], Flask]
) -> None:
    head = head_revision()
    assert head is not None
    older = ScriptDirectory.from_config(alembic_config(new_url(kind))).get_revision(head).down_revision
    assert isinstance(older, str)
    source_url, target_url = new_url(kind), new_url(kind)
    upgrade(source_url, older)
    source, target = app_on(source_url), app_on(target_url)
    path = tmp_path / "older.backup"
    assert f"at revision {older}" in _cli(source, "backup", str(path)).output
    restored = _cli(target, "restore", str(path))
    assert restored.exit_code == 0, restored.output
    assert f"at revision {older}" in restored.output
    assert f"this code's schema is at {head}: run `flask --app app db-upgrade`" in restored.output
    assert current_revision(target_url) == older  # said, not done
    assert _cli(target, "db-upgrade").output.strip() == f"database migrated from revision {older} to {head}"


def _bad_file(kind: str, bad: str, sources: Callable[[str], Source], tmp_path: Path) -> tuple[Path, tuple[str, ...]]:
    path = tmp_path / f"{bad}.backup"
    if bad == "garbage":
        path.write_bytes(secrets.token_bytes(4096))
        return path, ("is not a CRMFlow backup",)
    if bad == "truncated":
        data = sources(kind).backup.read_bytes()
        path.write_bytes(data[: len(data) * 9 // 10])  # past the alembic_version data
        return path, ("is not a readable pg_dump archive",) if kind == "postgresql" else ("is a damaged SQLite database",)
    if bad == "other kind":
        other = "sqlite" if kind == "postgresql" else "postgresql"
        path.write_bytes(sources(other).backup.read_bytes())
        names = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
        return path, (f"is a {names[other]} backup; it cannot be restored into a {names[kind]} database",)
    return path, ("no such file",)  # missing


@pytest.mark.parametrize("bad", ["garbage", "truncated", "other kind", "missing"])
@pytest.mark.parametrize("kind", KINDS)
def test_a_bad_or_missing_file_is_refused_and_changes_nothing(
    kind: str, bad: str, sources: Callable[[str], Source], new_url: Callable[[str], str], tmp_path: Path, app_on: Callable[[str], Flask]
) -> None:
    path, message = _bad_file(kind, bad, sources, tmp_path)
    source = sources(kind)  # not empty, so --force would clear it: the file is checked first
    before = _snapshot(source.url)
    _one_line_error(_cli(source.app, "restore", "--force", str(path)), str(path), *message)
    assert _snapshot(source.url) == before
    empty_url = new_url(kind)
    empty = app_on(empty_url)
    _one_line_error(_cli(empty, "restore", str(path)), *message)
    if kind == "sqlite":
        assert not Path(empty_url.removeprefix("sqlite:///")).exists()  # not even created
    else:
        assert _snapshot(empty_url) == {"revision None": 0}


@pytest.mark.parametrize("kind", KINDS)
def test_backup_refuses_to_overwrite_a_file_unless_forced(kind: str, sources: Callable[[str], Source], tmp_path: Path) -> None:
    source = sources(kind)
    path = tmp_path / "existing.backup"
    path.write_bytes(b"yesterday's backup")
    _one_line_error(_cli(source.app, "backup", str(path)), "already exists", "--force")
    assert path.read_bytes() == b"yesterday's backup"
    forced = _cli(source.app, "backup", "--force", str(path))
    assert forced.exit_code == 0, forced.output
    assert forced.output.startswith(f"wrote {path}: ") and f"backup at revision {head_revision()}" in forced.output
    assert path.read_bytes()[:5] == source.backup.read_bytes()[:5] and path.stat().st_size > 10_000
    assert sorted(p.name for p in tmp_path.iterdir()) == ["existing.backup"]  # no partial file left
