"""One map from what went wrong to what the client gets, for the API and the pages alike.

An EngineError carries its own code and HTTP status (engine/errors.py). A Werkzeug HTTP error gets
its code here. Under /api/ the answer is the JSON error of the contract; elsewhere the styled error
page in the user's language (webui.ui), also for addresses no route knows.
"""

from __future__ import annotations

from flask import Flask, request
from flask.typing import ResponseReturnValue
from sqlalchemy.exc import DBAPIError
from werkzeug.exceptions import HTTPException

from engine.errors import EngineError

HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "validation_failed",
    429: "too_many_attempts",
    503: "unavailable",
}


def http_code(status: int) -> str:
    return HTTP_CODES.get(status, "error")


def _is_api() -> bool:
    return request.path.startswith("/api/")


def init_app(app: Flask) -> None:
    """Errors raised outside any blueprint's own handlers: unknown addresses, the app's hooks."""
    from webui import api, ui

    @app.errorhandler(HTTPException)
    def any_http_error(exc: HTTPException) -> ResponseReturnValue:
        return api.http_error(exc) if _is_api() else ui.http_error_page(exc)

    @app.errorhandler(EngineError)
    def any_engine_error(exc: EngineError) -> ResponseReturnValue:
        return api.engine_error(exc) if _is_api() else ui.engine_error_page(exc)

    @app.errorhandler(DBAPIError)
    def any_database_error(exc: DBAPIError) -> ResponseReturnValue:
        if _is_api():
            return api.database_error(exc)
        return ui.database_error_page(exc)

    @app.errorhandler(Exception)
    def any_error(exc: Exception) -> ResponseReturnValue:
        return api.unexpected_error(exc) if _is_api() else ui.unexpected_error_page(exc)
