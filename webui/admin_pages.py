"""Administration pages (admins): users (create, change, disable, reset the password), roles,
departments with their managers, and the audit log. Each change is one engine.admin call, which
checks the admin role again and audits it."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from engine.bpmn.forms import is_digits
from engine.errors import Conflict, ValidationFailed
from engine.services.admin import LOCALES, user_view
from webui import labels
from webui.i18n import gettext as _
from webui.ui import actor, eng, page_blueprint

bp = page_blueprint("admin", __name__)
AUDIT_LIMITS = (100, 300, 500)

# The engine's field messages (English) as the pages say them.
FIELD_MESSAGES: list[tuple[re.Pattern[str], Any]] = [
    (re.compile(r"^use 2-64 lower-case letters"), _l("Use 2–64 lower-case letters, digits, '.', '-' or '_', starting with a letter.")),
    (re.compile(r"^must be an email address$"), _l("Enter an email address.")),
    (re.compile(r"^no such department$"), _l("There is no such department.")),
    (re.compile(r"^no such \(other\) department$"), _l("Choose another existing department.")),
    (re.compile(r"^no such user$"), _l("There is no such user.")),
    (re.compile(r"^would make a reporting cycle$"), _l("This would make a reporting cycle.")),
    (re.compile(r"^must be a list of existing roles$"), _l("Choose existing roles.")),
    (re.compile(r"^must be text of at most (\d+) characters$"), _l("Enter text of at most the allowed length.")),
]


@bp.before_request
def admins_only() -> None:
    if current_user.is_authenticated and not eng().authorization.may_administer(actor()):
        abort(403)


def _field_errors(exc: ValidationFailed) -> dict[str, str]:
    errors = {}
    for key, message in exc.fields.items():
        if key == "password" and message.startswith("must be at least"):
            errors[key] = _("Use at least 8 characters.")
            continue
        errors[key] = next((str(text) for pattern, text in FIELD_MESSAGES if pattern.match(message)), labels.field_error(message))
    return errors


def _conflict_message(exc: Conflict) -> str:
    if "already exists" in exc.message:
        return _("This name is taken already.")
    if "cannot disable themselves" in exc.message:
        return _("You cannot disable yourself or take away your own admin role.")
    return exc.message


def _optional(name: str) -> str | None:
    """A select's value: empty means none."""
    value = request.form.get(name, "").strip()
    return value or None


def _organisation() -> dict[str, Any]:
    """Users, roles and departments for the lists and the select boxes."""
    engine = eng()
    me = actor()
    with engine.db.sessions() as session:
        people = engine.admin.users(session, me)
        users = [user_view(u) for u in people]
        roles = [{"name": r.name, "label": r.label} for r in engine.admin.roles(session, me)]
        departments = engine.admin.departments(session, me)
        by_id = {d.id: d for d in departments}
        managers = {u.id: u.username for u in people}
        depts = [
            {
                "code": d.code,
                "name": d.name,
                "name_en": d.name_en,
                "parent": by_id[d.parent_id].code if d.parent_id in by_id else None,
                "manager": managers.get(d.manager_id) if d.manager_id else None,
            }
            for d in departments
        ]
    members: dict[str, int] = {}
    for u in users:
        for role in u["roles"]:
            members[role] = members.get(role, 0) + 1
        if u["department"]:
            members[f"dept:{u['department']}"] = members.get(f"dept:{u['department']}", 0) + 1
    return {
        "users": users,
        "roles": roles,
        "departments": depts,
        "department_by_code": {d["code"]: d for d in depts},
        "members": members,
        "locales": LOCALES,
    }


def department_name(department: dict[str, Any] | None) -> str:
    if not department:
        return ""
    if labels.english():
        return str(department.get("name_en") or department["name"])
    return str(department["name"])


@bp.context_processor
def helpers() -> dict[str, Any]:
    return {"department_name": department_name}


# --- users ---------------------------------------------------------------------------------------


@bp.get("/admin")
def home() -> ResponseReturnValue:
    return redirect(url_for("admin.users"))


@bp.get("/admin/users")
def users() -> ResponseReturnValue:
    return render_template("admin/users.html", **_organisation(), errors={}, values={})


