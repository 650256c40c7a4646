"""REST API under /api/v1: bearer-token auth, JSON in and out, JSON errors with the right status."""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, current_app, g, jsonify, request
from flask.typing import ResponseReturnValue
from sqlalchemy.exc import DBAPIError
from werkzeug.exceptions import HTTPException

from engine.bpmn import forms
from engine.errors import BadRequest, EngineError
from engine.services.identity import Actor
from store.db import RETRY_AFTER_SECONDS, retryable
from webui.errors import http_code
from webui.extensions import engine

bp = Blueprint("api", __name__, url_prefix="/api/v1")
PUBLIC_ENDPOINTS = {"api.issue_token", "api.openapi"}


def actor() -> Actor:
    return g.actor  # type: ignore[no-any-return]


def error_response(status: int, code: str, message: str, headers: dict[str, str] | None = None, **extra: Any) -> ResponseReturnValue:
    body: dict[str, Any] = {"error": code, "message": message}
    body.update({k: v for k, v in extra.items() if v is not None})
    return jsonify(body), status, headers or {}


MAX_JSON_DEPTH = 32


def _check_json(value: Any, depth: int = 0) -> None:
    """Refuse what no database column can hold (NUL, lone surrogates) and absurd nesting."""
    if depth > MAX_JSON_DEPTH:
        raise BadRequest(f"the JSON body is nested more than {MAX_JSON_DEPTH} levels deep")
    if isinstance(value, str):
        if not forms.is_storable_text(value):
            raise BadRequest("text in the request contains NUL or invalid Unicode")
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_json(key, depth + 1)
            _check_json(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            _check_json(item, depth + 1)


def json_body() -> dict[str, Any]:
    """The request's JSON object, or a 400 that says why not."""
    try:
        data = request.get_json(silent=True)
    except RecursionError as exc:
        raise BadRequest("the JSON body is nested too deeply") from exc
    if data is None:
        raise BadRequest("the request body must be a JSON object (Content-Type: application/json)")
    if not isinstance(data, dict):
        raise BadRequest("the request body must be a JSON object")
    _check_json(data)
    return data


def body_with_files() -> dict[str, Any]:
    """The request's JSON object; or, sent as multipart/form-data (a form with file fields), its
    `body` part holding that JSON and a part per file field, named `data.<field>`, each put into
    the body's `data` as an upload."""
    if request.mimetype != "multipart/form-data":
        return json_body()
    try:
        data = json.loads(request.form.get("body") or "{}")
    except (ValueError, RecursionError) as exc:
        raise BadRequest("the multipart body's 'body' part must be a JSON object") from exc
    if not isinstance(data, dict) or not isinstance(data.get("data", {}), dict):
        raise BadRequest("the multipart body's 'body' part must be a JSON object, its 'data' an object")
    _check_json(data)
    values = dict(data.get("data") or {})
    for name, upload in request.files.items():
        if not name.startswith("data.") or not upload.filename:
            raise BadRequest(f"a file part is named data.<field> and has a file name, not '{name[:64]}'")
        values[name[len("data.") :]] = forms.Upload(upload.filename, upload.read())
    return {**data, "data": values}


def int_arg(name: str, default: int, low: int, high: int) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise BadRequest(f"query parameter '{name}' must be a whole number") from exc
    if not low <= value <= high:
        raise BadRequest(f"query parameter '{name}' must be between {low} and {high}")
    return value


@bp.before_request
def authenticate() -> ResponseReturnValue | None:
    texts = [request.path, *request.args.keys(), *request.args.values()]
    if not all(forms.is_storable_text(t) for t in texts):
        return error_response(400, "bad_request", "the URL contains NUL or invalid Unicode")
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return error_response(401, "unauthorized", "send Authorization: Bearer <token> (POST /api/v1/auth/token)")
    eng = engine()
    with eng.db.sessions() as session:
        found = eng.identity.actor_for_token(session, token.strip())
        if found is None:
            return error_response(401, "unauthorized", "the token is invalid or has expired")
        g.actor = found
        g.token = token.strip()
    return None


@bp.errorhandler(EngineError)
def engine_error(exc: EngineError) -> ResponseReturnValue:
    retry = exc.extra.get("retry_after")
    return error_response(exc.status, exc.code, exc.message, headers={"Retry-After": str(retry)} if retry else None, **exc.extra)


def unexpected_error(exc: Exception) -> ResponseReturnValue:
    """Any other failure: logged with its traceback, a plain 500 for the client."""
    current_app.logger.exception("unhandled error on %s %s", request.method, request.path)
    return error_response(500, "internal_error", "an unexpected error occurred; it has been logged")


@bp.errorhandler(DBAPIError)
def database_error(exc: DBAPIError) -> ResponseReturnValue:
    """A failure after which the same request may well succeed (store.db.retryable: a cut or
    refused connection, a lock or statement timeout, a deadlock, a restarting server): the action
    rolled back whole, so the client is told to retry; anything else is a logged 500."""
    if retryable(exc):
        message = "the database was briefly unavailable or busy; the request changed nothing, retry it"
        return error_response(503, "unavailable", message, headers={"Retry-After": str(RETRY_AFTER_SECONDS)})
    return unexpected_error(exc)


@bp.errorhandler(HTTPException)
def http_error(exc: HTTPException) -> ResponseReturnValue:
    status = exc.code or 500
    return error_response(status, http_code(status), exc.description or exc.name)


from webui.api import (  # noqa: E402,F401
    activities,
    admin,
    auth,
    customers,
    definitions,
    incidents,
    instances,
    messages,
    notifications,
    openapi,
    opportunities,
    substitutes,
    tasks,
    versions,
)
