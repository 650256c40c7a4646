"""An instance (/instances/<id>): status, business data, open tasks, the diagram with its state, and
the history. 404 for an instance the user may not see, exactly as for one that does not exist."""

from __future__ import annotations

import re

from flask import render_template, request, url_for
from flask.typing import ResponseReturnValue

from engine.errors import Conflict, TooLarge, TooSoon, ValidationFailed
from engine.services.activities import ACTIVITY_KINDS
from engine.services.chain_steps import countersign
from engine.services.presentation import diagram_state, element_names, field_catalogue
from webui import context, labels
from webui.documents import attachment_response, xml_response
from webui.extensions import page_session
from webui.i18n import gettext as _
from webui.ui import actor, done, eng, error_page, page_blueprint, person

bp = page_blueprint("instances", __name__)
TASK_ID = re.compile(r"^[0-9a-f-]{36}$")


@bp.get("/instances/<int(min=1, max=2147483647):instance_id>")
def show(instance_id: int) -> ResponseReturnValue:
    engine = eng()
    me = actor()
    session = page_session()
    instance = engine.runtime.get(session, me, instance_id)
    definition = engine.repository.summary(session, instance.definition_id)  # the XML comes from diagram.bpmn
    catalogue = field_catalogue(engine, session, instance.definition_id)
    names = element_names(engine, session, instance.definition_id)
    history = engine.history.for_instance(session, instance.id)
    open_tasks = engine.runtime.open_tasks(session, [instance.id])
    visible = {t.id for t in open_tasks if engine.authorization.may_view_task(session, me, t)}
    diagram = diagram_state(engine, session, instance).as_dict()
    lead, lead_activities = engine.activities.of_instance(session, instance.id)
    attachments = engine.attachments.listed(session, instance.id)  # engine.runtime.get checked who sees it
    may_operate = engine.authorization.may_administer(me)
    running = instance.status == "running"
    may_urge = running and engine.authorization.may_urge(me, instance)
    may_withdraw = running and engine.authorization.may_withdraw(me, instance)
    # Admins see where it failed: the incident's element marked on the diagram, its error and a retry.
    incidents = engine.jobs.incidents(session, me, instance.id) if may_operate else []
    diagram["incidents"] = sorted({j.element_id for j in incidents if j.element_id})
    signers = countersign(session, instance)
    data = instance.data or {}
    return render_template(
        "instances/show.html",
        instance=instance,
        definition=definition,
        cards=context.cards(instance.process_key, data, catalogue, started=(instance.started_by, instance.started_at)),
        decisions=context.decisions(history, catalogue, names),
        chain=context.approval_chain(instance.process_key, data),
        signers=signers,
        open_tasks=open_tasks,
        visible=visible,
        history=history,
        names=names,
        catalogue=catalogue,
        diagram=diagram,
        lead=lead,
        lead_activities=lead_activities,
        may_operate=may_operate,
        may_urge=may_urge,
        attachments=attachments,
        may_withdraw=may_withdraw,
        incidents=incidents,
        suspension=next((e for e in reversed(history) if e.action == "suspend"), None) if instance.status == "suspended" else None,
        termination=next((e for e in reversed(history) if e.action in ("terminate", "withdraw")), None)
        if instance.status == "terminated"
        else None,
        activity_kinds=ACTIVITY_KINDS,
        now=engine.clock(),
    )


@bp.get("/instances/<int(min=1, max=2147483647):instance_id>/diagram.bpmn")
def diagram(instance_id: int) -> ResponseReturnValue:
    """The BPMN of the version this instance runs, for the viewer (same visibility as the page)."""
    engine = eng()
    with engine.db.sessions() as session:
        instance = engine.runtime.get(session, actor(), instance_id)
        xml = engine.repository.bpmn_xml(session, definition_id=instance.definition_id)
    return xml_response(xml)


OPERATIONS = ("suspend", "resume", "terminate")


