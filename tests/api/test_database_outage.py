"""A database restart under the API: the request that meets a cut connection gets a 503 that says
to retry (nothing changed), and the next request works on fresh connections."""

from __future__ import annotations

from collections.abc import Callable

import psycopg
import pytest
from flask import Flask
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from app import create_app
from processes.demo import seed_demo
from store import db as store_db
from store.schema import upgrade
from tests.conftest import PG_ADMIN_DSN, Api


def test_a_cut_connection_gives_a_retryable_503_then_service_resumes(
    pg_database: Callable[[], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    url = pg_database()  # a database of its own: every connection to it is cut below
    upgrade(url)
    app = create_app({"TESTING": True, "DATABASE_URL": url, "SCHEDULER_ENABLED": False})
    engine = app.extensions["crmflow"]
    seed_demo(engine)
    api = Api(app.test_client(), {})
    try:
        assert api.get("cs_agent1", "/api/v1/notifications").status_code == 200  # the pool holds a live connection
        monkeypatch.setattr(store_db, "IDLE_PING_SECONDS", 3600.0)  # in steady use: no check at checkout
        with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as admin:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                (make_url(url).database,),
            )
        lost = api.get("cs_agent1", "/api/v1/notifications")
        assert lost.status_code == 503 and lost.headers["Retry-After"] == "1"
        assert lost.get_json()["error"] == "unavailable" and "retry" in lost.get_json()["message"]
        assert api.get("cs_agent1", "/api/v1/notifications").status_code == 200
    finally:
        engine.db.dispose()


def test_any_other_database_error_is_a_logged_500(api: Api, app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    """Only a cut connection is retryable; a failing statement stays the usual internal error."""

    def failing(*args: object, **kwargs: object) -> None:
        raise OperationalError("SELECT 1", {}, Exception("disk full"))

    monkeypatch.setattr(app.extensions["crmflow"].repository, "list_latest", failing)
    monkeypatch.setitem(app.config, "PROPAGATE_EXCEPTIONS", False)
    response = api.get("cs_sup", "/api/v1/process-definitions")
    assert response.status_code == 500 and "Retry-After" not in response.headers
    assert response.get_json() == {"error": "internal_error", "message": "an unexpected error occurred; it has been logged"}
