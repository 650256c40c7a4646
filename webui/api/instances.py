"""Process instances: start one, read one (data, open tasks, history), list those you may see."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import request
from flask.typing import ResponseReturnValue

from engine.errors import ValidationFailed
from webui.api import actor, body_with_files, bp, engine, int_arg, json_body
from webui.api.shapes import instance_view
from webui.documents import attachment_response
from webui.instance_tables import Query, export_download

INSTANCE_ID = "<int(min=1, max=2147483647):instance_id>"


@bp.post("/process-instances")
def start_instance() -> ResponseReturnValue:
    body = body_with_files()
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
    query = Query.from_params(request.args)
    eng = engine()
    with eng.db.sessions() as session:
        rows, total = eng.runtime.query(
            session,
            actor(),
            query.process_key,
            query.status,
            int_arg("limit", 50, 1, 200),
            int_arg("offset", 0, 0, 10_000_000),
            query.search,
        )
        # total_exact false: more than instance_search.TOTAL_CAP matched and total is the cap
        return {"items": [instance_view(session, i, full=False) for i in rows], "total": total, "total_exact": total.exact}


def _export(kind: str) -> ResponseReturnValue:
    """The search's instances (the first 10,000; X-Total-Count says how many matched), one row
    each, business fields as columns: the same scope as the list."""
    return export_download(engine(), actor(), request.args, kind)


@bp.get("/process-instances/export.xlsx")
def export_instances_xlsx() -> ResponseReturnValue:
    return _export("xlsx")


@bp.get("/process-instances/export.csv")
def export_instances_csv() -> ResponseReturnValue:
    return _export("csv")


@bp.post("/process-instances/bulk")
def bulk_instances() -> ResponseReturnValue:
    """Admins: suspend, resume or terminate the listed instances (a search's ids), each in its own
    transaction; those whose status does not allow it are reported, not failed."""
    body = json_body()
    result = engine().bulk.run(actor(), str(body.get("action") or ""), body.get("instances"), body)
    return {"action": result.action, "done": result.done, "skipped": {str(k): v for k, v in result.skipped.items()}}


def _optional_body() -> dict[str, Any]:
    """Resume takes an optional reason: an empty body is fine."""
    return json_body() if request.get_data(cache=True) else {}


def _operated(instance_id: int, operation: Callable[[Any, int, Any], Any], body: dict[str, Any]) -> ResponseReturnValue:
    eng = engine()
    operation(actor(), instance_id, body)
    with eng.db.sessions() as session:
        return instance_view(session, eng.runtime.get(session, actor(), instance_id))


@bp.post(f"/process-instances/{INSTANCE_ID}/suspend")
def suspend_instance(instance_id: int) -> ResponseReturnValue:
    """Admins: the instance stops where it is (`reason` required); its tasks answer 409 `suspended`."""
    return _operated(instance_id, engine().instances.suspend, json_body())


@bp.post(f"/process-instances/{INSTANCE_ID}/resume")
def resume_instance(instance_id: int) -> ResponseReturnValue:
    return _operated(instance_id, engine().instances.resume, _optional_body())


@bp.post(f"/process-instances/{INSTANCE_ID}/terminate")
def terminate_instance(instance_id: int) -> ResponseReturnValue:
    """Admins: the end, with `reason` (required); its tasks leave every worklist, its jobs are cancelled."""
    return _operated(instance_id, engine().instances.terminate, json_body())


@bp.post(f"/process-instances/{INSTANCE_ID}/withdraw")
def withdraw_instance(instance_id: int) -> ResponseReturnValue:
    """The requester takes a running request back (`reason` optional): `terminated`, outcome `withdrawn`."""
    return _operated(instance_id, engine().requests.withdraw, _optional_body())


@bp.post(f"/process-instances/{INSTANCE_ID}/urge")
def urge_instance(instance_id: int) -> ResponseReturnValue:
    """The requester nudges whoever the open steps wait for; once an hour (429 with Retry-After)."""
    told = engine().requests.urge(actor(), instance_id)
    return {"notified": told}


@bp.get(f"/process-instances/{INSTANCE_ID}/comments")
def list_comments(instance_id: int) -> ResponseReturnValue:
    eng = engine()
    with eng.db.sessions() as session:
        return {"items": [c.as_dict() for c in eng.comments.of_instance(session, actor(), instance_id)]}


@bp.post(f"/process-instances/{INSTANCE_ID}/comments")
def add_comment(instance_id: int) -> ResponseReturnValue:
    """Anyone who may see a running instance: a line of its history; its requester and approvers are told."""
    return engine().comments.add(actor(), instance_id, json_body()).as_dict(), 201


def _attachment_view(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "filename": row.filename,
        "size": row.size,
        "content_type": row.content_type,
        "uploaded_by": row.uploaded_by,
        "uploaded_at": row.uploaded_at.isoformat(),
    }


@bp.get(f"/process-instances/{INSTANCE_ID}/attachments")
def list_attachments(instance_id: int) -> ResponseReturnValue:
    eng = engine()
    with eng.db.sessions() as session:
        return {"items": [_attachment_view(a) for a in eng.attachments.of_instance(session, actor(), instance_id)]}


@bp.post(f"/process-instances/{INSTANCE_ID}/attachments")
def add_attachment(instance_id: int) -> ResponseReturnValue:
    """Multipart, one `file` part: PDF, images, Office documents, text; at most ATTACHMENT_MAX_BYTES."""
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise ValidationFailed({"file": "is required (multipart form field 'file')"})
    row = engine().attachments.add(actor(), instance_id, upload.filename, upload.read())
    return _attachment_view(row), 201


@bp.get("/attachments/<int(min=1, max=2147483647):attachment_id>")
def download_attachment(attachment_id: int) -> ResponseReturnValue:
    """The bytes as a download, to whoever may see the instance (404 for anyone else)."""
    eng = engine()
    with eng.db.sessions() as session:
        return attachment_response(eng.attachments.get(session, actor(), attachment_id))
