"""Words on the pages that come from process content or the engine, in the user's language.

BPMN names are Chinese (the designer's language), form fields carry `label_en`; the other English
names of a shipped process (process, task and option names) come with its package
(engine.process_parts), and names without an English entry fall back to the diagram's own. Engine
messages are English; the common ones are translated through the message catalogue.
"""

from __future__ import annotations

import re
from typing import Any

from flask_babel import lazy_gettext as _l

from engine.errors import Conflict, EngineError, Forbidden, NotFound, ProcessError, TooLarge, TooSoon, ValidationFailed
from engine.process_parts import registered
from webui.i18n import english
from webui.i18n import gettext as _

ROLE_EN = {
    "admin": "Administrator",
    "gm": "General manager",
    "division_leader": "Division leader",
    "ops_manager": "Operations manager",
    "region_manager": "Region manager",
    "store_staff": "Store staff",
    "finance": "Finance",
    "marketing_manager": "Marketing manager",
    "cs_supervisor": "Customer service supervisor",
    "cs_agent": "Customer service agent",
    "transport": "International transport",
    "customs": "Customs brokerage",
    "quality": "Quality",
    "dept_lead": "Department lead",
    "sales_director": "Sales director",
    "sales": "Sales",
    "sales_assistant": "Sales assistant",
}

ACTIONS = {
    "start": _l("started"),
    "claim": _l("claimed"),
    "unclaim": _l("released"),
    "assign": _l("assigned"),
    "delegate": _l("delegated"),
    "complete": _l("completed"),
    "message": _l("message received"),
    "end": _l("finished"),
    "timer": _l("timer fired"),
    "terminate": _l("terminated"),
    "suspend": _l("suspended"),
    "resume": _l("resumed"),
    "incident": _l("incident"),
    "route": _l("routed by the reporting line"),
    "withdraw": _l("withdrew the request"),
    "urge": _l("urged"),
    "comment": _l("commented"),
    "attach": _l("attached a file"),
    "add_approver": _l("added an approver"),
}

# The audit log in sentences (#13.13): each administrative action, with the data key it names.
AUDIT_ACTIONS = {
    "admin.user.create": (_l("Created the user %(subject)s"), "username"),
    "admin.user.update": (_l("Changed the user %(subject)s"), "username"),
    "admin.user.password": (_l("Reset the password of %(subject)s"), "username"),
    "admin.role.create": (_l("Created the role %(subject)s"), "name"),
    "admin.department.create": (_l("Created the department %(subject)s"), "code"),
    "admin.department.update": (_l("Changed the department %(subject)s"), "code"),
    "admin.draft.save": (_l("Saved a draft of %(subject)s"), "key"),
    "deploy": (_l("Deployed %(subject)s"), "key"),
    "admin.user.handover": (_l("Handed over the work of %(subject)s"), "username"),
    "customer_create": (_l("Created the customer %(subject)s"), "name"),
    "customer_update": (_l("Changed the customer %(subject)s"), "customer_id"),
    "contact_create": (_l("Added the contact %(subject)s"), "name"),
    "activity_create": (_l("Logged an activity on customer %(subject)s"), "customer_id"),
    "opportunity_update": (_l("Changed the opportunity %(subject)s"), "opportunity_id"),
    "opportunity_assign": (_l("Gave the opportunity %(subject)s to someone else"), "opportunity_id"),
    "customer_merge": (_l("Merged a duplicate into customer %(subject)s"), "customer_id"),
    "substitute.set": (_l("Named a substitute for %(subject)s"), "username"),
    "substitute.clear": (_l("Ended the substitute arrangement of %(subject)s"), "username"),
    "admin.channel.create": (_l("Added the notification channel %(subject)s"), "name"),
    "admin.channel.update": (_l("Changed the notification channel %(subject)s"), "name"),
    "admin.channel.delete": (_l("Removed the notification channel %(subject)s"), "name"),
    "admin.channel.test": (_l("Sent a test message to the notification channel %(subject)s"), "name"),
    "admin.calendar.update": (_l("Entered the working calendar of %(subject)s"), "year"),
    "admin.calendar.delete": (_l("Removed the entered working calendar of %(subject)s"), "year"),
}
AUDIT_FIELDS = {
    "display_name": _l("name"),
    "email": _l("email"),
    "locale": _l("language"),
    "active": _l("active"),
    "roles": _l("roles"),
    "department": _l("department"),
    "superior": _l("reports to"),
    "label": _l("label"),
    "name": _l("name"),
    "manager": _l("manager"),
    "parent": _l("parent"),
    "substitute": _l("substitute"),
    "duplicate_id": _l("duplicate"),
    "duplicate_name": _l("duplicate's name"),
    "contacts": _l("contacts"),
    "activities": _l("activities"),
    "notices": _l("notices"),
    "from": _l("from"),
    "until": _l("until"),
    "version": _l("version"),
    "bytes": _l("size (bytes)"),
    "owner": _l("owner"),
    "status": _l("status"),
    "grade": _l("grade"),
    "customer_id": _l("customer"),
    "kind": _l("kind"),
    "assignee": _l("assignee"),
    "to": _l("to"),
    "customers": _l("customers"),
    "leads": _l("leads"),
    "opportunities": _l("opportunities"),
    "receivables": _l("receivables"),
    "tasks": _l("tasks"),
    "instances": _l("running processes"),
}

