"""POST /auth/token: exchange a username and password for a bearer token; the caller's sessions
and tokens (list, end one), and logout of the token in use."""

from __future__ import annotations

from flask import g, request
from flask.typing import ResponseReturnValue

from engine.errors import NotFound, ValidationFailed
from webui.api import actor, bp, engine, error_response, json_body


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
        token = eng.identity.issue_token(session, user, request.remote_addr or "-", request.user_agent.string)
        return {"token": token, "user": {"username": user.username, "display_name": user.display_name, "roles": user.role_names}}


@bp.get("/auth/sessions")
def list_sessions() -> ResponseReturnValue:
    eng = engine()
    current = eng.identity.public_id(g.token)
    with eng.db.sessions() as session:
        items = eng.identity.sessions_of(session, actor().user_id)
        return {
            "items": [
                {
                    "id": s.public_id,
                    "kind": s.kind,
                    "created_at": s.created_at.isoformat(),
                    "expires_at": s.expires_at.isoformat(),
                    "address": s.address,
                    "user_agent": s.user_agent,
                    "current": s.public_id == current,
                }
                for s in items
            ]
        }


@bp.delete("/auth/sessions/<string(length=16):public_id>")
def end_session(public_id: str) -> ResponseReturnValue:
    eng = engine()
    with eng.db.transaction() as session:
        if not eng.identity.end_session_by_id(session, actor().user_id, public_id):
            raise NotFound("no such session")
    return "", 204


@bp.post("/auth/logout")
def logout() -> ResponseReturnValue:
    """End the token this request carries: a copy of it no longer works either."""
    eng = engine()
    with eng.db.transaction() as session:
        eng.identity.end_session(session, g.token)
    return "", 204
