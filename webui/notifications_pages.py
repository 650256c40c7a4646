"""Notifications: the unread count in the header (polled by htmx) and the list, newest first."""

from __future__ import annotations

from flask import redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from engine.errors import NotFound
from webui.extensions import page_session
from webui.i18n import gettext as _
from webui.ui import actor, done, eng, inbox, page_arg, page_blueprint

bp = page_blueprint("notifications", __name__)


def _username() -> str:
    from flask_login import current_user

    return current_user.username  # type: ignore[no-any-return]


@bp.get("/notifications")
def index() -> ResponseReturnValue:
    unread_only = request.args.get("show") == "unread"
    page = page_arg()
    session = page_session()
    result = inbox().notifications(session, _username(), unread_only, page)
    task_keys = inbox().task_keys(session, result.items)
    return render_template("notifications/index.html", result=result, unread_only=unread_only, task_keys=task_keys)


@bp.get("/notifications/badge")
def badge() -> ResponseReturnValue:
    return render_template("notifications/_badge.html")


@bp.post("/notifications/<int(min=1, max=2147483647):notification_id>/open")
def open_one(notification_id: int) -> ResponseReturnValue:
    """Mark it read and go to what it is about: the task, else the instance, else the list."""
    inbox().mark_read(_username(), notification_id)
    engine = eng()
    with engine.db.sessions() as session:
        note = inbox().get(session, _username(), notification_id)
        if note.task_id:
            try:
                engine.tasks.get(session, actor(), note.task_id)
                return redirect(url_for("tasks.show", task_id=note.task_id))
            except NotFound:
                pass  # the task went elsewhere: its instance may still be visible
        if note.instance_id:
            return redirect(url_for("instances.show", instance_id=note.instance_id))
        if note.customer_id:
            return redirect(url_for("customers.show", customer_id=note.customer_id))
        if note.kind == "untouched":  # the director's summary: the untouched ones, to give to someone else
            return redirect(url_for("customers.pipeline", untouched=1))
    return redirect(url_for("notifications.index"))


@bp.post("/notifications/read-all")
def read_all() -> ResponseReturnValue:
    changed = inbox().mark_read(_username())
    return done(_("Marked %(num)d notifications read.", num=changed), url_for("notifications.index"), events=("notifications-changed",))
