"""Liveness and readiness: `/healthz` answers 503 when the database is unreachable."""

from __future__ import annotations

from flask import Blueprint, jsonify, redirect, request, url_for
from flask.typing import ResponseReturnValue

from engine import calendar
from webui.extensions import engine

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> ResponseReturnValue:
    if not engine().db.reachable():
        return jsonify(status="degraded", database="unavailable"), 503
    today = engine().clock().astimezone(engine().settings.timezone).date()
    known = calendar.known_years()
    years = {"known": [known[0], known[-1]] if known else [], "missing": calendar.missing_years(today)}
    return jsonify(status="ok", database="ok", calendar=years)


@bp.get("/")
def index() -> ResponseReturnValue:
    """Browsers go to their worklist (or the login page); API clients asking for JSON get the index."""
    if request.accept_mimetypes.best == "application/json":
        return jsonify(name="CRMFlow", api="/api/v1", openapi="/api/v1/openapi.json", health="/healthz")
    return redirect(url_for("worklist.index"))
