"""The user's own settings beyond login: out of office (代理人). The same page names a report's
substitute for their superior, and anyone's for an admin (`?username=`); engine.authorization
decides who may."""

from __future__ import annotations

from typing import Any

from flask import render_template, request, url_for
from flask.typing import ResponseReturnValue

from engine.errors import ValidationFailed
from webui import labels
from webui.i18n import gettext as _
from webui.ui import actor, done, eng, page_blueprint

bp = page_blueprint("account", __name__)


def _whose(source: Any) -> str:
    value = source.get("username")
    return value[:64] if isinstance(value, str) and value else actor().username


def _page(username: str, values: dict[str, str] | None = None, errors: dict[str, str] | None = None) -> str:
    engine = eng()
    me = actor()
    with engine.db.sessions() as session:
        current = engine.substitutes.get(session, me, username)
        people = engine.substitutes.choices(session, me, username)
        covering = engine.substitutes.covering(session, me) if username == me.username else []
        names = engine.identity.display_names(session)
    today = engine.identity.today().isoformat()
    shown = values or (
        {"substitute": current.substitute, "from": current.starts_on.isoformat(), "until": current.ends_on.isoformat()}
        if current
        else {"from": today, "until": today}
    )
    return render_template(
        "account/substitute.html",
        username=username,
        own=username == me.username,
        who=names.get(username, username),
        current=current,
        people=people,
        covering=covering,
        values=shown,
        errors=errors or {},
        today=today,
    )


@bp.get("/account/substitute")
def substitute() -> ResponseReturnValue:
    return _page(_whose(request.args))


@bp.post("/account/substitute")
def name_substitute() -> ResponseReturnValue:
    username = _whose(request.form)
    values = {k: request.form.get(k, "")[:64] for k in ("substitute", "from", "until")}
    data = {"username": values["substitute"], "from": values["from"], "until": values["until"]}
    try:
        eng().substitutes.name(actor(), username, data)
    except ValidationFailed as exc:
        errors = {("substitute" if k == "username" else k): labels.field_error(v) for k, v in exc.fields.items()}
        return _page(username, values, errors), 422
    back = url_for("account.substitute", username=None if username == actor().username else username)
    return done(_("The substitute is named: they see and may act on the work during these days."), back, events=())


@bp.post("/account/substitute/end")
def end_substitute() -> ResponseReturnValue:
    username = _whose(request.form)
    eng().substitutes.clear(actor(), username)
    back = url_for("account.substitute", username=None if username == actor().username else username)
    return done(_("The substitute arrangement has ended."), back, events=())
