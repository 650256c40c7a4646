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
from tests.conftest import FIXTURES, PG_ADMIN_DSN, Api
from tests.webui.conftest import Page


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


def _own_app(url: str) -> Flask:
    upgrade(url)
    app = create_app({"TESTING": True, "DATABASE_URL": url, "SCHEDULER_ENABLED": False})
    seed_demo(app.extensions["crmflow"])
    return app


def test_a_page_met_by_a_cut_connection_is_a_503_that_needs_no_database(
    pg_database: Callable[[], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The outage page is served without the signed-in user or the locale (both would need the
    database): both languages, Retry-After, a reload after it; an htmx request gets a toast."""
    url = pg_database()
    app = _own_app(url)
    try:
        page = Page(app.test_client(), "cs_agent1")
        page.login()
        monkeypatch.setattr(store_db, "IDLE_PING_SECONDS", 3600.0)
        for htmx in (False, True):
            _cut_every_connection(url)
            lost = page.get("/tasks", htmx=htmx)
            assert lost.status_code == 503 and lost.headers["Retry-After"] == "1"
            if htmx:
                assert "crm-toast" in lost.headers["HX-Trigger"] and lost.headers["HX-Reswap"] == "none"
            else:
                body = lost.get_data(as_text=True)
                assert "请稍后重试" in body and "nothing was changed" in body and 'http-equiv="refresh" content="1"' in body
        assert page.get("/tasks").status_code == 200
    finally:
        app.extensions["crmflow"].db.dispose()


def test_a_completion_waiting_past_the_lock_timeout_is_told_to_retry_and_changes_nothing(
    pg_database: Callable[[], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A host that vanished mid-transaction holds its instance's lock until the server ends its
    session: meanwhile a completion elsewhere waits DATABASE_LOCK_TIMEOUT, not forever."""
    monkeypatch.setenv("DATABASE_LOCK_TIMEOUT", "0.3")
    url = pg_database()
    app = _own_app(url)
    engine = app.extensions["crmflow"]
    try:
        engine.repository.deploy([("race_review.bpmn", (FIXTURES / "race_review.bpmn").read_bytes())], "admin")
        with engine.db.sessions() as session:
            instance = engine.runtime.start(engine.identity.actor(session, "sales1"), "race_review", {})
        api = Api(app.test_client(), {})
        task = api.get("sales1", f"/api/v1/tasks?scope=available&instance_id={instance.id}").get_json()["items"][0]
        with psycopg.connect(url.replace("+psycopg", "")) as holder:
            holder.execute("SELECT id FROM process_instances WHERE id = %s FOR UPDATE", (instance.id,))
            waited = api.post("sales1", f"/api/v1/tasks/{task['id']}/complete", json={"data": {}})
            assert waited.status_code == 503 and waited.headers["Retry-After"] == "1"
            assert waited.get_json()["error"] == "unavailable"
        assert api.get("sales1", f"/api/v1/process-instances/{instance.id}").get_json()["history"][-1]["action"] != "complete"
        done = api.post("sales1", f"/api/v1/tasks/{task['id']}/complete", json={"data": {}})
        assert done.status_code == 200
    finally:
        engine.db.dispose()


def _cut_every_connection(url: str) -> None:
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as admin:
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            (make_url(url).database,),
        )


def test_any_other_database_error_is_a_logged_500(api: Api, app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    """Only a cut connection is retryable; a failing statement stays the usual internal error."""

    def failing(*args: object, **kwargs: object) -> None:
        raise OperationalError("SELECT 1", {}, Exception("disk full"))

    monkeypatch.setattr(app.extensions["crmflow"].repository, "list_latest", failing)
    monkeypatch.setitem(app.config, "PROPAGATE_EXCEPTIONS", False)
    response = api.get("cs_sup", "/api/v1/process-definitions")
    assert response.status_code == 500 and "Retry-After" not in response.headers
    assert response.get_json() == {"error": "internal_error", "message": "an unexpected error occurred; it has been logged"}