@bp.post("/instances/<int(min=1, max=2147483647):instance_id>/operations")
def operate(instance_id: int) -> ResponseReturnValue:
    """An admin suspends, resumes or terminates the instance, with the reason typed on its page."""
    back = url_for("instances.show", instance_id=instance_id)
    operation = request.form.get("operation", "")
    if operation not in OPERATIONS:
        return error_page(400, _("This action is not available here."))
    service = eng().instances
    act = {"suspend": service.suspend, "resume": service.resume, "terminate": service.terminate}[operation]
    try:
        act(actor(), instance_id, {"reason": request.form.get("reason", "")})
    except ValidationFailed as exc:
        detail = "; ".join(labels.field_error(v) for v in exc.fields.values())
        return done(_("Not done: give the reason (%(detail)s).", detail=detail), back + "#operations", "error", events=())
    except Conflict as exc:
        return done(labels.error_message(exc), back, "warning", events=())
    messages = {
        "suspend": _("Suspended: its tasks wait and its timers are held until it is resumed."),
        "resume": _("Resumed: its tasks can be done again, and timers due meanwhile fire now."),
        "terminate": _("Terminated: its tasks left every worklist."),
    }
    return done(messages[operation], back)


@bp.post("/instances/<int(min=1, max=2147483647):instance_id>/requester")
def requester(instance_id: int) -> ResponseReturnValue:
    """The requester urges (催办) whoever the request waits for, or withdraws it (撤回)."""
    back = url_for("instances.show", instance_id=instance_id)
    action = request.form.get("action", "")
    service = eng().requests
    try:
        if action == "urge":
            told = service.urge(actor(), instance_id)
            return done(_("Urged: %(people)s told.", people="、".join(person(u) for u in told)), back)
        if action == "withdraw":
            service.withdraw(actor(), instance_id, {"reason": request.form.get("reason", "")})
            return done(_("Withdrawn: it left every worklist."), back)
    except ValidationFailed as exc:
        detail = "; ".join(labels.field_error(v) for v in exc.fields.values())
        return done(_("Not done: %(detail)s", detail=detail), back + "#requester", "error", events=())
    except (Conflict, TooSoon) as exc:
        return done(labels.error_message(exc), back, "warning", events=())
    return error_page(400, _("This action is not available here."))


@bp.post("/instances/<int(min=1, max=2147483647):instance_id>/comments")
def comment(instance_id: int) -> ResponseReturnValue:
    """A comment typed under the history of the instance page or of one of its task pages."""
    task_id = request.form.get("task_id", "")
    back = url_for("tasks.show", task_id=task_id) if TASK_ID.match(task_id) else url_for("instances.show", instance_id=instance_id)
    try:
        eng().comments.add(actor(), instance_id, {"text": request.form.get("text", "")})
    except ValidationFailed as exc:
        detail = "; ".join(labels.field_error(v) for v in exc.fields.values())
        return done(_("Not done: %(detail)s", detail=detail), back + "#comment-form", "error", events=())
    except Conflict as exc:
        return done(labels.error_message(exc), back, "warning", events=())
    return done(_("Comment added."), back + "#history-title")


@bp.post("/instances/<int(min=1, max=2147483647):instance_id>/attachments")
def attach(instance_id: int) -> ResponseReturnValue:
    """A file chosen on the instance page or one of its task pages."""
    task_id = request.form.get("task_id", "")
    back = url_for("tasks.show", task_id=task_id) if TASK_ID.match(task_id) else url_for("instances.show", instance_id=instance_id)
    upload = request.files.get("file")
    try:
        if upload is None or not upload.filename:
            raise ValidationFailed({"file": "is required"})
        row = eng().attachments.add(actor(), instance_id, upload.filename, upload.read())
    except ValidationFailed as exc:
        detail = "; ".join(labels.field_error(v) for v in exc.fields.values())
        return done(_("Not attached: %(detail)s", detail=detail), back + "#attachments", "error", events=())
    except TooLarge:
        return done(_("Not attached: the file is larger than the limit."), back + "#attachments", "error", events=())
    except Conflict as exc:
        return done(labels.error_message(exc), back, "warning", events=())
    return done(_("Attached: %(name)s.", name=row.filename), back + "#attachments")


@bp.get("/attachments/<int(min=1, max=2147483647):attachment_id>")
def download(attachment_id: int) -> ResponseReturnValue:
    """An attached file as a download (images also inline with `?inline=1`, for thumbnails)."""
    engine = eng()
    with engine.db.sessions() as session:
        found = engine.attachments.get(session, actor(), attachment_id)
    return attachment_response(found, inline_image=request.args.get("inline") == "1")
