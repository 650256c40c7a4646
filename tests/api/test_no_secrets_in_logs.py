"""Passwords and tokens never reach the logs, whatever happens to the request."""

from __future__ import annotations

import logging
import secrets

import pytest

from tests.conftest import Api


def test_passwords_and_tokens_stay_out_of_the_logs(api: Api, caplog: pytest.LogCaptureFixture) -> None:
    username = f"logcheck_{secrets.token_hex(3)}"
    first, second = "Sup3r-secret-pass", "An0ther-secret-pass"
    # Every SQL statement is logged with its parameters here: only hashes may reach the database.
    caplog.set_level(logging.INFO, logger="sqlalchemy.engine")
    with caplog.at_level(logging.DEBUG):
        assert api.post("admin", "/api/v1/admin/users", json={"username": username, "password": first}).status_code == 201
        api.post(None, "/api/v1/auth/token", json={"username": username, "password": second})
        token = api.post(None, "/api/v1/auth/token", json={"username": username, "password": first}).get_json()["token"]
        api.get(None, "/api/v1/tasks", headers={"Authorization": f"Bearer {token}"})
        api.get(None, "/api/v1/tasks", headers={"Authorization": f"Bearer {token}x"})
        api.post("admin", f"/api/v1/admin/users/{username}/password", json={"password": second})
        api.post(
            None, "/api/v1/auth/token", data='{"username": "' + username + '", "password": "' + first + '"', content_type="application/json"
        )
    assert any("login_attempts" in r.getMessage() for r in caplog.records), "the SQL should have been logged (or this test proves nothing)"
    for secret in (first, second, token):
        assert secret not in caplog.text