@bp.post("/admin/users")
def create_user() -> ResponseReturnValue:
    values: dict[str, Any] = {
        "username": request.form.get("username", "").strip(),
        "password": request.form.get("password", ""),
        "display_name": request.form.get("display_name", "").strip(),
        "email": request.form.get("email", "").strip(),
        "locale": request.form.get("locale", "zh_CN"),
        "department": _optional("department"),
        "superior": _optional("superior"),
        "roles": request.form.getlist("roles"),
    }
    try:
        eng().admin.create_user(actor(), {k: v for k, v in values.items() if v not in ("", None) or k == "roles"})
    except ValidationFailed as exc:
        view = _organisation()
        values.pop("password")
        return render_template("admin/users.html", **view, errors=_field_errors(exc), values=values, open_form=True), 422
    except Conflict as exc:
        view = _organisation()
        values.pop("password")
        return render_template("admin/users.html", **view, errors={"username": _conflict_message(exc)}, values=values, open_form=True), 409
    flash(_("User %(user)s created.", user=values["username"]), "success")
    return redirect(url_for("admin.users"))


def _user_page(username: str, status: int = 200, **extra: Any) -> ResponseReturnValue:
    view = _organisation()
    user = next((u for u in view["users"] if u["username"] == username), None)
    if user is None:
        abort(404)
    extra.setdefault("errors", {})
    extra.setdefault("holdings", eng().handover.holdings(actor(), username))
    return render_template("admin/user.html", **view, user=user, **extra), status


@bp.get("/admin/users/<username>")
def user(username: str) -> ResponseReturnValue:
    to = request.args.get("handover_to")
    if to:  # the dry run: what would move, before anything does
        try:
            return _user_page(username, preview=eng().handover.dry_run(actor(), username, to))
        except ValidationFailed as exc:
            return _user_page(username, 422, handover_errors=_field_errors(exc))
    return _user_page(username)


@bp.post("/admin/users/<username>/handover")
def hand_over(username: str) -> ResponseReturnValue:
    try:
        plan = eng().handover.hand_over(actor(), username, request.form.get("to", ""))
    except ValidationFailed as exc:
        return _user_page(username, 422, handover_errors=_field_errors(exc))
    counts = plan.counts()
    flash(
        _(
            "Handed over to %(to)s: %(customers)d customers, %(leads)d leads, %(opportunities)d opportunities, "
            "%(receivables)d receivables, %(tasks)d tasks, %(instances)d running processes.",
            to=plan.to,
            **counts,
        ),
        "success",
    )
    return redirect(url_for("admin.user", username=username))


@bp.post("/admin/users/<username>")
def update_user(username: str) -> ResponseReturnValue:
    data = {
        "display_name": request.form.get("display_name", "").strip(),
        "email": request.form.get("email", "").strip() or None,
        "locale": request.form.get("locale", "zh_CN"),
        "department": _optional("department"),
        "superior": _optional("superior"),
        "roles": request.form.getlist("roles"),
    }
    try:
        eng().admin.update_user(actor(), username, data)
    except ValidationFailed as exc:
        return _user_page(username, 422, errors=_field_errors(exc))
    except Conflict as exc:
        return _user_page(username, 409, alert=_conflict_message(exc))
    flash(_("Saved the changes to %(user)s.", user=username), "success")
    return redirect(url_for("admin.user", username=username))


@bp.post("/admin/users/<username>/active")
def set_active(username: str) -> ResponseReturnValue:
    active = request.form.get("active") == "true"
    try:
        eng().admin.update_user(actor(), username, {"active": active})
    except Conflict as exc:
        return _user_page(username, 409, alert=_conflict_message(exc))
    flash(_("%(user)s can log in again.", user=username) if active else _("%(user)s is disabled and logged out.", user=username), "success")
    return redirect(url_for("admin.user", username=username))


@bp.post("/admin/users/<username>/password")
def reset_password(username: str) -> ResponseReturnValue:
    """A generated password, shown once on this page (never in a flash cookie or the audit log)."""
    password = eng().admin.reset_password(actor(), username)
    return _user_page(username, new_password=password)


# --- roles ---------------------------------------------------------------------------------------


@bp.get("/admin/roles")
def roles() -> ResponseReturnValue:
    return render_template("admin/roles.html", **_organisation(), errors={}, values={})