CUSTOMER_STATUSES = {
    "potential": _l("Potential"),
    "trading": _l("Trading"),
    "dormant": _l("Dormant"),
    "lost": _l("Lost"),
}
ACTIVITY_KINDS = {
    "call": _l("Call"),
    "visit": _l("Visit"),
    "email": _l("Email to send"),
    "meeting": _l("Meeting"),
    "note": _l("Note"),
}
TIMELINE_KINDS = {
    "lead": _l("Lead"),
    "complaint": _l("Complaint"),
    "approval": _l("Approval request"),
    "receivable": _l("Receivable"),
    "activity": _l("Activity"),
    "opportunity": _l("Opportunity"),
    "other": _l("Process"),
}
RELATIONSHIPS = {"key": _l("Key contact"), "good": _l("Good"), "normal": _l("Normal")}
STAGES = {
    "qualified": _l("Qualified"),
    "proposal": _l("Proposal"),
    "negotiation": _l("Negotiation"),
    "won": _l("Won"),
    "lost": _l("Lost deal"),
}
CUSTOMER_FIELDS = {
    "name": _l("Full name"),
    "short_name": _l("Short name"),
    "address": _l("Address"),
    "phone": _l("Phone"),
    "email": _l("Email to send"),
    "website": _l("Website"),
    "industry": _l("Industry"),
    "nature": _l("Company nature"),
    "market": _l("Country / market"),
    "trade_terms": _l("Trade terms (import/export rights, clearance, transport)"),
    "size": _l("Size"),
    "credit": _l("Credit status"),
    "grade": _l("Value grade"),
    "status": _l("Status"),
    "owner": _l("Owner"),
    "notes": _l("Notes"),
}

NOTIFICATION_KINDS = {
    "assigned": _l("Assigned to you"),
    "returned": _l("Returned"),
    "rejected": _l("Rejected"),
    "approved": _l("Approved"),
    "reminder": _l("Reminder"),
    "escalation": _l("Escalation"),
    "info": _l("Information"),
    "login_throttled": _l("Security"),
    "activity": _l("Activity for you"),
    "handover": _l("Work handed over to you"),
    "substitute": _l("You stand in for a colleague"),
    "untouched": _l("Untouched for a month"),
    "birthday": _l("Birthday"),
    "urge": _l("Urged"),
    "withdrawn": _l("Withdrawn"),
    "comment": _l("Comment"),
    "cc": _l("Copied to you"),
}

STATUSES = {
    "running": _l("Running"),
    "completed": _l("Completed"),
    "terminated": _l("Terminated"),
    "suspended": _l("Suspended"),
    "error": _l("Error"),
    "open": _l("Open"),
    "cancelled": _l("Cancelled"),
}

OUTCOMES = {
    "resolved": _l("Resolved"),
    "rejected": _l("Rejected"),
    "qualified": _l("Qualified"),
    "invalid": _l("Invalid"),
    "merged": _l("Merged"),
    "approved": _l("Approved"),
    "withdrawn": _l("Withdrawn"),
}

