"""Engines, sessions and the one-transaction-per-action helper."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.exc import DBAPIError, DisconnectionError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from store import writes


def make_engine(url: str, limits: Mapping[str, float] | None = None, **kwargs: Any) -> Engine:
    """Create an engine; SQLite gets WAL, a busy timeout and enforced foreign keys, PostgreSQL the
    connection `limits` (`postgres_limits`)."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30}, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        writes.install(engine)
        return engine
    kwargs.setdefault("pool_size", 10)
    # No JIT: PostgreSQL compiles a query it estimates as expensive (the monitor's aggregates over
    # a million task rows) for 200+ ms, more than the compiled code then saves at this size.
    connect_args = kwargs.setdefault("connect_args", {})
    server, client = postgres_limits(**(limits or {}))
    connect_args.setdefault("options", " ".join(["-c jit=off", *(f"-c {name}={value}" for name, value in server.items())]))
    for name, value in client.items():
        connect_args.setdefault(name, value)
    engine = create_engine(url, **kwargs)
    if not kwargs.get("pool_pre_ping"):
        _ping_when_idle(engine)
    writes.install(engine)
    return engine


def postgres_limits(
    connect_timeout: float = 0,
    lock_timeout: float = 0,
    statement_timeout: float = 0,
    idle_in_transaction: float = 0,
    tcp_timeout: float = 0,
) -> tuple[dict[str, int], dict[str, int]]:
    """The server settings (sent as `options`) and libpq parameters that bound each wait, in
    seconds (0: no limit).

    TCP keepalives and TCP_USER_TIMEOUT on both ends: a peer that vanished (host down, link cut)
    is noticed after about `tcp_timeout` whether the socket is idle (keepalive probes) or has
    unacknowledged data (the user timeout), by the app and by the server, whose ending of the
    session releases the vanished side's row locks.
    """
    server: dict[str, int] = {}
    client: dict[str, int] = {}
    if lock_timeout:
        server["lock_timeout"] = round(lock_timeout * 1000)
    if statement_timeout:
        server["statement_timeout"] = round(statement_timeout * 1000)
    if idle_in_transaction:
        server["idle_in_transaction_session_timeout"] = round(idle_in_transaction * 1000)
    if connect_timeout:
        client["connect_timeout"] = max(1, round(connect_timeout))
    if tcp_timeout:
        idle = max(1, round(tcp_timeout / 3))
        probes = {"keepalives_idle": idle, "keepalives_interval": max(1, round(tcp_timeout / 9)), "keepalives_count": 3}
        client.update(keepalives=1, tcp_user_timeout=round(tcp_timeout * 1000), **probes)
        server.update(tcp_user_timeout=round(tcp_timeout * 1000), **{f"tcp_{name}": value for name, value in probes.items()})
    return server, client


# SQLSTATEs after which the same request, sent again, may well succeed: nothing was changed.
_RETRYABLE_STATES = frozenset(
    {
        "40001",  # serialization_failure
        "40P01",  # deadlock_detected
        "55P03",  # lock_not_available: lock_timeout
        "57014",  # query_canceled: statement_timeout
        "57P01",  # admin_shutdown: the server is restarting
        "57P02",  # crash_shutdown
        "57P03",  # cannot_connect_now: the server is starting up
        "53300",  # too_many_connections
    }
)


RETRY_AFTER_SECONDS = 1  # what a retryable failure tells the client to wait (Retry-After)


def retryable(exc: DBAPIError) -> bool:
    """Whether a failed statement left nothing changed and may simply be tried again: a cut or
    refused connection, a lock or statement timeout, a deadlock, a server shutting down or
    starting, SQLite's lock held past its busy timeout. Anything else is a fault to log."""
    if exc.connection_invalidated:
        return True
    original = exc.orig
    state = getattr(original, "sqlstate", None)
    if state is not None:
        return state in _RETRYABLE_STATES or state.startswith("08")  # 08: connection exceptions
    if isinstance(original, psycopg.OperationalError):
        return True  # no SQLSTATE: the connection failed (refused, reset, timed out) before an answer
    return isinstance(original, sqlite3.OperationalError) and "locked" in str(original)


IDLE_PING_SECONDS = 10.0


def _ping_when_idle(engine: Engine) -> None:
    """Check a pooled connection before use only when it has sat idle a while.

    `pool_pre_ping` checks on every checkout: one more round trip for every action and request.
    A connection in steady use is known good; one that idled may have been cut (a database
    restart, a firewall's idle timeout) and is replaced before anyone sees an error.
    """

    @event.listens_for(engine, "checkin")
    def _checked_in(_dbapi_conn: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checkout(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        if time.monotonic() - record.info.get("idle_since", time.monotonic()) < IDLE_PING_SECONDS:
            return
        try:
            with dbapi_conn.cursor() as cursor:
                cursor.execute("SELECT 1")
            dbapi_conn.rollback()
        except Exception as exc:  # any failure: let the pool replace this connection
            raise DisconnectionError(str(exc)) from exc


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


class Database:
    """An engine plus its session factory."""

    def __init__(self, url: str, limits: Mapping[str, float] | None = None, **kwargs: Any) -> None:
        self.url = url
        self.engine = make_engine(url, limits, **kwargs)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One action, one transaction: commit on success, roll back on any exception."""
        with self.sessions() as session, session.begin():
            yield session

    def reachable(self) -> bool:
        """Whether the database answers a trivial query now (readiness checks)."""
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except SQLAlchemyError:
            return False
        return True

    def dispose(self) -> None:
        self.engine.dispose()
