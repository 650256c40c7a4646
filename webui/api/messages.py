"""POST /messages: deliver a BPMN message to the instance waiting for it."""

from __future__ import annotations

from flask.typing import ResponseReturnValue

from engine.errors import ValidationFailed
from store.models import MAX_ID
from webui.api import actor, bp, engine, json_body
from webui.api.shapes import instance_view


@bp.post("/messages")
def correlate_message() -> ResponseReturnValue:
    body = json_body()
    instance_id = body.get("instance_id")
    if instance_id is not None and (not isinstance(instance_id, int) or isinstance(instance_id, bool) or not 1 <= instance_id <= MAX_ID):
        raise ValidationFailed({"instance_id": "must be a whole number between 1 and 2147483647"})
    business_key = body.get("business_key")
    if business_key is not None and not isinstance(business_key, str):
        raise ValidationFailed({"business_key": "must be text"})
    eng = engine()
    instance = eng.runtime.correlate_message(
        actor(), body.get("name"), business_key=business_key, instance_id=instance_id, data=body.get("data")
    )
    with eng.db.sessions() as session:
        session.add(instance)
        return instance_view(session, instance)
