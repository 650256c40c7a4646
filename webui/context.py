"""The business context a performer reads before the form: the complaint register, the lead card,
the approval request with its chain and history, laid out per process from the instance data.

Labels and option names come from the definition's own forms (engine.presentation.field_catalogue),
so a field renamed in the designer is renamed here too; only the grouping is per process.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from store.models import HistoryEvent
from webui import labels
from webui.ui import local_time, money, person, role_names

CARDS: dict[str, list[tuple[str, Any, list[str]]]] = {
    "complaint_handling": [
        (
            "register",
            _l("Complaint register"),
            ["customer", "complainant", "contact", "channel", "category", "severity", "description", "demand"],
        ),
        ("assessment", _l("Assessment"), ["valid", "note", "reply"]),
        ("analysis", _l("Department's analysis"), ["department", "cause", "responsible_person"]),
        ("resolution", _l("Proposed resolution"), ["resolution_type", "amount", "plan"]),
        ("implementation", _l("Implementation"), ["customer_notified", "feedback", "penalty"]),
        ("summary", _l("Summary and evaluation"), ["summary", "improvement"]),
    ],
    "lead_qualification": [
        (
            "lead",
            _l("Lead card"),
            [
                "company",
                "contact_name",
                "phone",
                "email",
                "source",
                "industry",
                "company_nature",
                "need",
                "estimated_value",
                "suggested_grade",
            ],
        ),
        (
            "verification",
            _l("Verification"),
            ["outcome", "grade", "authentic", "complete", "importance", "reason", "follow_up_round", "note"],
        ),
    ],
    "approval_chain": [
        ("request", _l("Approval request"), ["request_type", "title", "amount", "customer", "description"]),
    ],
}
# The approval steps show the request, the department's analysis and the proposal side by side.
APPROVAL_TASKS = {
    ("complaint_handling", "leader_approval"): ["register", "analysis", "resolution"],
    ("complaint_handling", "gm_approval"): ["register", "analysis", "resolution"],
    ("approval_chain", "approve"): ["request"],
    ("lead_qualification", "director_review"): ["lead", "verification"],
}
# Who started the instance and when, in the words of each process; shown on its first card.
STARTED_LABELS = {
    "complaint_handling": (_l("Registered by"), _l("Registered at")),
    "lead_qualification": (_l("Captured by"), _l("Captured at")),
    "approval_chain": (_l("Requested by"), _l("Requested at")),
}
MONEY_FIELDS = {"amount", "estimated_value"}
MULTILINE_HINT = {
    "description",
    "demand",
    "plan",
    "cause",
    "note",
    "reply",
    "feedback",
    "penalty",
    "summary",
    "improvement",
    "need",
    "reason",
}
SKIP_ZERO = {"follow_up_round"}  # "0 rounds so far" says nothing
HIDDEN = {"initiator", "outcome", "decision", "comment", "approvers", "approver_role", "step", "step_index", "current_role"}


@dataclass
class Row:
    field_id: str
    label: str
    value: str
    multiline: bool = False


@dataclass
class Card:
    key: str
    title: str
    rows: list[Row] = field(default_factory=list)


@dataclass
class Decision:
    """One approve / return / reject in the history, with its comment."""

    at: str
    user: str
    task: str
    decision: str
    decision_id: str
    comment: str | None


def format_value(field_id: str, value: Any, catalogue: dict[str, dict[str, Any]], data: dict[str, Any]) -> str:
    info = catalogue.get(field_id, {})
    if value is None or value == "":
        return ""
    if isinstance(value, bool) or info.get("type") == "boolean":
        return _("Yes") if value is True or str(value).lower() == "true" else _("No")
    if info.get("options") or field_id in ("suggested_grade",):
        options = info.get("options") or catalogue.get("grade", {}).get("options", {})
        return labels.option_label(value, options.get(str(value)))
    if field_id in MONEY_FIELDS and isinstance(value, (int, float)):
        return money(value, data.get("currency") or "CNY")
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}: {v}" for k, v in value.items())
    return str(value)


def label_of(field_id: str, catalogue: dict[str, dict[str, Any]]) -> str:
    info = catalogue.get(field_id)
    if info is None:
        extra = {
            "suggested_grade": _("Suggested grade"),
            "follow_up_round": _("Follow-up round"),
            "proposed_department": _("Proposed department"),
        }
        return str(extra.get(field_id, field_id))
    return labels.field_label({"id": field_id, **info})


def cards(
    process_key: str,
    data: dict[str, Any],
    catalogue: dict[str, dict[str, Any]],
    only: list[str] | None = None,
    started: tuple[str | None, datetime | None] | None = None,
) -> list[Card]:
    """The process's cards with the fields that have values; unknown processes get one card with
    every visible value, labelled from their forms. `started` (who, when) goes on the first card."""
    layout = CARDS.get(process_key)
    if layout is None:
        fields = [k for k in data if k not in HIDDEN and not k.startswith("_")]
        layout = [("data", _l("Business data"), fields)]
    result = []
    for key, title, fields in layout:
        if only is not None and key not in only:
            continue
        card = Card(key, str(title))
        for fid in fields:
            if fid in SKIP_ZERO and not data.get(fid):
                continue
            text = format_value(fid, data.get(fid), catalogue, data)
            if text:
                card.rows.append(Row(fid, label_of(fid, catalogue), text, fid in MULTILINE_HINT or "\n" in text))
        if card.rows or only is not None:
            result.append(card)
    if started is not None and result and started[0]:
        who, when = STARTED_LABELS.get(process_key, (_l("Started by"), _l("Started at")))
        result[0].rows += [Row("started_by", str(who), person(started[0])), Row("started_at", str(when), local_time(started[1]))]
    return result


def decisions(history: list[HistoryEvent], catalogue: dict[str, dict[str, Any]], process_names: dict[str, str]) -> list[Decision]:
    """Every decision taken in the instance, oldest first (the approval history)."""
    found = []
    for event in history:
        data = event.data or {}
        if event.action != "complete" or "decision" not in data:
            continue
        value = str(data["decision"])
        found.append(
            Decision(
                at=local_time(event.at),
                user=person(event.user),
                task=labels.task_name(event.task_key, process_names.get(event.task_key or "")),
                decision=labels.option_label(value, catalogue.get("decision", {}).get("options", {}).get(value)),
                decision_id=value,
                comment=event.comment or (data.get("comment") if isinstance(data.get("comment"), str) else None),
            )
        )
    return found


def last_return(found: list[Decision]) -> Decision | None:
    """The decision that sent the work back, when it is the latest one (shown on the rework task)."""
    if found and found[-1].decision_id in ("return", "reject"):
        return found[-1]
    return None


def approval_chain(data: dict[str, Any]) -> list[dict[str, str]]:
    """The approver steps of an approval request: done, current or to come."""
    roles = data.get("approvers")
    if not isinstance(roles, list):
        return []
    index = data.get("step_index") if isinstance(data.get("step_index"), int) else 0
    finished = data.get("outcome") in ("approved", "rejected")
    steps = []
    for i, role in enumerate(roles):
        state = (
            "done"
            if i < index or (finished and data.get("outcome") == "approved")
            else ("current" if i == index and not finished else "todo")
        )
        steps.append({"role": role_names([str(role)]), "state": state})
    return steps
