"""Tasks: the worklist by scope, one task with its form and context, and the task actions."""

from __future__ import annotations

from flask import request
from flask.typing import ResponseReturnValue

from engine.bpmn.forms import is_digits
from engine.errors import ValidationFailed
from engine.services.tasks import SCOPES
from store.models import MAX_ID
from webui.api import actor, body_with_files, bp, engine, int_arg, json_body
from webui.api.shapes import instance_view, task_view


@bp.get("/tasks")
def list_tasks() -> ResponseReturnValue:
    scope = request.args.get("scope", "mine")
    if scope not in SCOPES:
        raise ValidationFailed({"scope": f"must be one of {', '.join(SCOPES)}"})
    instance_id = request.args.get("instance_id")
    if instance_id is not None and not (is_digits(instance_id) and 1 <= int(instance_id) <= MAX_ID):
        raise ValidationFailed({"instance_id": "must be a whole number between 1 and 2147483647"})
    eng = engine()
    with eng.db.sessions() as session:
        rows, total = eng.tasks.query(
            session,
            actor(),
            scope,
            request.args.get("process_key") or None,
            int(instance_id) if instance_id else None,
            int_arg("limit", 50, 1, 200),
            int_arg("offset", 0, 0, 10_000_000),
        )
        return {"items": [task_view(t) for t in rows], "total": total}


@bp.get("/tasks/<task_id>")
def get_task(task_id: str) -> ResponseReturnValue:
    eng = engine()
    with eng.db.sessions() as session:
        task, form, context = eng.tasks.details(session, actor(), task_id)
        return {**task_view(task), "form": form, "context": context}


@bp.post("/tasks/<task_id>/claim")
def claim_task(task_id: str) -> ResponseReturnValue:
    return task_view(engine().tasks.claim(actor(), task_id))


@bp.post("/tasks/<task_id>/unclaim")
def unclaim_task(task_id: str) -> ResponseReturnValue:
    return task_view(engine().tasks.unclaim(actor(), task_id))


@bp.post("/tasks/<task_id>/assign")
def assign_task(task_id: str) -> ResponseReturnValue:
    return task_view(engine().tasks.assign(actor(), task_id, json_body().get("username")))


@bp.post("/tasks/<task_id>/complete")
def complete_task(task_id: str) -> ResponseReturnValue:
    body = body_with_files()
    eng = engine()
    view = eng.tasks.complete_then(actor(), task_id, body.get("data", {}), instance_view)
    return {"instance": view}


@bp.post("/tasks/<task_id>/add-approver")
def add_approver(task_id: str) -> ResponseReturnValue:
    """加签 on a chain step (whoever may decide it): `username`, `position` before or after oneself."""
    return {"approvers": engine().chains.add_approver(actor(), task_id, json_body())}
