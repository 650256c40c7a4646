"""POST /auth/token: exchange a username and password for a bearer token."""

from __future__ import annotations

from flask import request
from flask.typing import ResponseReturnValue

from engine.errors import ValidationFailed
from webui.api import bp, engine, error_response, json_body


@bp.post("/auth/token")
def issue_token() -> ResponseReturnValue:
    body = json_body()
    username, password = body.get("username"), body.get("password")
    if not isinstance(username, str) or not isinstance(password, str) or not username or not password:
        raise ValidationFailed({"username": "username and password are required"})
    eng = engine()
    with eng.db.transaction() as session:
        user = eng.identity.authenticate(session, username[:64], password[:1024], request.remote_addr or "-")
        if user is None:
            return error_response(401, "invalid_credentials", "unknown user or wrong password")
        token = eng.identity.issue_token(session, user)
        return {"token": token, "user": {"username": user.username, "display_name": user.display_name, "roles": user.role_names}}