@bp.post("/admin/roles")
def create_role() -> ResponseReturnValue:
    values = {"name": request.form.get("name", "").strip(), "label": request.form.get("label", "").strip()}
    try:
        eng().admin.create_role(actor(), values)
    except ValidationFailed as exc:
        return render_template("admin/roles.html", **_organisation(), errors=_field_errors(exc), values=values), 422
    except Conflict as exc:
        return render_template("admin/roles.html", **_organisation(), errors={"name": _conflict_message(exc)}, values=values), 409
    flash(_("Role %(role)s created.", role=values["name"]), "success")
    return redirect(url_for("admin.roles"))


# --- departments -----------------------------------------------------------------------------------


def _department_data() -> dict[str, Any]:
    return {
        "name": request.form.get("name", "").strip(),
        "name_en": request.form.get("name_en", "").strip() or None,
        "parent": _optional("parent"),
        "manager": _optional("manager"),
    }


@bp.get("/admin/departments")
def departments() -> ResponseReturnValue:
    return render_template("admin/departments.html", **_organisation(), errors={}, values={})


@bp.post("/admin/departments")
def create_department() -> ResponseReturnValue:
    code = request.form.get("code", "").strip()
    data = _department_data()
    try:
        eng().admin.save_department(actor(), code, data, create=True)
    except (ValidationFailed, Conflict) as exc:
        errors = _field_errors(exc) if isinstance(exc, ValidationFailed) else {"code": _conflict_message(exc)}
        return render_template("admin/departments.html", **_organisation(), errors=errors, values={"code": code, **data}), exc.status
    flash(_("Department %(code)s created.", code=code), "success")
    return redirect(url_for("admin.departments"))


@bp.get("/admin/departments/<code>")
def department(code: str) -> ResponseReturnValue:
    view = _organisation()
    found = next((d for d in view["departments"] if d["code"] == code), None)
    if found is None:
        abort(404)
    return render_template("admin/department.html", **view, department=found, errors={})


@bp.post("/admin/departments/<code>")
def update_department(code: str) -> ResponseReturnValue:
    try:
        eng().admin.save_department(actor(), code, _department_data(), create=False)
    except ValidationFailed as exc:
        view = _organisation()
        found = next((d for d in view["departments"] if d["code"] == code), None)
        if found is None:
            abort(404)
        return render_template("admin/department.html", **view, department=found, errors=_field_errors(exc)), 422
    flash(_("Saved the department %(code)s.", code=code), "success")
    return redirect(url_for("admin.departments"))


# --- audit log -------------------------------------------------------------------------------------


@bp.get("/admin/audit")
def audit() -> ResponseReturnValue:
    """The audit log in sentences, filtered by who, what and the days it happened (local dates)."""
    raw = request.args.get("limit", "")
    limit = int(raw) if is_digits(raw) and int(raw) in AUDIT_LIMITS else AUDIT_LIMITS[0]
    engine = eng()
    action = request.args.get("action") if request.args.get("action") in labels.AUDIT_ACTIONS else None
    since, until = _local_day(request.args.get("from")), _local_day(request.args.get("to"))
    with engine.db.sessions() as session:
        people = engine.admin.audit_people(session, actor())
        user = request.args.get("user") if request.args.get("user") in people else None
        found = engine.admin.audit_log(
            session, actor(), limit, user=user, action=action, since=since, until=until + timedelta(days=1) if until else None
        )
        events = [{"at": e.at, "user": e.user, "action": e.action, "text": labels.audit_sentence(e.action, e.data)} for e in found]
    chosen = {
        "user": user,
        "action": action,
        "from": request.args.get("from") if since else "",
        "to": request.args.get("to") if until else "",
    }
    actions = [(code, labels.audit_action(code)) for code in labels.AUDIT_ACTIONS]
    return render_template(
        "admin/audit.html", events=events, limit=limit, limits=AUDIT_LIMITS, people=people, actions=actions, chosen=chosen
    )


def _local_day(text: str | None) -> datetime | None:
    """The start of a YYYY-MM-DD day in the product's time zone, as UTC; None for anything else."""
    try:
        day = date.fromisoformat(text or "")
    except ValueError:
        return None
    zone = eng().settings.timezone
    return datetime.combine(day, time.min, tzinfo=zone).astimezone(UTC)
