"""Out of office over the API: one's own substitute (`/me/substitute`, the contract) and, for
superiors and admins, a report's (`/users/{username}/substitute`)."""

from __future__ import annotations

from flask.typing import ResponseReturnValue

from webui.api import actor, bp, engine, json_body


def _show(username: str) -> ResponseReturnValue:
    eng = engine()
    with eng.db.sessions() as session:
        found = eng.substitutes.get(session, actor(), username)
        covering = eng.substitutes.covering(session, actor()) if username == actor().username else None
    body = {"substitute": found.as_dict() if found else None}
    if covering is not None:
        body["covering"] = [a.as_dict() for a in covering]
    return body


def _name(username: str) -> ResponseReturnValue:
    return {"substitute": engine().substitutes.name(actor(), username, json_body()).as_dict()}


def _clear(username: str) -> ResponseReturnValue:
    engine().substitutes.clear(actor(), username)
    return "", 204


@bp.get("/me/substitute")
def my_substitute() -> ResponseReturnValue:
    return _show(actor().username)


@bp.put("/me/substitute")
def name_my_substitute() -> ResponseReturnValue:
    return _name(actor().username)


@bp.delete("/me/substitute")
def clear_my_substitute() -> ResponseReturnValue:
    return _clear(actor().username)


@bp.get("/users/<username>/substitute")
def user_substitute(username: str) -> ResponseReturnValue:
    return _show(username)


@bp.put("/users/<username>/substitute")
def name_user_substitute(username: str) -> ResponseReturnValue:
    return _name(username)


@bp.delete("/users/<username>/substitute")
def clear_user_substitute(username: str) -> ResponseReturnValue:
    return _clear(username)
