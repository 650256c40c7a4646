"""Department budgets (/budgets, seed 000; finance and admins): every department's month with its
budget, approved, pending and remaining, each budget edited in its row."""

from __future__ import annotations

from flask import render_template, request, url_for
from flask.typing import ResponseReturnValue

from engine.errors import ValidationFailed
from engine.services.budgets import month_of
from webui import labels
from webui.i18n import gettext as _
from webui.ui import actor, done, eng, money, page_blueprint

bp = page_blueprint("budgets", __name__)


def _month() -> str:
    asked = (request.args.get("month") or request.form.get("month") or "")[:7]
    try:
        month_of(asked)
        return asked
    except ValidationFailed:
        return eng().clock().astimezone(eng().settings.timezone).strftime("%Y-%m")


@bp.get("/budgets")
def index() -> ResponseReturnValue:
    engine = eng()
    month = _month()
    with engine.db.sessions() as session:
        rows = engine.budgets.month(session, actor(), month)
    return render_template("budgets/index.html", rows=rows, month=month)


@bp.post("/budgets/<code>")
def save(code: str) -> ResponseReturnValue:
    month = _month()
    back = url_for("budgets.index", month=month)
    try:
        figures = eng().budgets.set(actor(), code, month, {"amount": request.form.get("amount", "").replace(",", "").strip()})
    except ValidationFailed as exc:
        detail = "; ".join(labels.field_error(v) for v in exc.fields.values())
        return done(_("Not saved: %(detail)s", detail=detail), back, "error", events=())
    return done(_("Saved: the budget is %(amount)s.", amount=money(figures.amount)), back)
