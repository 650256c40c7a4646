"""Queued writes (store.writes): sent before the next statement or COMMIT, in order, as one pipeline
on PostgreSQL; reads see them, a failing one fails the action, a rollback drops them."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import Column, ForeignKey, Integer, MetaData, String, Table, event, func, insert, select, text, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm.exc import StaleDataError

from store import writes
from store.db import Database, is_sqlite
from tests.conftest import PG_ADMIN_DSN

metadata = MetaData()
parents = Table("parents", metadata, Column("id", Integer, primary_key=True), Column("name", String(20)))
children = Table(
    "children", metadata, Column("id", Integer, primary_key=True), Column("parent_id", ForeignKey("parents.id")), Column("name", String(20))
)
ADD_PARENT = insert(parents)
ADD_CHILD = insert(children)
RENAME = update(parents).where(parents.c.id == 1).values(name="renamed")


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path, pg_database: Callable[[], str]) -> Iterator[Database]:
    url = f"sqlite:///{tmp_path / 'writes.db'}" if request.param == "sqlite" else pg_database()
    database = Database(url, **({} if request.param == "sqlite" else {"pool_size": 1, "max_overflow": 0}))
    metadata.create_all(database.engine)
    yield database
    database.dispose()


def names(database: Database, table: Table) -> list[str]:
    with database.engine.connect() as conn:
        return list(conn.scalars(select(table.c.name).order_by(table.c.id)))


def sent_in_pipelines(database: Database) -> tuple[list[bool], Callable[[], None]]:
    """For every statement sent from now on: whether it went in a pipeline."""
    seen: list[bool] = []

    def record(conn, *_args) -> None:  # type: ignore[no-untyped-def]
        seen.append(getattr(conn.connection.dbapi_connection, "_pipeline", None) is not None)

    event.listen(database.engine, "before_cursor_execute", record)
    return seen, lambda: event.remove(database.engine, "before_cursor_execute", record)


def test_queued_writes_go_out_at_commit_in_order_in_one_pipeline_on_postgresql(database: Database) -> None:
    seen, stop = sent_in_pipelines(database)
    with database.transaction() as session:
        writes.later(session, ADD_PARENT, {"id": 1, "name": "p1"})
        writes.later(session, ADD_CHILD, [{"id": 1, "parent_id": 1, "name": "c1"}, {"id": 2, "parent_id": 1, "name": "c2"}])
        writes.later(session, RENAME, {}, expect_one="parent 1 is gone")
        assert writes.pending(session) == 3 and seen == []  # nothing sent yet
    stop()
    assert names(database, parents) == ["renamed"] and names(database, children) == ["c1", "c2"]
    pipelined = not is_sqlite(database.engine)  # PostgreSQL: all three in the pipeline; SQLite: one by one
    assert seen == [pipelined] * 3


def test_a_read_in_the_action_first_sends_the_queue_and_sees_the_writes(database: Database) -> None:
    with database.transaction() as session:
        writes.later(session, ADD_PARENT, {"id": 1, "name": "p1"})
        writes.later(session, ADD_PARENT, {"id": 2, "name": "p2"})
        assert session.scalar(select(func.count()).select_from(parents)) == 2
        assert writes.pending(session) == 0
        writes.later(session, RENAME, {})
        assert session.connection().scalar(select(parents.c.name).where(parents.c.id == 1)) == "renamed"  # Core reads too


def test_a_failing_write_fails_the_action_and_stores_none_of_it(database: Database) -> None:
    with pytest.raises(IntegrityError), database.transaction() as session:
        writes.later(session, ADD_PARENT, {"id": 1, "name": "p1"})
        writes.later(session, ADD_CHILD, {"id": 1, "parent_id": 99, "name": "orphan"})  # no parent 99
        writes.later(session, ADD_PARENT, {"id": 2, "name": "p2"})
    assert names(database, parents) == [] and names(database, children) == []
    with database.transaction() as session:  # the connection is clean for the next action
        writes.later(session, ADD_PARENT, {"id": 3, "name": "p3"})
        writes.later(session, ADD_PARENT, {"id": 4, "name": "p4"})
    assert names(database, parents) == ["p3", "p4"]


def test_an_action_that_fails_before_commit_drops_its_queue(database: Database) -> None:
    with pytest.raises(RuntimeError), database.transaction() as session:
        writes.later(session, ADD_PARENT, {"id": 1, "name": "never"})
        raise RuntimeError("the action failed")
    with database.transaction() as session:  # same pooled connection: nothing left over
        assert writes.pending(session) == 0
        session.execute(text("SELECT 1"))
    assert names(database, parents) == []


def test_a_write_expected_to_change_one_row_fails_when_sent_alone_and_it_changed_none(database: Database) -> None:
    with pytest.raises(StaleDataError, match="parent 1 is gone"), database.transaction() as session:
        writes.later(session, ADD_CHILD, {"id": 1, "parent_id": None, "name": "c"})
        session.execute(text("SELECT 1"))  # the child goes out first, so the check is sent alone
        writes.later(session, RENAME, {}, expect_one="parent 1 is gone")
    assert names(database, children) == []


def test_a_connection_cut_before_the_pipeline_is_sent_fails_as_a_lost_connection(pg_database: Callable[[], str]) -> None:
    database = Database(pg_database(), pool_size=1, max_overflow=0)
    try:
        metadata.create_all(database.engine)
        with pytest.raises(OperationalError) as raised, database.transaction() as session:
            pid = session.connection().scalar(text("SELECT pg_backend_pid()"))
            writes.later(session, ADD_PARENT, {"id": 1, "name": "p1"})
            writes.later(session, ADD_PARENT, {"id": 2, "name": "p2"})
            with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as admin:
                admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        assert raised.value.connection_invalidated  # the API answers 503 and the pool replaces it
        assert names(database, parents) == []
    finally:
        database.dispose()
