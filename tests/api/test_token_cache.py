"""API tokens are remembered a few seconds per process (a burst of calls skips the database for
authentication); a change to the user made in this process takes effect at once, one made
elsewhere within TOKEN_CACHE_SECONDS."""

from __future__ import annotations

import secrets

import pytest
from flask import Flask
from sqlalchemy import delete, select

from engine.services import identity
from store.models import LoginSession, User
from tests.conftest import Api


def _user_with_token(api: Api) -> tuple[str, dict[str, str]]:
    username = f"cached_{secrets.token_hex(3)}"
    created = api.post("admin", "/api/v1/admin/users", json={"username": username, "password": "long enough", "roles": ["cs_agent"]})
    assert created.status_code == 201, created.get_json()
    token = api.post(None, "/api/v1/auth/token", json={"username": username, "password": "long enough"}).get_json()["token"]
    return username, {"Authorization": f"Bearer {token}"}


def test_a_token_revoked_by_another_process_stops_working_within_the_cache_time(
    api: Api, app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    username, bearer = _user_with_token(api)
    assert api.get(None, "/api/v1/tasks", headers=bearer).status_code == 200
    engine = app.extensions["crmflow"]
    with engine.db.transaction() as session:  # what another app process's revocation leaves behind
        user_id = session.scalar(select(User.id).where(User.username == username))
        session.execute(delete(LoginSession).where(LoginSession.user_id == user_id))
    monkeypatch.setattr(identity, "TOKEN_CACHE_SECONDS", 3600.0)
    assert api.get(None, "/api/v1/tasks", headers=bearer).status_code == 200  # still remembered here
    monkeypatch.setattr(identity, "TOKEN_CACHE_SECONDS", 0.0)  # the cache time has passed
    assert api.get(None, "/api/v1/tasks", headers=bearer).status_code == 401


def test_deactivating_a_user_ends_their_remembered_token_at_once(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    username, bearer = _user_with_token(api)
    monkeypatch.setattr(identity, "TOKEN_CACHE_SECONDS", 3600.0)
    assert api.get(None, "/api/v1/tasks", headers=bearer).status_code == 200
    assert api.call("PATCH", "admin", f"/api/v1/admin/users/{username}", json={"active": False}).status_code == 200
    assert api.get(None, "/api/v1/tasks", headers=bearer).status_code == 401


def test_a_role_taken_away_applies_at_once_in_this_process(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    username, bearer = _user_with_token(api)
    assert api.call("PATCH", "admin", f"/api/v1/admin/users/{username}", json={"roles": ["cs_agent", "admin"]}).status_code == 200
    monkeypatch.setattr(identity, "TOKEN_CACHE_SECONDS", 3600.0)
    assert api.get(None, "/api/v1/incidents", headers=bearer).status_code == 200  # an admin now, and remembered so
    assert api.call("PATCH", "admin", f"/api/v1/admin/users/{username}", json={"roles": ["cs_agent"]}).status_code == 200
    assert api.get(None, "/api/v1/incidents", headers=bearer).status_code == 403
