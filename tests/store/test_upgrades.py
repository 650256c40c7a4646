"""Upgrades with running instances: a database written by every earlier version of CRMFlow, with
instances waiting at each user task and timer of that version's shipped processes, is upgraded
to head by store.schema and each instance is then driven to its end by the current engine.

The databases were written by the old versions' own code (tests/store/upgrades/make_fixtures.py;
tests/store/upgrades/fixtures/README.md lists the revisions covered and skipped). They are
PostgreSQL dumps, so these tests run on PostgreSQL only.
"""

from __future__ import annotations

import gzip
import json
import re
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from functools import cache
from pathlib import Path

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import inspect, select, text

import processes  # noqa: F401  (the shipped process packages register their parts and operations)
from engine import calendar
from engine.bpmn import serializer
from engine.clock import utcnow
from engine.errors import Forbidden
from engine.process_engine import ProcessEngine
from engine.services.identity import Actor
from store.db import Database
from store.models import ProcessInstance, Task
from store.schema import alembic_config, current_revision, upgrade
from tests.flow import Flow
from tests.store.upgrades.steps import candidates, form_values, waits_at

FIXTURES = Path(__file__).parent / "upgrades" / "fixtures"
HEAD = ScriptDirectory.from_config(alembic_config("")).get_current_head()
LAST_BUT_ONE = "0024_attachment_files"
MAX_ACTIONS = 40  # the longest way to the end of a shipped process is about a dozen actions


@dataclass(frozen=True)
class Fixture:
    """One database as an earlier version left it: at `revision`, each running instance waiting
    where that version saw it wait (its user tasks and events, by BPMN id)."""

    revision: str
    waits: dict[int, list[str]]

    @property
    def dump(self) -> Path:
        return FIXTURES / f"{self.revision}.sql.gz"

    def __str__(self) -> str:
        return self.revision


def _fixtures() -> list[Fixture]:
    found = []
    for manifest in sorted(FIXTURES.glob("*.json")):
        data = json.loads(manifest.read_text())
        found.append(Fixture(data["revision"], {int(i): inst["waits"] for i, inst in data["instances"].items()}))
    return found


ALL = _fixtures()
NEWEST = ALL[-1]


# --- the dumps, read without a database (the serializer test) ---------------------------------------

_COPY_ESCAPES = {"b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v"}


def _copy_value(raw: str) -> str | None:
    """A value of pg_dump's COPY text format."""
    if raw == r"\N":
        return None
    return re.sub(r"\\(.)", lambda m: _COPY_ESCAPES.get(m.group(1), m.group(1)), raw)


@cache
def dumped_rows(revision: str, table: str) -> list[dict[str, str | None]]:
    sql = gzip.decompress((FIXTURES / f"{revision}.sql.gz").read_bytes()).decode()
    match = re.search(rf"^COPY public\.{table} \((.*?)\) FROM stdin;\n(.*?)^\\\.$", sql, re.M | re.S)
    assert match, f"no {table} in the {revision} dump"
    columns = [c.strip().strip('"') for c in match.group(1).split(",")]
    return [dict(zip(columns, map(_copy_value, line.split("\t")), strict=True)) for line in match.group(2).splitlines()]


def serializer_versions() -> list[str]:
    """Every serializer version an instance's state or a definition's spec is stored with."""
    return sorted(
        {
            str(row["serializer_version"])
            for f in ALL
            for table in ("process_instances", "process_definitions")
            for row in dumped_rows(f.revision, table)
        }
    )


# --- databases and engines -----------------------------------------------------------------------


@pytest.fixture
def fresh_database(pg_database: Callable[[], str]) -> str:
    """An empty PostgreSQL database (the fixtures are pg_dump output; SQLite's upgrade path is
    tests/store/test_migrations.py's)."""
    return pg_database()


def restore(fixture: Fixture, url: str) -> None:
    dsn = url.replace("postgresql+psycopg://", "postgresql://")
    sql = gzip.decompress(fixture.dump.read_bytes())
    subprocess.run(["psql", "-q", "-v", "ON_ERROR_STOP=1", "-d", dsn], input=sql, check=True, capture_output=True)


