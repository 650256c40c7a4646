"""Fixtures: every database-backed test runs on SQLite and on a fresh PostgreSQL database.

The demo organisation and the shipped processes are loaded once per database; tests create their
own instances and look only at those, so they do not depend on each other.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from flask import Flask
from flask.testing import FlaskClient

from app import create_app
from engine.process_engine import ProcessEngine
from engine.services.identity import Actor
from processes.demo import seed_demo
from store.db import Database
from store.schema import upgrade
from tests.browsing import chromium, live_server, shots  # noqa: F401  (one browser for every folder)
from tests.flow import Flow

PG_ADMIN_DSN = os.environ.get("TEST_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")
FIXTURES = Path(__file__).parent / "fixtures"
MIWG = FIXTURES / "miwg"  # the OMG BPMN MIWG reference models (CC BY 3.0; tests/fixtures/miwg/README.md)


def _pg_url(dbname: str) -> str:
    info = psycopg.conninfo.conninfo_to_dict(PG_ADMIN_DSN)
    user = info.get("user", "postgres")
    host = info.get("host", "127.0.0.1")
    port = info.get("port", "5432")
    return f"postgresql+psycopg://{user}@{host}:{port}/{dbname}"


@pytest.fixture(scope="session")
def pg_database() -> Iterator[Callable[[], str]]:
    """A factory of fresh PostgreSQL databases, all dropped at the end of the run."""
    created: list[str] = []

    def make() -> str:
        name = f"crmflow_test_{os.getpid()}_{secrets.token_hex(4)}"
        with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        created.append(name)
        return _pg_url(name)

    yield make
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
        for name in created:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, pg_database: Callable[[], str]) -> str:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'crmflow.db'}"
    else:
        url = pg_database()
    upgrade(url)
    return url


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[ProcessEngine]:
    eng = ProcessEngine(Database(database_url))
    eng.identity.max_failures_per_address = 1_000_000  # every test request comes from 127.0.0.1
    seed_demo(eng)
    yield eng
    eng.db.dispose()


@pytest.fixture(scope="session")
def app(engine: ProcessEngine, database_url: str) -> Flask:
    application = create_app({"TESTING": True, "DATABASE_URL": database_url, "SCHEDULER_ENABLED": False})
    application.extensions["crmflow"].db.dispose()
    application.extensions["crmflow"] = engine
    return application


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture(scope="session")
def actors(engine: ProcessEngine) -> Callable[[str], Actor]:
    cache: dict[str, Actor] = {}

    def get(username: str) -> Actor:
        if username not in cache:
            with engine.db.sessions() as session:
                cache[username] = engine.identity.actor(session, username)
        return cache[username]

    return get


class Api:
    """A test-client wrapper that logs in as demo users (password 'demo') and speaks JSON."""

    def __init__(self, client: FlaskClient, tokens: dict[str, str]) -> None:
        self.client = client
        self.tokens = tokens

    def token(self, username: str) -> str:
        if username not in self.tokens:
            response = self.client.post("/api/v1/auth/token", json={"username": username, "password": "demo"})
            assert response.status_code == 200, response.get_json()
            self.tokens[username] = response.get_json()["token"]
        return self.tokens[username]

    def fresh_token(self, username: str) -> str:
        """A token of its own, for tests that may end it (logout, the fuzzer)."""
        response = self.client.post("/api/v1/auth/token", json={"username": username, "password": "demo"})
        assert response.status_code == 200, response.get_json()
        return response.get_json()["token"]  # type: ignore[no-any-return]

    def call(self, method: str, username: str | None, path: str, **kwargs: Any) -> Any:
        headers = kwargs.pop("headers", {})
        if username:
            headers["Authorization"] = f"Bearer {self.token(username)}"
        return self.client.open(path, method=method, headers=headers, **kwargs)

    def get(self, username: str | None, path: str, **kwargs: Any) -> Any:
        return self.call("GET", username, path, **kwargs)

    def post(self, username: str | None, path: str, **kwargs: Any) -> Any:
        return self.call("POST", username, path, **kwargs)


@pytest.fixture(scope="session")
def api_tokens() -> dict[str, dict[str, str]]:
    return {}


@pytest.fixture
def api(client: FlaskClient, api_tokens: dict[str, dict[str, str]], database_url: str) -> Api:
    """Tokens are cached per database so each user logs in once per run."""
    return Api(client, api_tokens.setdefault(database_url, {}))


@pytest.fixture
def new_user(engine: ProcessEngine, actors: Callable[[str], Actor]) -> Iterator[Callable[..., str]]:
    """new_user('mgr', ['region_manager'], superior='ops_mgr') -> a user of the test's own (password
    'demo pass'), disabled when the test ends: a role's pool, its reminders and its notices reach
    only active users, so the other tests never meet them."""
    made: list[str] = []

    def make(prefix: str, roles: list[str], superior: str | None = None, display_name: str | None = None) -> str:
        name = f"{prefix}_{secrets.token_hex(3)}"
        data: dict[str, Any] = {"username": name, "password": "demo pass", "display_name": display_name or name, "roles": roles}
        if superior:
            data["superior"] = superior
        engine.admin.create_user(actors("admin"), data)
        made.append(name)
        return name

    yield make
    for name in made:
        engine.admin.update_user(actors("admin"), name, {"active": False})


@pytest.fixture
def flow(engine: ProcessEngine, actors: Callable[[str], Actor]) -> Flow:
    return Flow(engine, actors)
