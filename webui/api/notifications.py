"""The caller's notifications, newest first, and marking them read."""

from __future__ import annotations

from flask.typing import ResponseReturnValue
from sqlalchemy import select

from engine.clock import iso
from engine.services.inbox import InboxService
from store.models import Notification
from webui.api import actor, bp, engine, int_arg


@bp.get("/notifications")
def list_notifications() -> ResponseReturnValue:
    eng = engine()
    me = actor().username
    with eng.db.sessions() as session:
        rows = session.scalars(
            select(Notification).where(Notification.username == me).order_by(Notification.id.desc()).limit(int_arg("limit", 50, 1, 200))
        )
        unread = InboxService(eng).unread(session, me)
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
    InboxService(engine()).mark_read(actor().username, notification_id)
    return {"id": notification_id, "read": True}
