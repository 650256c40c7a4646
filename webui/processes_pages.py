"""Start a process (/processes): the processes this user may start, each with its start form."""

from __future__ import annotations

from typing import Any

from flask import abort, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy.orm import Session

from engine.errors import TooLarge, ValidationFailed
from engine.services.presentation import start_form
from store.models import ProcessDefinition
from webui import labels
from webui.documents import xml_response
from webui.extensions import page_session
from webui.i18n import gettext as _
from webui.ui import actor, done, eng, page_blueprint, submitted_form

bp = page_blueprint("processes", __name__)


def _latest_startable(session: Session, key: str) -> ProcessDefinition:
    """The latest version; 404 for an unknown key or one this user may not start (the list never
    offers it, so a guessed key learns nothing)."""
    definition = eng().repository.latest(session, key)
    if not eng().authorization.may_start(definition, actor()):
        abort(404)
    return definition


def _startable(key: str) -> tuple[ProcessDefinition, list[dict[str, Any]]]:
    """The latest version and its start form (defaults computed)."""
    engine = eng()
    with engine.db.sessions() as session:
        definition = _latest_startable(session, key)
        return definition, start_form(engine, session, definition, actor().username)


@bp.get("/processes")
def index() -> ResponseReturnValue:
    engine = eng()
    session = page_session()
    startable = [d for d in engine.repository.list_latest(session) if engine.authorization.may_start(d, actor())]
    forms = {d.key: start_form(engine, session, d, actor().username) for d in startable}
    return render_template("processes/index.html", definitions=startable, forms=forms)


@bp.get("/processes/<key>/start")
def start_page(key: str) -> ResponseReturnValue:
    definition, form = _startable(key)
    values = {f["id"]: f.get("default") for f in form}
    # Prefilled from the address (the customer page starts a complaint with its customer filled in).
    values.update({f["id"]: request.args[f["id"]][:300] for f in form if f["id"] in request.args and not f.get("readonly")})
    return render_template("processes/start.html", definition=definition, form=form, values=values, errors={})


@bp.post("/processes/<key>/start")
def start(key: str) -> ResponseReturnValue:
    definition, form = _startable(key)
    values = submitted_form(form)
    try:
        instance = eng().runtime.start(actor(), key, values)
    except ValidationFailed as exc:
        errors = {k: labels.field_error(v) for k, v in exc.fields.items()}
        page = render_template(
            "processes/start.html",
            definition=definition,
            form=form,
            values=values,
            errors=errors,
            alert=_("Please correct the marked fields."),
        )
        return page, 422
    except TooLarge as exc:  # a file field's file over the limit: the form again, nothing started
        page = render_template(
            "processes/start.html", definition=definition, form=form, values=values, errors={}, alert=labels.error_message(exc)
        )
        return page, exc.status
    name = labels.process_name(definition.key, definition.name)
    return done(_("Started “%(name)s” (#%(id)s).", name=name, id=instance.id), url_for("instances.show", instance_id=instance.id))


@bp.get("/processes/<key>/diagram.bpmn")
def diagram(key: str) -> ResponseReturnValue:
    with eng().db.sessions() as session:
        definition = _latest_startable(session, key)
    return xml_response(definition.bpmn_xml)


@bp.get("/processes/<key>")
def redirect_to_start(key: str) -> ResponseReturnValue:
    return redirect(url_for("processes.start_page", key=key))
