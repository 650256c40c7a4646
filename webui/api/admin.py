"""Administration API (admins): users, roles, departments, the audit log and designer drafts."""

from __future__ import annotations

from typing import Any

from flask import request
from flask.typing import ResponseReturnValue

from engine.clock import iso
from engine.errors import ValidationFailed
from engine.services.admin import user_view
from engine.services.channels import view as channel_view
from store.models import Department
from webui.api import actor, bp, engine, int_arg, json_body
from webui.documents import xml_response


def department_view(d: Department) -> dict[str, Any]:
    return {"code": d.code, "name": d.name, "name_en": d.name_en, "parent_id": d.parent_id, "manager_id": d.manager_id, "id": d.id}


@bp.get("/admin/users")
def list_users() -> ResponseReturnValue:
    eng = engine()
    with eng.db.sessions() as session:
        return {"items": [user_view(u) for u in eng.admin.users(session, actor())]}


@bp.post("/admin/users")
def create_user() -> ResponseReturnValue:
    eng = engine()
    user = eng.admin.create_user(actor(), json_body())
    with eng.db.sessions() as session:
        session.add(user)
        return user_view(user), 201


@bp.patch("/admin/users/<username>")
def update_user(username: str) -> ResponseReturnValue:
    eng = engine()
    user = eng.admin.update_user(actor(), username, json_body())
    with eng.db.sessions() as session:
        session.add(user)
        return user_view(user)


@bp.post("/admin/users/<username>/password")
def reset_password(username: str) -> ResponseReturnValue:
    body = json_body() if request.content_length else {}
    password = engine().admin.reset_password(actor(), username, body.get("password"))
    return {"username": username, "password": password if body.get("password") is None else None}


@bp.post("/admin/users/<username>/handover")
def hand_over(username: str) -> ResponseReturnValue:
    """Everything the user owns and holds, to `to`: with `dry_run` (the default) only listed."""
    body = json_body()
    dry_run = body.get("dry_run", True)
    if not isinstance(dry_run, bool):
        raise ValidationFailed({"dry_run": "must be true or false"})
    service = engine().handover
    plan = service.dry_run(actor(), username, body.get("to")) if dry_run else service.hand_over(actor(), username, body.get("to"))
    return {"username": plan.username, "to": plan.to, "dry_run": dry_run, **plan.counts(), "items": _items(plan)}


def _items(plan: Any) -> dict[str, list[dict[str, Any]]]:
    keys = ("customers", "leads", "opportunities", "receivables", "tasks", "instances")
    return {k: [{"id": i, "label": label} for i, label in getattr(plan, k)] for k in keys}


@bp.get("/admin/roles")
def list_roles() -> ResponseReturnValue:
    eng = engine()
    with eng.db.sessions() as session:
        return {"items": [{"name": r.name, "label": r.label} for r in eng.admin.roles(session, actor())]}


@bp.post("/admin/roles")
def create_role() -> ResponseReturnValue:
    role = engine().admin.create_role(actor(), json_body())
    return {"name": role.name, "label": role.label}, 201


@bp.get("/admin/departments")
def list_departments() -> ResponseReturnValue:
    eng = engine()
    with eng.db.sessions() as session:
        return {"items": [department_view(d) for d in eng.admin.departments(session, actor())]}


@bp.put("/admin/departments/<code>")
def save_department(code: str) -> ResponseReturnValue:
    eng = engine()
    with eng.db.sessions() as session:
        exists = eng.admin.department_exists(session, code)
    department = eng.admin.save_department(actor(), code, json_body(), create=not exists)
    return department_view(department), 200 if exists else 201


@bp.put("/admin/process-definitions/<key>/history-ttl")
def set_history_ttl(key: str) -> ResponseReturnValue:
    """How many days every version of a process keeps finished instances (null: for ever)."""
    body = json_body()
    if "days" not in body:
        raise ValidationFailed({"days": "is required (a number of days, or null)"})
    return {"key": key, "days": engine().cleanup.set_ttl(actor(), key, body["days"])}


@bp.get("/admin/audit")
def audit_log() -> ResponseReturnValue:
    eng = engine()
    with eng.db.sessions() as session:
        events = eng.admin.audit_log(session, actor(), int_arg("limit", 100, 1, 500))
        return {"items": [{"at": iso(e.at), "user": e.user, "action": e.action, "data": e.data} for e in events]}


@bp.get("/process-definitions/<key>/draft")
def get_draft(key: str) -> ResponseReturnValue:
    eng = engine()
    with eng.db.sessions() as session:
        draft = eng.admin.draft(session, actor(), key)
        return xml_response(draft.xml, {"X-Updated-By": draft.updated_by or "", "X-Updated-At": iso(draft.updated_at) or ""})


@bp.put("/process-definitions/<key>/draft")
def save_draft(key: str) -> ResponseReturnValue:
    draft = engine().admin.save_draft(actor(), key, request.get_data())
    return {"key": draft.key, "updated_by": draft.updated_by, "updated_at": iso(draft.updated_at)}


@bp.get("/admin/channels")
def list_channels() -> ResponseReturnValue:
    eng = engine()
    with eng.db.sessions() as session:
        return {"items": [channel_view(c) for c in eng.channels.list(session, actor())]}


@bp.post("/admin/channels")
def create_channel() -> ResponseReturnValue:
    """A WeCom, DingTalk or Feishu group robot, or a JSON webhook, that notices also go to."""
    return channel_view(engine().channels.create(actor(), json_body())), 201


@bp.patch("/admin/channels/<int(min=1, max=2147483647):channel_id>")
def update_channel(channel_id: int) -> ResponseReturnValue:
    return channel_view(engine().channels.update(actor(), channel_id, json_body()))


@bp.delete("/admin/channels/<int(min=1, max=2147483647):channel_id>")
def delete_channel(channel_id: int) -> ResponseReturnValue:
    engine().channels.delete(actor(), channel_id)
    return "", 204


@bp.get("/admin/budgets/<code>/<month>")
def get_budget(code: str, month: str) -> ResponseReturnValue:
    """A department's month (finance, admins): budget, approved, pending and remaining."""
    eng = engine()
    with eng.db.sessions() as session:
        return eng.budgets.get(session, actor(), code, month).as_dict()


@bp.put("/admin/budgets/<code>/<month>")
def set_budget(code: str, month: str) -> ResponseReturnValue:
    return engine().budgets.set(actor(), code, month, json_body()).as_dict()


@bp.get("/admin/calendar/<int(signed=True):year>")
def get_calendar_year(year: int) -> ResponseReturnValue:
    """A year of the working calendar: its holidays and make-up working days, where they come from."""
    eng = engine()
    with eng.db.sessions() as session:
        return eng.calendar.get(session, actor(), year)


@bp.put("/admin/calendar/<int(signed=True):year>")
def put_calendar_year(year: int) -> ResponseReturnValue:
    return engine().calendar.put(actor(), year, json_body())


@bp.delete("/admin/calendar/<int(signed=True):year>")
def delete_calendar_year(year: int) -> ResponseReturnValue:
    engine().calendar.delete(actor(), year)
    return "", 204
