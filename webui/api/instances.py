"""Process instances: start one, read one (data, open tasks, history), list those you may see."""

from __future__ import annotations

from flask import request
from flask.typing import ResponseReturnValue

from engine.errors import ValidationFailed
from webui.api import actor, bp, engine, int_arg, json_body
from webui.api.shapes import instance_view

STATUSES = ("running", "completed", "terminated", "suspended", "error")


@bp.post("/process-instances")
def start_instance() -> ResponseReturnValue:
    body = json_body()
    key = body.get("process_key")
    if not isinstance(key, str) or not key:
        raise ValidationFailed({"process_key": "is required"})
    eng = engine()
    instance = eng.runtime.start(actor(), key, body.get("data", {}), body.get("business_key"))
    with eng.db.sessions() as session:
        return instance_view(session, eng.runtime.get(session, actor(), instance.id)), 201


@bp.get("/process-instances/<int(min=1, max=2147483647):instance_id>")
def get_instance(instance_id: int) -> ResponseReturnValue:
    eng = engine()
    with eng.db.sessions() as session:
        return instance_view(session, eng.runtime.get(session, actor(), instance_id))


@bp.get("/process-instances")
def list_instances() -> ResponseReturnValue:
    status = request.args.get("status") or None
    if status is not None and status not in STATUSES:
        raise ValidationFailed({"status": f"must be one of {', '.join(STATUSES)}"})
    eng = engine()
    with eng.db.sessions() as session:
        rows, total = eng.runtime.query(
            session,
            actor(),
            request.args.get("process_key") or None,
            status,
            int_arg("limit", 50, 1, 200),
            int_arg("offset", 0, 0, 10_000_000),
        )
        return {"items": [instance_view(session, i, full=False) for i in rows], "total": total}
