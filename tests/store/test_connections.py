"""Pooled PostgreSQL connections: checked only after idling, and a dead one is replaced unseen."""

from __future__ import annotations

from collections.abc import Callable

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

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
