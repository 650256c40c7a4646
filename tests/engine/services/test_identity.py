"""Logging in: wrong passwords are answered, counted and throttled exactly, per account from one
address, per account from everywhere and per address; the holder is told; a burst never holds the
connection pool waiting for itself."""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import func, select

from engine.errors import TooManyAttempts
from engine.process_engine import ProcessEngine
from engine.services.identity import Actor
from store.db import Database
from store.models import LoginAttempt, Notification

PASSWORD = "the right password"


@pytest.fixture
def holder(engine: ProcessEngine, actors: Callable[[str], Actor]) -> str:
    """A user of their own, so that no other test's logins count here."""
    username = f"holder_{secrets.token_hex(3)}"
    engine.admin.create_user(actors("admin"), {"username": username, "password": PASSWORD, "display_name": "测试"})
    return username


@pytest.fixture
def logins(engine: ProcessEngine) -> Iterator[ProcessEngine]:
    """An engine with the shipped limits (the session's engine lifts the per-address one) and a
    pool large enough for every client below at once."""
    own = ProcessEngine(Database(engine.db.url, pool_size=30, max_overflow=0))
    yield own
    own.db.dispose()


def login(engine: ProcessEngine, username: str, password: str, address: str) -> object:
    """What the login routes do: one transaction, committed whether the password was right or not."""
    try:
        with engine.db.transaction() as session:
            return engine.identity.authenticate(session, username, password, address)
    except Exception as exc:
        return exc


def failures(engine: ProcessEngine, **where: str) -> int:
    with engine.db.sessions() as session:
        clauses = [getattr(LoginAttempt, k) == v for k, v in where.items()]
        return session.scalar(select(func.count()).where(*clauses)) or 0


def together(n: int, action: Callable[[int], object]) -> list[object]:
    """Run `action(i)` for i < n in n threads released at the same moment; their answers."""
    gate = threading.Barrier(n)
    answers: list[object] = [None] * n

    def run(i: int) -> None:
        gate.wait()
        answers[i] = action(i)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return answers


def test_a_burst_of_wrong_passwords_does_not_exhaust_the_pool(engine: ProcessEngine, holder: str) -> None:
    # A pool smaller than the burst, and a short wait for a connection: a login that needed a
    # second connection while holding one would fail here with the pool's timeout.
    small = ProcessEngine(Database(engine.db.url, pool_size=2, max_overflow=0, pool_timeout=3))
    try:
        answers = together(8, lambda i: login(small, holder, f"wrong-{i}", f"10.77.0.{i}"))
        assert answers == [None] * 8
        assert failures(small, username=holder) == 8  # every failure counts towards the throttle
        assert login(small, holder, PASSWORD, "10.77.1.1") is not None
    finally:
        small.db.dispose()


def test_concurrent_guesses_get_exactly_as_many_checks_as_the_limit(logins: ProcessEngine, holder: str) -> None:
    limit = logins.identity.max_failures_per_user
    answers = together(25, lambda i: login(logins, holder, f"guess-{i}", "10.77.2.1"))
    assert answers.count(None) == limit  # checked and wrong
    assert all(isinstance(a, TooManyAttempts) for a in answers if a is not None)
    assert failures(logins, username=holder, ip="10.77.2.1") == limit


def test_a_guesser_elsewhere_does_not_lock_the_holder_out(logins: ProcessEngine, holder: str) -> None:
    for i in range(logins.identity.max_failures_per_user):
        assert login(logins, holder, f"guess-{i}", "10.77.3.1") is None
    assert isinstance(login(logins, holder, PASSWORD, "10.77.3.1"), TooManyAttempts)  # even the right one, from there
    user = login(logins, holder, PASSWORD, "10.77.3.2")
    assert user is not None and getattr(user, "username", None) == holder


def test_guesses_from_many_addresses_stop_at_the_account_backstop(logins: ProcessEngine, holder: str) -> None:
    logins.identity.max_failures_per_account = 6
    for i in range(6):
        assert login(logins, holder, "guess", f"10.77.4.{i}") is None
    assert isinstance(login(logins, holder, PASSWORD, "10.77.4.200"), TooManyAttempts)


def test_the_holder_is_told_once_and_which_address_it_was(logins: ProcessEngine, holder: str) -> None:
    for i in range(logins.identity.max_failures_per_user + 2):
        login(logins, holder, f"guess-{i}", "10.77.5.9")
    with logins.db.sessions() as session:
        notes = list(session.scalars(select(Notification).where(Notification.username == holder)))
    assert [(n.kind, n.message) for n in notes] == [("login_throttled", "10.77.5.9")]


def test_nobody_is_told_of_guesses_at_a_name_that_does_not_exist(logins: ProcessEngine) -> None:
    ghost = f"ghost_{secrets.token_hex(3)}"
    for _ in range(logins.identity.max_failures_per_user):
        assert login(logins, ghost, "guess", "10.77.6.1") is None
    with logins.db.sessions() as session:
        assert session.scalar(select(func.count()).where(Notification.username == ghost)) == 0
