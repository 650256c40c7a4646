"""A task (/tasks/<id>): its business context, the generated form with field-level messages, the
instance history and the diagram; and the task actions: complete, claim, unclaim, reassign
(superiors), delegate (the assignee). Every action is one engine call; the engine decides who may."""

from __future__ import annotations

from typing import Any

from flask import render_template, request, url_for
from flask.typing import ResponseReturnValue

from engine.errors import EngineError, ValidationFailed
from engine.services.chain_steps import countersign, refusal
from engine.services.presentation import diagram_state, element_names, field_catalogue
from webui import context, labels
from webui.extensions import page_session
from webui.i18n import gettext as _
from webui.ui import actor, display_names, done, eng, error_page, page_blueprint, person, safe_next, submitted_form

bp = page_blueprint("tasks", __name__)


def _permissions(session: Any, task: Any) -> dict[str, bool]:
    return eng().authorization.task_actions(session, actor(), task).as_dict()


def _submitted(form_model: list[dict[str, Any]]) -> dict[str, Any]:
    return submitted_form(form_model)


def initial_values(form_model: list[dict[str, Any]]) -> dict[str, Any]:
    """The form's defaults, except that a decision and its comment start empty: process variables
    are shared, so the engine would offer the previous approver's decision and comment as this
    approver's defaults, and a careless submit would repeat someone else's judgement."""
    values = {f["id"]: f.get("default") for f in form_model}
    if "decision" in values:
        values["decision"] = None
        if "comment" in values:
            values["comment"] = None
    return values


def _task_view(task_id: str, errors: dict[str, str] | None = None, values: dict[str, Any] | None = None) -> dict[str, Any]:
    me = actor()
    engine = eng()
    session = page_session()
    task = engine.tasks.get(session, me, task_id)
    instance = engine.runtime.instance_of(session, task)
    form_model, data = engine.tasks.details_of(session, me, task, instance)
    catalogue = field_catalogue(engine, session, instance.definition_id)
    names = element_names(engine, session, instance.definition_id)
    history = engine.tasks.history(session, me, task)
    allowed = _permissions(session, task)
    diagram = diagram_state(engine, session, instance).as_dict()
    reports = engine.authorization.assignees(session, me, task)
    colleagues = engine.authorization.delegates(session, me, task)
    # A candidate may read a step they were offered without seeing the rest of the instance
    # (a lead is its owner's): its files and comments are for those who see the instance.
    sees_instance = engine.authorization.may_view_instance(session, me, instance)
    attachments = engine.attachments.listed(session, instance.id) if sees_instance else []
    # 加签: whoever may decide a chain step may add someone before or after themself
    may_add = task.status == "open" and allowed.get("complete") and refusal(task.process_key, task.task_key, data) is None
    people = display_names() if may_add else {}
    signers = countersign(session, instance)
    approval_cards = context.side_by_side(task.process_key, task.task_key)
    decisions = context.decisions(history, catalogue, names)
    returned = context.last_return(decisions) if task.status == "open" and not approval_cards else None
    return {
        "task": task,
        "instance": instance,
        "form": form_model,
        "values": values if values is not None else initial_values(form_model),
        "errors": {k: labels.field_error(v) for k, v in (errors or {}).items()},
        "cards": context.cards(task.process_key, data, catalogue, approval_cards, (instance.started_by, instance.started_at)),
        "approval": approval_cards is not None,
        "decisions": decisions,
        "returned": returned,
        "chain": context.approval_chain(task.process_key, data),
        "signers": signers,
        "history": history,
        "names": names,
        "allowed": allowed,
        "excluded": engine.authorization.is_excluded(task, me.username),
        "reports": reports,
        "colleagues": colleagues,
        "diagram": diagram,
        "catalogue": catalogue,
        "attachments": attachments,
        "sees_instance": sees_instance,
        "add_approver_people": sorted(
            ((u, n) for u, n in people.items() if u not in (me.username, instance.started_by)), key=lambda p: p[0]
        ),
    }


