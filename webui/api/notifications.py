"""The caller's notifications, newest first, and marking them read."""

from __future__ import annotations

from flask.typing import ResponseReturnValue

from engine.clock import iso
from webui.api import actor, bp, engine, int_arg


@bp.get("/notifications")
def list_notifications() -> ResponseReturnValue:
    eng = engine()
    me = actor().username
    with eng.db.sessions() as session:
        rows = eng.inbox.latest(session, me, int_arg("limit", 50, 1, 200))
        unread = eng.inbox.unread(session, me)
        items = [
            {
                "id": n.id,
                "at": iso(n.at),
                "kind": n.kind,
                "message": n.message,
                "instance_id": n.instance_id,
                "task_id": n.task_id,
                "read": n.read,
            }
            for n in rows
        ]
        return {"items": items, "unread": unread}


@bp.post("/notifications/<int(min=1, max=2147483647):notification_id>/read")
def mark_read(notification_id: int) -> ResponseReturnValue:
    engine().inbox.mark_read(actor().username, notification_id)
    return {"id": notification_id, "read": True}
