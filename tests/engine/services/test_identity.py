"""Logging in: a burst of wrong passwords is answered, counted and throttled; it never holds the
connection pool waiting for itself."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from sqlalchemy import func, select

from engine.errors import TooManyAttempts
from engine.process_engine import ProcessEngine
from store.db import Database
from store.models import LoginAttempt

CLIENTS = 8


def test_a_burst_of_wrong_passwords_does_not_exhaust_the_pool(engine: ProcessEngine) -> None:
    # A pool smaller than the burst, and a short wait for a connection: a login that needed a
    # second connection while holding one would fail here with the pool's timeout.
    small = ProcessEngine(Database(engine.db.url, pool_size=2, max_overflow=0, pool_timeout=3))
    small.identity.max_failures_per_address = 1_000_000
    small.identity.max_failures_per_user = 1_000_000
    gate = threading.Barrier(CLIENTS)
    answers: list[object] = []

    def wrong_login(i: int) -> None:
        gate.wait()
        try:
            with small.db.transaction() as session:
                answers.append(small.identity.authenticate(session, "cs_agent1", f"wrong-{i}", f"10.77.0.{i}"))
        except Exception as exc:
            answers.append(exc)

    threads = [threading.Thread(target=wrong_login, args=(i,)) for i in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    try:
        assert answers == [None] * CLIENTS
        with small.db.sessions() as session:
            counted = session.scalar(select(func.count()).where(LoginAttempt.ip.like("10.77.0.%")))
        assert counted == CLIENTS  # every failure counts towards the throttle
        with small.db.transaction() as session:
            assert small.identity.authenticate(session, "cs_agent1", "demo", "10.77.1.1") is not None
    finally:
        small.db.dispose()


def test_failures_from_one_address_are_throttled(engine: ProcessEngine, actors: Callable[[str], object]) -> None:
    limited = ProcessEngine(Database(engine.db.url))
    limited.identity.max_failures_per_address = 3
    try:
        for i in range(3):
            with limited.db.transaction() as session:
                assert limited.identity.authenticate(session, f"nobody{i}", "x", "10.78.0.1") is None
        with pytest.raises(TooManyAttempts), limited.db.transaction() as session:
            limited.identity.authenticate(session, "sales1", "demo", "10.78.0.1")
    finally:
        limited.db.dispose()
