"""File form fields (type `file`; the contract on a contract approval): a field's value is one of
the instance's attachments (engine.services.attachments: the same store, type and size checks,
downloads and history), kept in the data as {"attachment_id", "filename", "size",
"content_type"}. A form submits either a new file (an Upload from a page's or the API's multipart
body), stored with the action that submits it (a refused form stores nothing), or the id of an
attachment the instance has already (the API: uploaded before; a page: the field's current file)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from engine.bpmn.forms import Upload
from engine.errors import ValidationFailed
from store.models import Attachment, ProcessInstance

Add = Callable[[Session, str, ProcessInstance, str, bytes], Attachment]
Find = Callable[[Session, int, int], Attachment | None]


def file_fields(fields: list[dict[str, Any]]) -> list[str]:
    return [f["id"] for f in fields if f.get("type") == "file"]


def descriptor(row: Attachment) -> dict[str, Any]:
    return {"attachment_id": row.id, "filename": row.filename, "size": row.size, "content_type": row.content_type}


def store(
    session: Session, add: Add, find: Find, username: str, instance: ProcessInstance, fields: list[dict[str, Any]], values: dict[str, Any]
) -> dict[str, Any]:
    """`values` with each file field's upload stored and each id checked to be this instance's."""
    stored = dict(values)
    errors: dict[str, str] = {}
    for fid in file_fields(fields):
        value = values.get(fid)
        if isinstance(value, Upload):
            try:
                stored[fid] = descriptor(add(session, username, instance, value.filename, value.data))
            except ValidationFailed as exc:
                errors[fid] = next(iter(exc.fields.values()))
        elif isinstance(value, int):
            row = find(session, instance.id, value)
            if row is None:
                errors[fid] = "is not a file of this process (upload it first, or with the form)"
            else:
                stored[fid] = descriptor(row)
    if errors:
        raise ValidationFailed(errors)
    return stored


def uploads_first(fields: list[dict[str, Any]], values: dict[str, Any]) -> None:
    """A start form's file fields take new files only: the instance has no attachments yet."""
    wrong = {fid: "must be a file uploaded with the form" for fid in file_fields(fields) if isinstance(values.get(fid), int)}
    if wrong:
        raise ValidationFailed(wrong)
