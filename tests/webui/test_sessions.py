"""Sessions are server-side records (#18.8): logout ends a copied cookie, the 12 hours are counted
from login and never renewed, a deactivated user's cookies and tokens stay dead when they are
re-enabled, and every user sees where they are logged in and can end any of it."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import timedelta

from flask import Flask
from sqlalchemy import select, update

from engine.services.identity import SESSION_LIFETIME, hash_password
from store.models import LoginSession, User
from tests.conftest import Api
from tests.webui.conftest import Page


def _new_user(app: Flask) -> str:
    engine = app.extensions["crmflow"]
    username = f"sess_{secrets.token_hex(3)}"
    with engine.db.transaction() as session:
        session.add(User(username=username, display_name="会话", password_hash=hash_password("demo"), created_at=engine.clock()))
    return username


def _copy_cookie(app: Flask, page: Page) -> Page:
    """A second browser holding a copy of the first one's session cookie."""
    copy = Page(app.test_client(), page.username)
    cookie = page.client.get_cookie("crmflow_session")
    assert cookie is not None
    copy.client.set_cookie("crmflow_session", cookie.value)
    return copy


def test_logout_ends_a_copy_of_the_cookie_made_before(app: Flask, fresh: Callable[[str], Page]) -> None:
    page = fresh(_new_user(app))
    page.login()
    copy = _copy_cookie(app, page)
    assert copy.get("/tasks").status_code == 200
    page.post("/logout", {})
    assert copy.get("/tasks").status_code == 302


def test_the_lifetime_counts_from_login_and_use_does_not_renew_it(app: Flask, fresh: Callable[[str], Page]) -> None:
    engine = app.extensions["crmflow"]
    username = _new_user(app)
    page = fresh(username)
    page.login()
    with engine.db.sessions() as session:
        (record,) = engine.identity.sessions_of(session, session.scalar(select(User.id).where(User.username == username)))
        expires = record.expires_at
    assert expires - record.created_at == SESSION_LIFETIME
    for _ in range(3):
        assert page.get("/tasks").status_code == 200
    with engine.db.transaction() as session:
        assert session.get(LoginSession, record.token_hash).expires_at == expires  # not moved by use
        session.execute(
            update(LoginSession)
            .where(LoginSession.token_hash == record.token_hash)
            .values(expires_at=engine.clock() - timedelta(seconds=1))
        )
    assert page.get("/tasks").status_code == 302


def test_re_enabling_a_user_does_not_revive_their_old_cookie_or_token(app: Flask, api: Api, fresh: Callable[[str], Page]) -> None:
    username = _new_user(app)
    page = fresh(username)
    page.login()
    bearer = {"Authorization": f"Bearer {api.fresh_token(username)}"}
    assert api.get(None, "/api/v1/tasks", headers=bearer).status_code == 200
    for active in (False, True):
        assert api.call("PATCH", "admin", f"/api/v1/admin/users/{username}", json={"active": active}).status_code == 200
    assert page.get("/tasks").status_code == 302
    assert api.get(None, "/api/v1/tasks", headers=bearer).status_code == 401


def test_the_sessions_page_lists_browser_and_api_sessions_and_ends_one(app: Flask, api: Api, fresh: Callable[[str], Page]) -> None:
    username = _new_user(app)
    page = fresh(username)
    page.login()
    token = api.fresh_token(username)
    html = page.text("/account/sessions")
    assert html.count("data-session=") == 2 and 'aria-current="true"' in html
    engine = app.extensions["crmflow"]
    token_id = engine.identity.public_id(token)
    assert f'data-session="{token_id}"' in html
    assert page.post(f"/account/sessions/{token_id}/end", {}).status_code == 302
    assert api.get(None, "/api/v1/tasks", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert page.get("/tasks").status_code == 200  # this browser is still logged in


def test_a_user_cannot_end_someone_elses_session(app: Flask, fresh: Callable[[str], Page]) -> None:
    victim = fresh(_new_user(app))
    victim.login()
    engine = app.extensions["crmflow"]
    victim_id = engine.identity.public_id(_secret_of(victim))
    other = fresh(_new_user(app))
    other.login()
    assert other.post(f"/account/sessions/{victim_id}/end", {}).status_code == 404
    assert victim.get("/tasks").status_code == 200


def _secret_of(page: Page) -> str:
    with page.client.session_transaction() as cookie:
        return cookie["_user_id"]  # type: ignore[no-any-return]


def test_end_all_other_sessions_keeps_this_one(app: Flask, api: Api, fresh: Callable[[str], Page]) -> None:
    username = _new_user(app)
    page = fresh(username)
    page.login()
    elsewhere = fresh(username)
    elsewhere.login()
    token = api.fresh_token(username)
    assert page.post("/account/sessions/end-others", {}).status_code == 302
    assert elsewhere.get("/tasks").status_code == 302
    assert api.get(None, "/api/v1/tasks", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert page.get("/tasks").status_code == 200


def test_the_api_lists_the_callers_sessions_ends_one_and_logs_its_token_out(app: Flask, api: Api) -> None:
    username = _new_user(app)
    first, second = api.fresh_token(username), api.fresh_token(username)
    listed = api.get(None, "/api/v1/auth/sessions", headers={"Authorization": f"Bearer {first}"}).get_json()["items"]
    assert sorted(i["current"] for i in listed) == [False, True] and {i["kind"] for i in listed} == {"api"}
    other_id = next(i["id"] for i in listed if not i["current"])
    ended = api.call("DELETE", None, f"/api/v1/auth/sessions/{other_id}", headers={"Authorization": f"Bearer {first}"})
    assert ended.status_code == 204
    assert api.get(None, "/api/v1/tasks", headers={"Authorization": f"Bearer {second}"}).status_code == 401
    again = api.call("DELETE", None, f"/api/v1/auth/sessions/{other_id}", headers={"Authorization": f"Bearer {first}"})
    assert again.status_code == 404
    assert api.post(None, "/api/v1/auth/logout", headers={"Authorization": f"Bearer {first}"}).status_code == 204
    assert api.get(None, "/api/v1/tasks", headers={"Authorization": f"Bearer {first}"}).status_code == 401
