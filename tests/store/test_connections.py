"""Pooled PostgreSQL connections: checked only after idling, and a dead one is replaced unseen."""

from __future__ import annotations

from collections.abc import Callable

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError, ProgrammingError

from store import db as store_db
from store.db import Database
from tests.conftest import PG_ADMIN_DSN


def backend_pid(database: Database) -> int:
    with database.engine.connect() as conn:
        return int(conn.scalar(text("SELECT pg_backend_pid()")))


def test_a_connection_cut_while_idle_is_replaced_before_use(pg_database: Callable[[], str], monkeypatch: pytest.MonkeyPatch) -> None:
    database = Database(pg_database(), pool_size=1, max_overflow=0)
    try:
        first = backend_pid(database)
        with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (first,))
        monkeypatch.setattr(store_db, "IDLE_PING_SECONDS", 0.0)  # it has idled long enough
        second = backend_pid(database)  # no error reaches the caller
        assert second != first
    finally:
        database.dispose()


def test_a_connection_in_steady_use_is_not_pinged(pg_database: Callable[[], str], monkeypatch: pytest.MonkeyPatch) -> None:
    """The trade-off: no round trip per checkout, so a connection cut while in steady use fails
    its next statement once; the pool then drops it and the next use gets a new one."""
    database = Database(pg_database(), pool_size=1, max_overflow=0)
    try:
        first = backend_pid(database)
        with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (first,))
        monkeypatch.setattr(store_db, "IDLE_PING_SECONDS", 3600.0)
        with pytest.raises(OperationalError):
            backend_pid(database)  # not checked at checkout: the cut shows on the first statement
        assert backend_pid(database) != first
    finally:
        database.dispose()


def test_the_limits_reach_both_ends_of_every_connection(pg_database: Callable[[], str]) -> None:
    """The server enforces the lock, statement and idle-transaction timeouts and probes a silent
    client; libpq probes a silent server and gives up on unacknowledged data."""
    limits = {"connect_timeout": 3, "lock_timeout": 4, "statement_timeout": 60, "idle_in_transaction": 8, "tcp_timeout": 9}
    database = Database(pg_database(), limits=limits)
    try:
        with database.engine.connect() as conn:
            shown = {
                name: conn.scalar(text(f"SHOW {name}"))
                for name in (
                    "lock_timeout",
                    "statement_timeout",
                    "idle_in_transaction_session_timeout",
                    "tcp_user_timeout",
                    "tcp_keepalives_idle",
                    "tcp_keepalives_count",
                    "jit",
                )
            }
            info = conn.connection.dbapi_connection.info  # type: ignore[union-attr]
            client = {
                name: info.get_parameters().get(name) for name in ("connect_timeout", "keepalives", "tcp_user_timeout", "keepalives_idle")
            }
    finally:
        database.dispose()
    assert shown == {
        "lock_timeout": "4s",
        "statement_timeout": "1min",
        "idle_in_transaction_session_timeout": "8s",
        "tcp_user_timeout": "9000",  # milliseconds, shown without a unit
        "tcp_keepalives_idle": "3",
        "tcp_keepalives_count": "3",
        "jit": "off",
    }
    assert client == {"connect_timeout": "3", "keepalives": "1", "tcp_user_timeout": "9000", "keepalives_idle": "3"}


def test_no_limits_set_means_none_sent() -> None:
    assert store_db.postgres_limits() == ({}, {})


def test_a_lock_held_past_the_lock_timeout_is_a_retryable_failure(pg_database: Callable[[], str]) -> None:
    url = pg_database()
    database = Database(url, limits={"lock_timeout": 0.2})
    holder = psycopg.connect(url.replace("+psycopg", ""))
    try:
        with database.engine.begin() as conn:
            conn.execute(text("CREATE TABLE held (id int PRIMARY KEY)"))
            conn.execute(text("INSERT INTO held VALUES (1)"))
        holder.execute("SELECT * FROM held WHERE id = 1 FOR UPDATE")  # and keeps its transaction open
        with pytest.raises(OperationalError) as waited, database.engine.begin() as conn:
            conn.execute(text("SELECT * FROM held WHERE id = 1 FOR UPDATE"))
        assert store_db.retryable(waited.value)
        with pytest.raises(ProgrammingError) as wrong, database.engine.begin() as conn:
            conn.execute(text("SELECT * FROM no_such_table"))
        assert not store_db.retryable(wrong.value)  # a fault in the statement: retrying cannot help
    finally:
        holder.close()
        database.dispose()


def test_a_refused_connection_is_retryable() -> None:
    database = Database("postgresql+psycopg://postgres@127.0.0.1:1/none", limits={"connect_timeout": 1})
    try:
        with pytest.raises(OperationalError) as refused, database.engine.connect():
            pass
    finally:
        database.dispose()
    assert store_db.retryable(refused.value)


def test_sqlite_locked_past_its_busy_timeout_is_retryable() -> None:
    import sqlite3

    locked = OperationalError("UPDATE t", {}, sqlite3.OperationalError("database is locked"))
    broken = OperationalError("UPDATE t", {}, sqlite3.OperationalError("no such table: t"))
    assert store_db.retryable(locked) and not store_db.retryable(broken)