FIELD_ERRORS: list[tuple[re.Pattern[str], Any]] = [
    (re.compile(r"^is required$"), lambda m: _("This field is required.")),
    (re.compile(r"^is empty$"), lambda m: _("The file is empty.")),
    (
        re.compile(r"^must be a PDF, an image"),
        lambda m: _("Only PDF, images (PNG, JPEG, GIF, WebP), Office documents and UTF-8 text can be attached."),
    ),
    (re.compile(r"^an instance holds at most (\d+) files$"), lambda m: _("A process holds at most %(n)s files.", n=m.group(1))),
    (re.compile(r"^is not a field of this form$"), lambda m: _("This field is not part of the form.")),
    (re.compile(r"^must be a file"), lambda m: _("Choose a file to upload.")),
    (re.compile(r"^is not a file of this process"), lambda m: _("That file does not belong to this process; upload it again.")),
    (re.compile(r"^must be text$"), lambda m: _("Enter text.")),
    (re.compile(r"^must be a date \(YYYY-MM-DD\)$"), lambda m: _("Enter a date (YYYY-MM-DD).")),
    (re.compile(r"^must be one of: .*$"), lambda m: _("Choose one of the options.")),
    (re.compile(r"^must be true or false$"), lambda m: _("Choose yes or no.")),
    (re.compile(r"^must be a whole number$"), lambda m: _("Enter a whole number.")),
    (re.compile(r"^must be (a|a finite) number$"), lambda m: _("Enter a number.")),
    (re.compile(r"^must be at least ([\d.]+) characters$"), lambda m: _("Enter at least %(n)s characters.", n=m.group(1))),
    (re.compile(r"^must be (?:text of )?at most ([\d.]+) characters$"), lambda m: _("Enter at most %(n)s characters.", n=m.group(1))),
    (re.compile(r"^must be at least (-?[\d.]+)$"), lambda m: _("Must be at least %(n)s.", n=m.group(1))),
    (re.compile(r"^must be at most (-?[\d.]+)$"), lambda m: _("Must be at most %(n)s.", n=m.group(1))),
    (re.compile(r"^has the wrong format$"), lambda m: _("The format is not right.")),
    (re.compile(r"^no active user with this name$"), lambda m: _("There is no active user with this name.")),
    (re.compile(r"^is not a colleague this task is offered to$"), lambda m: _("Choose a colleague this task is offered to.")),
    (re.compile(r"^is required when returning or rejecting$"), lambda m: _("Say why when you return or reject: the comment is required.")),
    (re.compile(r"^may not perform this task"), lambda m: _("This person may not do this task: it is offered to other roles or people.")),
    (re.compile(r"^four-eyes"), lambda m: _("This person started the request or proposed what this step decides (four-eyes).")),
    (re.compile(r"^could not be checked against its format in time"), lambda m: _("The entry could not be checked in time; shorten it.")),
    # imports (engine.services.imports)
    (re.compile(r"^needs a column for the company"), lambda m: _("No column was recognised as the company: choose it under Field below.")),
    (
        re.compile(r"^needs a column for the customer's name"),
        lambda m: _("No column was recognised as the customer's name: choose it under Field below."),
    ),
    (re.compile(r"^must be an Excel file \(\.xlsx\) or CSV$"), lambda m: _("Choose an Excel file (.xlsx) or a CSV file.")),
    (re.compile(r"^has more than (\d+) rows$"), lambda m: _("The file has more than %(n)s rows; split it.", n=m.group(1))),
    (re.compile(r"^is not a readable Excel file"), lambda m: _("The Excel file cannot be read; save it again as .xlsx.")),
    (re.compile(r"^is neither UTF-8 nor GB18030 text$"), lambda m: _("The CSV file is neither UTF-8 nor GB18030 text.")),
    (re.compile(r"^has no header row$"), lambda m: _("The file has no header row.")),
]


def _english_names() -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    """Process, task and option names in English from every registered process package."""
    processes, tasks, options = {}, {"start": "Start"}, {}
    for parts in registered():
        if parts.name_en:
            processes[parts.key] = parts.name_en
        tasks.update(parts.task_names_en)
        options.update(parts.option_names_en)
    return processes, tasks, options


def process_name(key: str, name: str | None = None) -> str:
    if english():
        return _english_names()[0].get(key, name or key)
    return name or key


def task_name(task_key: str | None, name: str | None = None) -> str:
    if english():
        return _english_names()[1].get(task_key or "", name or task_key or "")
    return name or task_key or ""


def option_label(option_id: Any, name: str | None = None) -> str:
    options = _english_names()[2]
    if english():
        return options.get(str(option_id), name or str(option_id))
    return name or options.get(str(option_id), str(option_id))


def field_label(field: dict[str, Any]) -> str:
    if english():
        return str(field.get("label_en") or field.get("label") or field.get("id"))
    return str(field.get("label") or field.get("id"))


