"""Writes an action never reads back, sent together the next time the action talks to the database.

An action queues table-level INSERTs and UPDATEs (no RETURNING) with `later`. The queue goes out,
in order, right before the next statement on the same connection and right before COMMIT, so
every read still sees the action's own writes, the ORM's flush still comes after them, and a
failed write still fails the whole action. On PostgreSQL (psycopg) a queue of several statements
is sent in pipeline mode: the statements stream to the server and the client waits once, instead
of one network round trip (and two wake-ups on each side) per statement. SQLite runs in process
and gets them one by one.

A write that must change exactly one row (`expect_one`) has its row count checked where it is
sent alone or one by one. In a pipeline the count is not returned; the engine queues such writes
only for the instance row it holds locked (`FOR UPDATE`), which nothing else can change.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Engine, event
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.exc import StaleDataError
from sqlalchemy.sql import Executable

_QUEUE = "crmflow.later"


def later(session: Session, statement: Executable, params: Any, *, expect_one: str | None = None) -> None:
    """Queue a write on the action's connection. `expect_one`: the error message if the write
    does not change exactly one row."""
    session.connection().info.setdefault(_QUEUE, []).append((statement, params, expect_one))


def store_later(session: Session, obj: Any, statement: Executable, params: dict[str, Any], *, expect_one: str | None = None) -> None:
    """Queue a table-level UPDATE of an ORM object's row that writes `params`' values of the
    object's attributes (with any keys the statement needs besides), and tell the ORM the object
    holds them as stored, so that its flush at commit does not write them again."""
    later(session, statement, params, expect_one=expect_one)
    for name in obj.__mapper__.column_attrs.keys() & params.keys():
        set_committed_value(obj, name, params[name])


def pending(session: Session) -> int:
    """How many writes wait to be sent (for tests)."""
    return len(session.connection().info.get(_QUEUE, ()))


def send(conn: Connection) -> None:
    """Send the queued writes now."""
    queue = conn.info.pop(_QUEUE, None)
    if not queue:
        return
    pipeline = getattr(conn.connection.dbapi_connection, "pipeline", None) if len(queue) > 1 else None
    if pipeline is None:
        for statement, params, expect_one in queue:
            result = conn.execute(statement, params)
            if expect_one is not None and result.rowcount != 1:
                raise StaleDataError(expect_one)
        return
    dialect = conn.dialect
    try:
        with pipeline():
            for statement, params, _expect_one in queue:
                conn.execute(statement, params)
    except dialect.loaded_dbapi.Error as exc:
        # Raised by the pipeline's final sync, outside SQLAlchemy's own execution: wrap it as
        # SQLAlchemy would (IntegrityError, OperationalError, ...), and drop a cut connection.
        cut = dialect.is_disconnect(exc, conn.connection.dbapi_connection, None)
        if cut:
            conn.invalidate(exc)
        raise DBAPIError.instance(None, None, exc, dialect.loaded_dbapi.Error, connection_invalidated=cut, dialect=dialect) from exc


def discard(conn: Connection) -> None:
    if not conn.invalidated:  # a cut connection's queue goes with it (the pool clears its info)
        conn.info.pop(_QUEUE, None)


def install(engine: Engine) -> None:
    """Send the queue before any other statement, savepoint or commit; drop it on rollback."""

    @event.listens_for(engine, "before_execute")
    def _before_execute(conn: Connection, *_args: Any) -> None:
        if not conn.invalidated and _QUEUE in conn.info:
            send(conn)

    @event.listens_for(engine, "savepoint")
    @event.listens_for(engine, "commit")
    def _before_commit(conn: Connection, *_args: Any) -> None:
        if not conn.invalidated:
            send(conn)

    @event.listens_for(engine, "rollback")
    def _rollback(conn: Connection) -> None:
        discard(conn)

    @event.listens_for(engine, "checkin")
    def _checkin(_dbapi_conn: Any, record: Any) -> None:
        record.info.pop(_QUEUE, None)