@contextmanager
def current_engine(url: str) -> Iterator[ProcessEngine]:
    engine = ProcessEngine(Database(url))
    try:
        yield engine
    finally:
        calendar.use_entered_years(str(engine.db.engine.url), None)  # this database is dropped at the end
        engine.db.dispose()


def flow_on(engine: ProcessEngine) -> Flow:
    def actor(username: str) -> Actor:
        with engine.db.sessions() as session:
            return engine.identity.actor(session, username)

    return Flow(engine, actor)


def upgraded(fixture: Fixture, url: str) -> None:
    restore(fixture, url)
    assert current_revision(url) == fixture.revision
    assert upgrade(url) == (fixture.revision, HEAD)


# --- what an instance waits at, and driving it on -----------------------------------------------------


def loaded_waits(engine: ProcessEngine, instance_id: int) -> list[str]:
    with engine.db.sessions() as session:
        instance = session.get(ProcessInstance, instance_id)
        assert instance is not None
        return waits_at(engine.runtime.load(session, instance))


def complete(flow: Flow, task: Task) -> None:
    """Complete the task with valid values as the first of its candidates the engine lets do it
    (a four-eyes rule can refuse the one who did an earlier step)."""
    with flow.engine.db.engine.connect() as conn:
        users = candidates(conn, task.assignee, task.candidate_roles, task.candidate_users)
    assert users, f"no one may do {task.task_key}"
    with flow.engine.db.sessions() as session:
        _task, form, _data = flow.engine.tasks.details(session, flow.actor(users[0]), task.id)
    refusals = []
    for username in users:
        try:
            flow.engine.tasks.complete(flow.actor(username), task.id, form_values(form))
            return
        except Forbidden as refused:
            refusals.append(f"{username}: {refused}")
    pytest.fail(f"no candidate may complete {task.task_key}: {refusals}")


def run_to_the_end(flow: Flow, instance_id: int) -> None:
    """Complete the oldest open task, or, with none open, let time pass its timers; until it ends."""
    far_future = utcnow() + timedelta(days=120)
    for _ in range(MAX_ACTIONS):
        if flow.instance(instance_id).status != "running":
            return
        open_tasks = flow.open_tasks(instance_id)
        if open_tasks:
            complete(flow, open_tasks[0])
        else:
            fired = flow.engine.jobs.run_due(at=far_future, instances=[instance_id])
            assert fired, "it waits with neither an open task nor a timer due"
        flow.assert_rows_mirror_workflow(instance_id)
    pytest.fail(f"still {flow.instance(instance_id).status} after {MAX_ACTIONS} actions")


def follow_to_the_end(flow: Flow, instance_id: int, waits: list[str]) -> None:
    """An instance of the earlier version: loads, waits where it waited, its task rows mirror its
    workflow, runs to completion, its earlier history kept."""
    history_before = [e.id for e in flow.history(instance_id)]
    assert loaded_waits(flow.engine, instance_id) == waits
    flow.assert_rows_mirror_workflow(instance_id)
    run_to_the_end(flow, instance_id)
    assert flow.instance(instance_id).status == "completed"
    history_after = [e.id for e in flow.history(instance_id)]
    assert history_after[: len(history_before)] == history_before
    assert len(history_after) > len(history_before)


# --- the specifications ------------------------------------------------------------------------------


def test_every_earlier_revision_but_one_has_a_fixture() -> None:
    """0016 never was a version's newest migration (0016 and 0017 came in one commit)."""
    revisions = [s.revision for s in ScriptDirectory.from_config(alembic_config("")).walk_revisions()]
    earlier = sorted(r for r in revisions if r != HEAD)
    assert [f.revision for f in ALL] == [r for r in earlier if r != "0016_instance_fields"]
    assert all(f.waits for f in ALL)


