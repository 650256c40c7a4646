"""Login, logout, sessions, CSRF, languages and the security headers of the browser pages."""

from __future__ import annotations

import secrets
from collections.abc import Callable

from flask import Flask
from sqlalchemy import select, update

from engine.services.identity import hash_password
from store.models import User
from tests.webui.conftest import Page


def test_pages_need_a_login_and_come_back_after_it(fresh: Callable[[str], Page]) -> None:
    page = fresh("cs_sup")
    response = page.get("/tasks?tab=available")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=/tasks?tab%3Davailable"
    htmx = page.get("/tasks", htmx=True)
    assert htmx.status_code == 401 and htmx.headers["HX-Redirect"].startswith("/login")
    form = page.get("/login?next=/tasks?tab%3Davailable").get_data(as_text=True)
    page.token = form.split('name="csrf_token" value="')[1].split('"')[0]
    done = page.post("/login", {"username": "cs_sup", "password": "demo", "next": "/tasks?tab=available"})
    assert done.status_code == 302 and done.headers["Location"] == "/tasks?tab=available"


def test_a_wrong_password_is_refused_without_saying_which_part_was_wrong(fresh: Callable[[str], Page]) -> None:
    page = fresh("cs_sup")
    response = page.login(password="wrong")
    assert response.status_code == 401
    assert "用户名或密码错误" in response.get_data(as_text=True)
    unknown = fresh("nobody").login()
    assert unknown.status_code == 401
    assert page.get("/tasks").status_code == 302


def test_repeated_failures_are_throttled(fresh: Callable[[str], Page]) -> None:
    page = fresh("ghost")
    page.token = page.get("/login").get_data(as_text=True).split('name="csrf_token" value="')[1].split('"')[0]
    address = {"REMOTE_ADDR": "10.9.8.7"}  # its own address, so the rest of the suite is not throttled
    statuses = [page.post("/login", {"username": "ghost", "password": "x"}, environ_base=address).status_code for _ in range(6)]
    assert statuses == [401] * 5 + [429]
    assert "15 分钟" in page.post("/login", {"username": "ghost", "password": "x"}, environ_base=address).get_data(as_text=True)


def test_next_only_goes_to_this_site(fresh: Callable[[str], Page]) -> None:
    for target in ("//evil.example/x", "https://evil.example/", "/\\evil.example"):
        page = fresh("cs_sup")
        page.token = page.get("/login").get_data(as_text=True).split('name="csrf_token" value="')[1].split('"')[0]
        response = page.post("/login", {"username": "cs_sup", "password": "demo", "next": target})
        assert response.status_code == 302 and response.headers["Location"] == "/tasks", target


def test_every_form_needs_the_csrf_token(fresh: Callable[[str], Page]) -> None:
    page = fresh("cs_sup")
    assert page.post("/login", {"username": "cs_sup", "password": "demo"}, csrf=False).status_code == 400
    page.login()
    for path in ("/logout", "/settings/language", "/tasks/bulk", "/filters", "/notifications/read-all"):
        response = page.post(path, {}, csrf=False)
        assert response.status_code == 400, path
        assert "表单已过期" in response.get_data(as_text=True)
    assert page.get("/tasks").status_code == 200  # still logged in: nothing happened


def test_logout_is_a_post_and_ends_the_session(fresh: Callable[[str], Page]) -> None:
    page = fresh("cs_agent1")
    page.login()
    assert page.get("/logout").status_code == 405
    assert page.post("/logout").status_code == 302
    assert page.get("/tasks").status_code == 302


def test_session_cookie_and_security_headers(fresh: Callable[[str], Page]) -> None:
    page = fresh("cs_sup")
    response = page.login()
    cookie = next(h for h in response.headers.getlist("Set-Cookie") if h.startswith("crmflow_session="))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    tasks = page.get("/tasks")
    assert "script-src 'self'" in tasks.headers["Content-Security-Policy"]
    assert tasks.headers["X-Frame-Options"] == "DENY" and tasks.headers["Cache-Control"] == "no-store"


def test_the_root_sends_browsers_to_the_worklist_and_api_clients_to_the_index(app: Flask) -> None:
    client = app.test_client()
    assert client.get("/", headers={"Accept": "text/html"}).headers["Location"] == "/tasks"
    assert client.get("/", headers={"Accept": "application/json"}).get_json()["api"] == "/api/v1"


def test_chinese_by_default_english_per_user_and_kept_across_logins(fresh: Callable[[str], Page]) -> None:
    page = fresh("sales2")
    page.login()
    assert "待办事项" in page.text("/tasks") and 'lang="zh-CN"' in page.text("/tasks")
    assert page.post("/settings/language", {"locale": "en", "next": "/tasks"}).headers["Location"] == "/tasks"
    english = page.text("/tasks")
    assert 'lang="en"' in english and "Worklist" in english and "Available to my roles" in english and "待办事项" not in english
    again = fresh("sales2")
    again.login()
    assert "Available to my roles" in again.text("/tasks")
    again.post("/settings/language", {"locale": "zh_CN", "next": "/tasks"})
    assert "可领取" in again.text("/tasks")
    assert again.post("/settings/language", {"locale": "fr"}).status_code == 302
    assert "可领取" in again.text("/tasks")


def test_the_login_page_speaks_the_browser_language_and_can_switch(fresh: Callable[[str], Page]) -> None:
    page = fresh("x")
    assert "登录" in page.get("/login").get_data(as_text=True)
    english = page.get("/login", headers={"Accept-Language": "en-US,en;q=0.9"}).get_data(as_text=True)
    assert "Log in to your worklist" in english
    page.token = english.split('name="csrf_token" value="')[1].split('"')[0]
    page.post("/settings/language", {"locale": "en", "next": "/login"})
    assert "Log in to your worklist" in page.get("/login").get_data(as_text=True)


def test_a_password_reset_ends_existing_sessions(app: Flask, fresh: Callable[[str], Page]) -> None:
    page = fresh("mkt_mgr")
    page.login()
    assert page.get("/tasks").status_code == 200
    engine = app.extensions["crmflow"]
    with engine.db.sessions() as session:
        old = session.scalar(select(User.password_hash).where(User.username == "mkt_mgr"))
        admin = engine.identity.actor(session, "admin")
    engine.admin.reset_password(admin, "mkt_mgr", "a-new-password-1")
    try:
        assert page.get("/tasks").status_code == 302
    finally:
        with engine.db.transaction() as session:
            session.execute(update(User).where(User.username == "mkt_mgr").values(password_hash=old))


def test_the_holder_reads_in_their_language_that_their_account_was_throttled(app: Flask, fresh: Callable[[str], Page]) -> None:
    engine = app.extensions["crmflow"]
    username = f"told_{secrets.token_hex(3)}"
    with engine.db.transaction() as session:
        session.add(User(username=username, display_name="被告知", password_hash=hash_password("demo"), created_at=engine.clock()))
    for _ in range(engine.identity.max_failures_per_user):
        with engine.db.transaction() as session:
            engine.identity.authenticate(session, username, "guess", "198.51.100.7")
    page = fresh(username)
    page.login()  # from the test client's own address: the guesser's does not lock the holder out
    html = page.text("/notifications")
    assert "安全" in html and "198.51.100.7" in html and "15 分钟" in html