@bp.get("/tasks/<task_id>")
def show(task_id: str) -> ResponseReturnValue:
    return render_template("tasks/show.html", **_task_view(task_id))


@bp.post("/tasks/<task_id>")
def complete(task_id: str) -> ResponseReturnValue:
    with eng().db.sessions() as session:
        _task, form_model, _data = eng().tasks.details(session, actor(), task_id)
    values = _submitted(form_model)
    try:
        instance = eng().tasks.complete(actor(), task_id, values)
    except ValidationFailed as exc:
        errors = exc.fields
    except EngineError as exc:
        view = _task_view(task_id)
        view["alert"] = labels.error_message(exc)
        return render_template("tasks/show.html", **view), exc.status
    else:
        if instance.status == "completed":
            return done(_("Done. The process has finished."), url_for("worklist.index"))
        with eng().db.sessions() as session:
            mine = [t for t in eng().runtime.open_tasks(session, [instance.id]) if t.assignee == actor().username]
        if mine:  # the case stays with them: straight on to its next step (#13.4)
            message = _("Done. Your next step in this case: “%(name)s”.", name=labels.task_name(mine[0].task_key, mine[0].name))
            return done(message, url_for("tasks.show", task_id=mine[0].id))
        return done(_("Done. The process moved on to the next step."), url_for("worklist.index"))
    view = _task_view(task_id, errors, values)
    view["alert"] = _("Please correct the marked fields.")
    return render_template("tasks/show.html", **view), 422


def _back(task_id: str) -> str:
    return safe_next(request.form.get("next"), url_for("tasks.show", task_id=task_id))


@bp.post("/tasks/<task_id>/claim")
def claim(task_id: str) -> ResponseReturnValue:
    task = eng().tasks.claim(actor(), task_id)
    return done(_("You claimed “%(name)s”.", name=labels.task_name(task.task_key, task.name)), _back(task_id))


@bp.post("/tasks/<task_id>/unclaim")
def unclaim(task_id: str) -> ResponseReturnValue:
    task = eng().tasks.unclaim(actor(), task_id)
    return done(_("“%(name)s” is back in the pool of its candidates.", name=labels.task_name(task.task_key, task.name)), _back(task_id))


@bp.post("/tasks/<task_id>/assign")
def assign(task_id: str) -> ResponseReturnValue:
    username = request.form.get("username", "")
    try:
        task = eng().tasks.assign(actor(), task_id, username)
    except ValidationFailed as exc:
        return error_page(422, labels.field_error(next(iter(exc.fields.values()))))
    return done(
        _("Assigned “%(name)s” to %(user)s.", name=labels.task_name(task.task_key, task.name), user=person(username)), _back(task_id)
    )


@bp.post("/tasks/<task_id>/delegate")
def delegate(task_id: str) -> ResponseReturnValue:
    username = request.form.get("username", "")
    try:
        task = eng().tasks.delegate(actor(), task_id, username)
    except ValidationFailed as exc:
        return error_page(422, labels.field_error(next(iter(exc.fields.values()))))
    # The task is no longer ours: go back to the worklist rather than to a read-only page.
    back = safe_next(request.form.get("next"), url_for("worklist.index"))
    return done(_("Handed “%(name)s” over to %(user)s.", name=labels.task_name(task.task_key, task.name), user=person(username)), back)


@bp.post("/tasks/<task_id>/add-approver")
def add_approver(task_id: str) -> ResponseReturnValue:
    """加签 from the task page: someone before or after oneself on this chain step."""
    back = url_for("tasks.show", task_id=task_id)
    username = request.form.get("username", "")
    try:
        eng().chains.add_approver(actor(), task_id, {"username": username, "position": request.form.get("position", "")})
    except ValidationFailed as exc:
        return done(_("Not added: %(detail)s", detail=labels.field_error(next(iter(exc.fields.values())))), back, "error", events=())
    if request.form.get("position") == "before":
        return done(
            _("%(user)s decides this step first; it comes back to you afterwards.", user=person(username)), url_for("worklist.index")
        )
    return done(_("%(user)s approves after you.", user=person(username)), back)
