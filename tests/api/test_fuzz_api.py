"""Schemathesis against /api/v1/openapi.json: generated requests for every operation, never a 5xx.

Driven through Hypothesis directly (schemathesis' pytest plugin does not support pytest 9 yet).
The fuzzer acts as an admin, so it may reset a demo user's password, disable them or hand their
work away: it runs against a database of its own, never the one the other tests share.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from app import create_app
from engine.process_engine import ProcessEngine
from processes.demo import seed_demo
from store.db import Database
from store.schema import upgrade
from tests.conftest import Api

EXAMPLES_PER_OPERATION = 10


@pytest.fixture
def own_app(database_url: str, pg_database: Callable[[], str], tmp_path: Path) -> Iterator[Flask]:
    """The app on a fresh database of the same kind as this run's, with the demo organisation."""
    url = f"sqlite:///{tmp_path / 'fuzz.db'}" if database_url.startswith("sqlite") else pg_database()
    upgrade(url)
    engine = ProcessEngine(Database(url))
    engine.identity.max_failures_per_address = 1_000_000
    seed_demo(engine)
    application = create_app({"TESTING": True, "DATABASE_URL": url, "SCHEDULER_ENABLED": False})
    application.extensions["crmflow"].db.dispose()
    application.extensions["crmflow"] = engine
    yield application
    engine.db.dispose()


def test_no_request_the_schema_allows_makes_the_server_fail(own_app: Flask) -> None:
    app = own_app
    api = Api(app.test_client(), {})
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 18
    for user in ("admin", "cs_agent1"):
        for operation in operations:
            # a token per operation: the fuzzer may call POST /auth/logout and end the one it has
            _fuzz(operation, {"Authorization": f"Bearer {api.fresh_token(user)}"})


def _fuzz(operation: object, headers: dict[str, str]) -> None:
    @given(case=operation.as_strategy())  # type: ignore[attr-defined]
    @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True, database=None)
    def no_server_error(case: schemathesis.Case) -> None:
        case.call_and_validate(headers=headers, checks=[not_a_server_error])

    no_server_error()