@pytest.mark.parametrize("fixture", ALL, ids=str)
def test_instances_an_earlier_version_left_waiting_run_to_the_end_after_the_upgrade(fixture: Fixture, fresh_database: str) -> None:
    upgraded(fixture, fresh_database)
    with current_engine(fresh_database) as engine:
        flow = flow_on(engine)
        with engine.db.sessions() as session:
            running = set(session.scalars(select(ProcessInstance.id).where(ProcessInstance.status == "running")))
        assert running == set(fixture.waits)
        failures: dict[int, str] = {}
        for instance_id, waits in fixture.waits.items():
            try:
                follow_to_the_end(flow, instance_id, waits)
            except (Exception, pytest.fail.Exception) as failure:  # every instance's verdict, then one assert
                failures[instance_id] = f"waiting at {waits}: {type(failure).__name__}: {' '.join(str(failure).split())[:400]}"
        assert failures == {}


@pytest.mark.parametrize("version", serializer_versions())
def test_every_stored_serializer_version_loads(version: str) -> None:
    """Each instance state stored with the version restores, with the current serializer, against
    its definition's stored spec, waiting at exactly its open task rows."""
    loaded = 0
    for fixture in ALL:
        specs = {row["id"]: row["spec_json"] for row in dumped_rows(fixture.revision, "process_definitions")}
        open_rows: dict[str | None, set[str]] = {}
        for row in dumped_rows(fixture.revision, "tasks"):
            if row["status"] == "open":
                open_rows.setdefault(row["instance_id"], set()).add(str(row["id"]))
        for row in dumped_rows(fixture.revision, "process_instances"):
            if row["serializer_version"] != version:
                continue
            spec, subprocess_specs = serializer.load_spec(str(specs[row["definition_id"]]))
            state = bytes.fromhex(str(row["state"]).removeprefix("\\x"))
            workflow = serializer.load_instance(state, spec, subprocess_specs)
            ready = {str(t.id) for t in workflow.get_tasks(state=TaskState.READY) if t.task_spec.manual}
            assert ready == open_rows.get(row["id"], set()), f"{fixture} instance {row['id']}"
            assert waits_at(workflow) == fixture.waits[int(str(row["id"]))]
            loaded += 1
    assert loaded > 0


def test_the_last_migration_goes_down_and_up_again_on_a_populated_database(fresh_database: str) -> None:
    upgraded(NEWEST, fresh_database)
    with current_engine(fresh_database) as engine, engine.db.transaction() as session:
        session.execute(text("""INSERT INTO calendar_years VALUES (2099, '["2099-01-01"]', '[]', 'admin', now())"""))
    command.downgrade(alembic_config(fresh_database), LAST_BUT_ONE)
    assert current_revision(fresh_database) == LAST_BUT_ONE
    with current_engine(fresh_database) as engine:
        assert "calendar_years" not in inspect(engine.db.engine).get_table_names()
        flow = flow_on(engine)
        instance_id = min(NEWEST.waits)
        flow.assert_rows_mirror_workflow(instance_id)  # the instances are untouched

    assert upgrade(fresh_database) == (LAST_BUT_ONE, HEAD)
    with current_engine(fresh_database) as engine:
        admin = flow_on(engine).actor("admin")
        assert engine.calendar.put(admin, 2099, {"holidays": ["2099-01-01"], "workdays": []})["source"] == "admin"
        follow_to_the_end(flow_on(engine), instance_id, NEWEST.waits[instance_id])


def test_going_below_0024_with_files_in_the_attachment_directory_is_refused_and_changes_nothing(fresh_database: str) -> None:
    upgraded(NEWEST, fresh_database)
    instance_id = min(NEWEST.waits)
    with current_engine(fresh_database) as engine, engine.db.transaction() as session:
        session.execute(
            text(
                "INSERT INTO attachments (instance_id, filename, content_type, size, sha256, uploaded_by, uploaded_at, data)"
                " VALUES (:i, 'contract.pdf', 'application/pdf', 4, :sha, 'admin', now(), NULL)"
            ),
            {"i": instance_id, "sha": "0" * 64},
        )
    with pytest.raises(RuntimeError) as refused:
        command.downgrade(alembic_config(fresh_database), "0023_field_process")
    assert str(refused.value) == (
        "1 attachments keep their bytes in the attachment directory: copy them into the database before downgrading"
    )
    assert current_revision(fresh_database) == HEAD  # one transaction: the later migrations' steps down are undone too
    with current_engine(fresh_database) as engine:
        assert "calendar_years" in inspect(engine.db.engine).get_table_names()
