"""The business context a performer reads before the form: the complaint register, the lead card,
the approval request with its chain and history, laid out from the instance data by the cards
each process package declares (engine.process_parts; processes/<key>/__init__.py).

Labels and option names come from the definition's own forms (engine.services.presentation's
field_catalogue), so a field renamed in the designer is renamed here too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask import url_for

from engine.process_parts import DEFAULT, ProcessParts, parts_of
from store.models import HistoryEvent
from webui import labels
from webui.i18n import gettext as _
from webui.ui import filesize, local_time, money, person, role_names

# What no process shows on its cards: the engine's own variables and the decision history's fields.
HIDDEN = {"initiator", "outcome", "decision", "comment", "approvers", "approver_role", "step", "step_index", "current_role"}


@dataclass
class Row:
    field_id: str
    label: str
    value: str
    multiline: bool = False
    href: str | None = None  # a file field's download


def file_link(value: Any) -> tuple[str, str] | None:
    """A file field's value (engine.services.form_files) as (its name and size, its download)."""
    if not isinstance(value, dict) or not isinstance(value.get("attachment_id"), int):
        return None
    return f"{value.get('filename') or 'file'} ({filesize(value.get('size') or 0)})", url_for(
        "instances.download", attachment_id=value["attachment_id"]
    )


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


def format_value(
    field_id: str, value: Any, catalogue: dict[str, dict[str, Any]], data: dict[str, Any], money_fields: frozenset[str] = frozenset()
) -> str:
    info = catalogue.get(field_id, {})
    if value is None or value == "":
        return ""
    if isinstance(value, bool) or info.get("type") == "boolean":
        return _("Yes") if value is True or str(value).lower() == "true" else _("No")
    if info.get("options") or field_id in ("suggested_grade",):
        options = info.get("options") or catalogue.get("grade", {}).get("options", {})
        return labels.option_label(value, options.get(str(value)))
    if field_id in money_fields and isinstance(value, (int, float)):
        return money(value, data.get("currency") or "CNY")
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict) and isinstance(value.get("attachment_id"), int):  # a file field: its name
        return str(value.get("filename") or "file")
    if isinstance(value, dict):
        return ", ".join(f"{k}: {v}" for k, v in value.items())
    return str(value)


def label_of(field_id: str, catalogue: dict[str, dict[str, Any]], parts: ProcessParts = DEFAULT) -> str:
    """A field's label from the forms; a computed field (no form has it) by its process's name for it."""
    info = catalogue.get(field_id)
    if info is None:
        return _(parts.field_names[field_id]) if field_id in parts.field_names else field_id
    return labels.field_label({"id": field_id, **info})


def cards(
    process_key: str,
    data: dict[str, Any],
    catalogue: dict[str, dict[str, Any]],
    only: tuple[str, ...] | None = None,
    started: tuple[str | None, datetime | None] | None = None,
) -> list[Card]:
    """The process's cards with the fields that have values; a process without a package gets one
    card with every visible value, labelled from its forms. `started` (who, when) goes on the first."""
    parts = parts_of(process_key)
    layout = [(c.key, _(c.title), c.fields, c.optional) for c in parts.cards]
    if not layout:
        layout = [("data", _("Business data"), tuple(k for k in data if k not in HIDDEN and not k.startswith("_")), False)]
    result = []
    for key, title, fields, optional in layout:
        if only is not None and key not in only:
            continue
        card = Card(key, title)
        for fid in fields:
            if fid in parts.skip_when_zero and not data.get(fid):
                continue
            if (link := file_link(data.get(fid))) is not None:
                card.rows.append(Row(fid, label_of(fid, catalogue, parts), link[0], href=link[1]))
                continue
            text = format_value(fid, data.get(fid), catalogue, data, parts.money_fields)
            if text:
                card.rows.append(Row(fid, label_of(fid, catalogue, parts), text, fid in parts.multiline_fields or "\n" in text))
        if card.rows or (only is not None and not optional):
            result.append(card)
    if started is not None and result and started[0]:
        who, when = parts.started_labels
        result[0].rows += [Row("started_by", _(who), person(started[0])), Row("started_at", _(when), local_time(started[1]))]
    return result


def side_by_side(process_key: str, task_key: str) -> tuple[str, ...] | None:
    """The cards an approval step compares (the request, the analysis, the proposal), or None."""
    return parts_of(process_key).side_by_side.get(task_key)


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
                user=_("%(user)s for %(name)s", user=person(event.user), name=person(event.on_behalf_of))
                if event.on_behalf_of
                else person(event.user),
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


def approval_chain(process_key: str, data: dict[str, Any]) -> list[dict[str, str]]:
    """The roles a request passes (done, current or to come; a countersign's or any-one-of's mode
    named), for processes that have such steps."""
    steps = parts_of(process_key).steps
    modes = {"all": _("countersign: all approve"), "any": _("any one of them")}
    return (
        [
            {
                "role": person(role[5:]) if role.startswith("user:") else role_names([r.strip() for r in role.split(",")]),
                "state": state,
                "mode": modes.get(mode, ""),
            }
            for role, state, mode in steps(data)
        ]
        if steps
        else []
    )
