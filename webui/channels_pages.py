"""Notification channels (admins, /admin/channels): the WeCom, DingTalk and Feishu group robots and
JSON webhooks that notices also go to. Add one, change it (its secret is never shown: left empty
it stays), switch it off, remove it, send it a test message, and see each channel's last delivery.
Each change is one engine.channels call, which checks the admin role again and audits it."""

from __future__ import annotations

from typing import Any

from flask import render_template, request, url_for
from flask.typing import ResponseReturnValue

from engine.errors import ValidationFailed
from engine.robots import KINDS
from engine.services.admin import LOCALES
from engine.services.channels import view as channel_view
from webui import labels
from webui.admin_pages import admins_only
from webui.i18n import gettext as _
from webui.ui import actor, done, eng, page_blueprint

bp = page_blueprint("channels", __name__)
CHANNEL_ID = "<int(min=1, max=2147483647):channel_id>"


bp.before_request(admins_only)  # the administration area's rule (webui.admin_pages)


def _submitted(editing: bool) -> dict[str, Any]:
    """The form as the engine takes it: an empty secret when editing keeps the stored one (unless
    `clear_secret` is ticked); no kind or role ticked means every one."""
    form = request.form
    data: dict[str, Any] = {
        "name": form.get("name", "").strip(),
        "kind": form.get("kind", ""),
        "url": form.get("url", "").strip(),
        "kinds": form.getlist("kinds"),
        "roles": form.getlist("roles"),
        "locale": form.get("locale", "zh_CN"),
        "active": form.get("active") == "on",
    }
    secret = form.get("secret", "").strip()
    if secret or not editing:
        data["secret"] = secret
    elif form.get("clear_secret") == "on":
        data["secret"] = ""
    return data


def _page(template: str, status: int = 200, **extra: Any) -> ResponseReturnValue:
    engine = eng()
    me = actor()
    with engine.db.sessions() as session:
        channels = engine.channels.list(session, me)
        deliveries = engine.channels.deliveries(session, me)
        roles = [{"name": r.name, "label": r.label} for r in engine.admin.roles(session, me)]
        channel = engine.channels.get(session, me, extra.pop("channel_id")) if "channel_id" in extra else None
    if channel is not None:  # the form shows the submitted values after an error, else the channel's
        shown = extra.pop("values", None) or {k: v for k, v in channel_view(channel).items() if k != "has_secret"}
        extra["shown"] = shown | {"has_secret": bool(channel.secret)}
    view = {
        "channels": channels,
        "deliveries": deliveries,
        "roles": roles,
        "channel": channel,
        "robot_kinds": KINDS,
        "notice_kinds": labels.NOTIFICATION_KINDS,
        "locales": LOCALES,
        "errors": {},
        "values": {},
    }
    return render_template(template, **(view | extra)), status


def _errors(exc: ValidationFailed) -> dict[str, str]:
    return {key: labels.field_error(message) for key, message in exc.fields.items()}


@bp.get("/admin/channels")
def index() -> ResponseReturnValue:
    return _page("admin/channels.html")


@bp.post("/admin/channels")
def create() -> ResponseReturnValue:
    values = _submitted(editing=False)
    try:
        channel = eng().channels.create(actor(), values)
    except ValidationFailed as exc:
        return _page("admin/channels.html", 422, errors=_errors(exc), values=values)
    return done(_("Channel %(name)s added.", name=channel.name), url_for("channels.index"))


@bp.get(f"/admin/channels/{CHANNEL_ID}")
def show(channel_id: int) -> ResponseReturnValue:
    return _page("admin/channel.html", channel_id=channel_id)


@bp.post(f"/admin/channels/{CHANNEL_ID}")
def update(channel_id: int) -> ResponseReturnValue:
    values = _submitted(editing=True)
    try:
        channel = eng().channels.update(actor(), channel_id, values)
    except ValidationFailed as exc:
        return _page("admin/channel.html", 422, channel_id=channel_id, errors=_errors(exc), values=values)
    return done(_("Saved the channel %(name)s.", name=channel.name), url_for("channels.index"))


@bp.post(f"/admin/channels/{CHANNEL_ID}/test")
def send_test(channel_id: int) -> ResponseReturnValue:
    eng().channels.send_test(actor(), channel_id)
    return done(_("A test message is on its way; its delivery shows here."), url_for("channels.index"))


@bp.post(f"/admin/channels/{CHANNEL_ID}/delete")
def delete(channel_id: int) -> ResponseReturnValue:
    eng().channels.delete(actor(), channel_id)
    return done(_("Channel removed."), url_for("channels.index"))
