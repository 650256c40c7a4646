"""Authentication, JSON errors with the right status, health, and the OpenAPI document."""

from __future__ import annotations

import re
import secrets

from flask import Flask

from tests.conftest import Api


def test_token_login_returns_the_users_roles(api: Api) -> None:
    response = api.post(None, "/api/v1/auth/token", json={"username": "tr_lead", "password": "demo"})
    assert response.status_code == 200
    body = response.get_json()
    assert body["user"]["username"] == "tr_lead" and body["user"]["roles"] == ["dept_lead", "transport"]
    assert len(body["token"]) >= 40


def test_bad_credentials_and_missing_tokens_are_401(api: Api) -> None:
    assert api.post(None, "/api/v1/auth/token", json={"username": "gm", "password": "wrong"}).status_code == 401
    assert api.post(None, "/api/v1/auth/token", json={"username": "nobody", "password": "demo"}).status_code == 401
    response = api.get(None, "/api/v1/tasks")
    assert response.status_code == 401 and response.get_json()["error"] == "unauthorized"
    assert api.get(None, "/api/v1/tasks", headers={"Authorization": "Bearer forged"}).status_code == 401


def test_malformed_requests_get_json_errors_not_500(api: Api) -> None:
    cases = [
        api.post(None, "/api/v1/auth/token", data="{not json", content_type="application/json"),
        api.post("cs_agent1", "/api/v1/process-instances", data="[1,2]", content_type="application/json"),
        api.post("cs_agent1", "/api/v1/process-instances", json={"process_key": 5}),
        api.get("cs_agent1", "/api/v1/tasks?scope=everything"),
        api.get("cs_agent1", "/api/v1/tasks?limit=abc"),
        api.get("cs_agent1", "/api/v1/tasks?limit=100000"),
        api.get("cs_agent1", "/api/v1/process-instances?status=weird"),
        api.post("cs_agent1", "/api/v1/messages", json={"name": "x", "instance_id": "1"}),
    ]
    for response in cases:
        assert response.status_code in (400, 422), response.get_json()
        assert set(response.get_json()) >= {"error", "message"}


def test_unknown_ids_and_routes_are_404_json(api: Api) -> None:
    for path in (
        "/api/v1/tasks/00000000-0000-0000-0000-000000000000",
        "/api/v1/tasks/zzz",
        "/api/v1/process-instances/999999",
        "/api/v1/process-definitions/nope",
        "/api/v1/nothing-here",
    ):
        response = api.get("admin", path)
        assert response.status_code == 404 and response.get_json()["error"] == "not_found", path
    assert api.post("admin", "/api/v1/tasks/zzz/claim").status_code == 404
    assert api.call("DELETE", "admin", "/api/v1/tasks").status_code == 405


def test_healthz_reports_the_database(client) -> None:  # type: ignore[no-untyped-def]
    response = client.get("/healthz")
    body = response.get_json()
    assert response.status_code == 200 and {k: body[k] for k in ("status", "database")} == {"status": "ok", "database": "ok"}
    assert set(body["calendar"]) == {"known", "missing"}  # the contract's minimum, plus the calendar's years


def test_openapi_documents_exactly_the_routes_that_exist(app: Flask, api: Api) -> None:
    doc = api.get(None, "/api/v1/openapi.json").get_json()
    documented = {(path, method.upper()) for path, ops in doc["paths"].items() for method in ops}
    served = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1/"):
            path = re.sub(r"<(?:[^:>]+:)?(\w+)>", r"{\1}", rule.rule[len("/api/v1") :])
            served |= {(path, m) for m in rule.methods - {"HEAD", "OPTIONS"}}
    assert documented == served


def test_notifications_are_listed_newest_first_and_can_be_marked_read(api: Api) -> None:
    started = api.post(
        "sales1",
        "/api/v1/process-instances",
        json={"process_key": "approval_chain", "data": {"request_type": "discount_change", "title": "折扣", "amount": 0}},
    )
    assert started.status_code == 201
    task = started.get_json()["tasks"][0]
    api.post("mkt_mgr", f"/api/v1/tasks/{task['id']}/complete", json={"data": {"decision": "reject", "comment": "不批"}})
    body = api.get("sales1", "/api/v1/notifications").get_json()
    mine = [n for n in body["items"] if n["instance_id"] == started.get_json()["id"]]
    assert mine and mine[0]["kind"] == "rejected" and mine[0]["read"] is False
    assert body["unread"] >= 1
    assert api.post("sales1", f"/api/v1/notifications/{mine[0]['id']}/read").status_code == 200
    assert api.post("sales2", f"/api/v1/notifications/{mine[0]['id']}/read").status_code == 404


def test_failed_logins_are_throttled_per_user_and_per_address(api: Api, engine) -> None:  # type: ignore[no-untyped-def]
    username = f"throttled_{secrets.token_hex(3)}"
    assert api.post("admin", "/api/v1/admin/users", json={"username": username, "password": "right password"}).status_code == 201
    for _ in range(engine.identity.max_failures_per_user):
        assert api.post(None, "/api/v1/auth/token", json={"username": username, "password": "guess"}).status_code == 401
    blocked = api.post(None, "/api/v1/auth/token", json={"username": username, "password": "right password"})
    assert blocked.status_code == 429 and blocked.get_json()["error"] == "too_many_attempts"
    assert api.post(None, "/api/v1/auth/token", json={"username": "sales2", "password": "demo"}).status_code == 200
    limit = engine.identity.max_failures_per_address
    engine.identity.max_failures_per_address = 3
    try:
        for name in ("spray1", "spray2", "spray3"):
            api.post(None, "/api/v1/auth/token", json={"username": name, "password": "x"})
        assert api.post(None, "/api/v1/auth/token", json={"username": "gm", "password": "demo"}).status_code == 429
    finally:
        engine.identity.max_failures_per_address = limit
