"""What a process package contributes beyond its diagram, and where the engine and the pages find it.

Each shipped process is one package under `processes/<key>/` (its BPMN and DMN files, its
operations, its worklist columns, its cards, its English labels, its rules) and registers one
`ProcessParts` here when it is imported, as operations register themselves with
`engine.operations.operation`. The engine never imports `processes`; a process deployed from the
designer has no package and gets `DEFAULT`: the generic worklist columns, one card with every
value, the names its diagram gives.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

Columns = Callable[[dict[str, Any]], dict[str, Any]]
Steps = Callable[[dict[str, Any]], list[tuple[str, str, str]]]  # (approver, state, mode)


def N_(text: str) -> str:
    """Marks an English text for the interface's message catalogue (make translations extracts
    it); the pages translate it when they show it."""
    return text


@dataclass(frozen=True)
class Card:
    """A group of fields on the task and instance pages (the complaint register, the lead card)."""

    key: str
    title: str  # English, marked with N_
    fields: tuple[str, ...]
    optional: bool = False  # left out, even beside an approval, while none of its fields has a value


@dataclass(frozen=True)
class Register:
    """A process's printable register (台帐, the complaint register 投诉登记表): its title and the
    fields it lists, one line per instance, besides its number, dates and state."""

    title: str  # English, marked with N_
    fields: tuple[str, ...]


def generic_columns(data: dict[str, Any]) -> dict[str, Any]:
    """The worklist's business columns when a process names none: the usual field names."""
    return columns_from(data, ("customer", "company"), ("title", "description", "need"), ("amount", "estimated_value"))


def columns_from(data: dict[str, Any], customer: tuple[str, ...], title: tuple[str, ...], amount: tuple[str, ...]) -> dict[str, Any]:
    """The first field of each list that has a value: customer (200 characters), title (300), amount."""
    found_customer = next((data[f] for f in customer if data.get(f)), None)
    found_title = next((data[f] for f in title if data.get(f)), None)
    found_amount = next((data[f] for f in amount if f in data), None)
    if isinstance(found_amount, bool) or not isinstance(found_amount, (int, float)):
        found_amount = None
    return {
        "customer": str(found_customer)[:200] if found_customer else None,
        "title": str(found_title)[:300] if found_title else None,
        "amount": found_amount,
    }


@dataclass(frozen=True)
class ProcessParts:
    key: str
    files: tuple[Path, ...] = ()  # the shipped BPMN and DMN files, deployed by seed-demo
    name_en: str | None = None
    task_names_en: Mapping[str, str] = field(default_factory=dict)
    option_names_en: Mapping[str, str] = field(default_factory=dict)
    field_names: Mapping[str, str] = field(default_factory=dict)  # computed fields no form labels, English, N_
    columns: Columns = generic_columns
    cards: tuple[Card, ...] = ()
    register: Register | None = None
    report_fields: tuple[str, ...] = ()  # the monitor's reports count its instances by these fields
    rate_per_orders: bool = False  # and, given the period's order count, per 100 orders (投诉率)
    side_by_side: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # approval step -> the cards it compares
    started_labels: tuple[str, str] = (N_("Started by"), N_("Started at"))
    money_fields: frozenset[str] = frozenset({"amount"})
    multiline_fields: frozenset[str] = frozenset()
    hidden_fields: frozenset[str] = frozenset()
    skip_when_zero: frozenset[str] = frozenset()
    steps: Steps | None = None  # the roles a request passes, with their state (done, current, todo) and mode (one, all, any)
    withdrawable: bool = False  # its requester may take it back while it runs (撤回: outcome `withdrawn`)
    chain_step: str | None = None  # the step of a chain that takes added approvers (加签: engine.services.chain_steps)
    cc_field: str | None = None  # the start-form field naming whom it copies (抄送: engine.services.copies)
    # What the package adds to a start's values, in the start's transaction (session, requester,
    # values, now) -> values: the approval chain's department and budget check.
    on_start: Callable[[Any, str, dict[str, Any], Any], dict[str, Any]] | None = None
    # The same for a step's submitted values (task key -> (session, instance, values, now) -> values):
    # a revised request is checked against the budget again.
    on_step: Mapping[str, Callable[[Any, Any, dict[str, Any], Any], dict[str, Any]]] = field(default_factory=dict)
    # A task's priority (0-100; 70 and up is high, 30 and below low) when its diagram names none.
    priority: Callable[[dict[str, Any]], int] = lambda _data: 50
    # Decisions that must say why: a form with `decision` and `comment` fields needs the comment
    # when the decision is one of these (the engine refuses it without, on the pages and the API).
    comment_needed_for: frozenset[str] = frozenset({"return", "reject"})

    def comment_problem(self, fields: list[dict[str, Any]], values: dict[str, Any]) -> dict[str, str]:
        ids = {f.get("id") for f in fields}
        needs = {"decision", "comment"} <= ids and values.get("decision") in self.comment_needed_for
        if needs and not str(values.get("comment") or "").strip():
            return {"comment": "is required when returning or rejecting"}
        return {}


DEFAULT = ProcessParts(key="")
_PARTS: dict[str, ProcessParts] = {}


def register(parts: ProcessParts) -> ProcessParts:
    _PARTS[parts.key] = parts
    return parts


def parts_of(key: str | None) -> ProcessParts:
    return _PARTS.get(key or "", DEFAULT)


def registered() -> list[ProcessParts]:
    return [_PARTS[k] for k in sorted(_PARTS)]