def role_label(role: str, chinese: str | None = None) -> str:
    if english():
        return ROLE_EN.get(role, role)
    return chinese or role


def action_label(action: str) -> str:
    return str(ACTIONS.get(action, action))


def notification_kind(kind: str) -> str:
    return str(NOTIFICATION_KINDS.get(kind, kind))


def customer_status(status: str | None) -> str:
    return str(CUSTOMER_STATUSES.get(status or "", status or ""))


def activity_kind(kind: str | None) -> str:
    return str(ACTIVITY_KINDS.get(kind or "", kind or ""))


def stage_label(stage: str | None) -> str:
    return str(STAGES.get(stage or "", stage or ""))


def timeline_kind(kind: str | None) -> str:
    return str(TIMELINE_KINDS.get(kind or "", kind or ""))


def status_label(status: str | None) -> str:
    return str(STATUSES.get(status or "", status or ""))


def outcome_label(outcome: str | None) -> str:
    return str(OUTCOMES.get(outcome or "", outcome or ""))


JOB_KINDS = {
    "timer": _l("Timer"),
    "timer_start": _l("Timed start"),
    "email": _l("Email to send"),
    "activity_reminder": _l("Activity reminder"),
    "daily_sweep": _l("Daily check"),
    "history_cleanup": _l("History cleanup"),
    "monitor_counters": _l("Monitor counters"),
}


def job_kind(kind: str) -> str:
    return str(JOB_KINDS.get(kind, kind))


def field_error(message: str) -> str:
    for pattern, render in FIELD_ERRORS:
        match = pattern.match(message)
        if match:
            return str(render(match))
    return message


def error_message(exc: EngineError) -> str:
    """A sentence for the person at the screen; engine texts stay in the log, not on the page."""
    if isinstance(exc, Conflict) and exc.code == "suspended":
        return _("An administrator has suspended this process: nothing can be done on it until it is resumed.")
    if isinstance(exc, TooSoon):
        minutes = int(exc.extra.get("retry_after") or 60) // 60 + 1
        return _("Already urged within the hour: you can urge again in %(minutes)d minutes.", minutes=minutes)
    if isinstance(exc, Conflict) and exc.message == "the request is not waiting for anyone":
        return _("The request is not waiting for anyone right now.")
    if isinstance(exc, Conflict) and exc.message.startswith(("only a", "the instance has ended", "the request is not running")):
        return _("This process is not in a state for that any more; the page shows its current state.")
    if isinstance(exc, Conflict):
        holder = re.search(r"already claimed by (\S+)", exc.message)
        if holder:
            return _("Someone else has already claimed this task (%(user)s).", user=holder.group(1))
        return _("This task has already been completed or changed by someone else. The page shows its current state.")
    if isinstance(exc, NotFound):
        return _("Not found, or you may not see it.")
    if isinstance(exc, Forbidden):
        if exc.message.startswith("four-eyes"):
            return _("You started this request or proposed what this step decides, so someone else decides it (four-eyes).")
        return _("You are not allowed to do this.")
    if isinstance(exc, ValidationFailed):
        return _("Please correct the marked fields.")
    if isinstance(exc, ProcessError):
        return _("The process could not continue: %(detail)s", detail=exc.message)
    if isinstance(exc, TooLarge):
        return _("The file is larger than the limit; nothing was saved.")
    return exc.message


def audit_action(action: str) -> str:
    found = AUDIT_ACTIONS.get(action)
    return str(found[0]).replace("%(subject)s", "").strip() if found else action


def audit_sentence(action: str, data: dict[str, Any] | None) -> tuple[str, str]:
    """What an audit entry says, in the user's language: the sentence, and the changed values."""
    data = data or {}
    found = AUDIT_ACTIONS.get(action)
    if found is None:
        return action, ", ".join(f"{k}: {_audit_value(v)}" for k, v in sorted(data.items()))
    template, subject = found
    sentence = str(template) % {"subject": data.get(subject, "?")}
    rest = [(k, v) for k, v in data.items() if k not in (subject, "definition_id")]
    details = "; ".join(f"{AUDIT_FIELDS.get(k, k)}: {_audit_value(v)}" for k, v in rest)
    return sentence, details


def _audit_value(value: Any) -> str:
    if isinstance(value, bool):
        return str(_("Yes") if value else _("No"))
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value) or "—"
    return "—" if value in (None, "") else str(value)
