"""Instances as tables: the monitor's search result, its XLSX and CSV exports (pages and API) and a
process's printable register (投诉登记表). One row per instance; the business fields as columns,
labelled and worded by the instance's own forms (field_catalogue), in the reader's language.

Spreadsheet values stay typed: numbers as numbers, times as local times; options and yes/no as
their words."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from flask import Response
from sqlalchemy.orm import Session

from engine.errors import ValidationFailed
from engine.process_engine import ProcessEngine
from engine.process_parts import parts_of
from engine.services.identity import Actor
from engine.services.instance_search import InstanceSearch
from engine.services.presentation import field_catalogue
from store.models import ProcessInstance, Task
from webui import labels
from webui.context import HIDDEN, format_value, label_of
from webui.i18n import gettext as _
from webui.spreadsheets import download

EXPORT_LIMIT = 10_000
REGISTER_LIMIT = 500
# What an export leaves out of the business fields: the engine's routing variables.
INTERNAL = HIDDEN - {"outcome", "decision", "comment"}


@dataclass
class Table:
    headers: list[str]
    rows: list[list[Any]] = field(default_factory=list)
    total: int = 0  # how many matched (the rows may be the first EXPORT_LIMIT)


STATUSES = ("running", "suspended", "completed", "terminated", "error")


@dataclass
class Query:
    """A search with the two parameters besides the business ones: process and status."""

    search: InstanceSearch
    process_key: str | None = None
    status: str | None = None

    @classmethod
    def from_params(cls, args: Mapping[str, Any]) -> Query:
        """The pages', the exports' and the API's parameters, refused whole when one is wrong."""
        search = InstanceSearch.from_params(args)
        process_key = str(args.get("process_key") or "")[:128] or None
        status = args.get("status") or None
        if status is not None and status not in STATUSES:
            raise ValidationFailed({"status": "must be one of " + ", ".join(STATUSES)})
        return cls(search, process_key, status)

    def params(self) -> dict[str, str]:
        """The query as parameters again (the next page's link, the exports')."""
        found = self.search.params()
        if self.process_key:
            found["process_key"] = self.process_key
        if self.status:
            found["status"] = self.status
        return found


class Catalogues:
    """Each definition's field catalogue, read once per table."""

    def __init__(self, engine: ProcessEngine, session: Session) -> None:
        self._engine, self._session = engine, session
        self._found: dict[int, dict[str, dict[str, Any]]] = {}

    def __call__(self, definition_id: int) -> dict[str, dict[str, Any]]:
        if definition_id not in self._found:
            self._found[definition_id] = field_catalogue(self._engine, self._session, definition_id)
        return self._found[definition_id]


def field_columns(
    engine: ProcessEngine, session: Session, query: Query, rows: Iterable[ProcessInstance], catalogues: Catalogues
) -> list[tuple[str, str]]:
    """(field id, label) of the business fields: the chosen process's forms in order, then what its
    package computes; without a process, every field the rows hold, in the order first seen."""
    if query.process_key:
        catalogue = catalogues(engine.repository.latest_id(session, query.process_key))
        parts = parts_of(query.process_key)
        names = [k for k in catalogue if k not in INTERNAL] + [k for k in parts.field_names if k not in catalogue]
        return [(k, label_of(k, catalogue, parts)) for k in names]
    seen: dict[str, str] = {}
    for instance in rows:
        for key in instance.data or {}:
            if key not in seen and key not in INTERNAL and not key.startswith("_"):
                seen[key] = label_of(key, catalogues(instance.definition_id), parts_of(instance.process_key))
    return list(seen.items())


def cell(key: str, value: Any, catalogue: dict[str, dict[str, Any]], data: dict[str, Any]) -> Any:
    """A business value for a spreadsheet: numbers stay numbers, the rest in the form's words."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and not (catalogue.get(key) or {}).get("options"):
        return value
    return format_value(key, value, catalogue, data)


def export_table(engine: ProcessEngine, session: Session, actor: Actor, query: Query) -> Table:
    """The search's instances (the first EXPORT_LIMIT), one row each, business fields as columns."""
    rows, total = engine.runtime.query(session, actor, query.process_key, query.status, EXPORT_LIMIT, 0, query.search)
    steps = engine.runtime.open_steps(session, [r.id for r in rows])
    names = engine.repository.latest_names(session)
    catalogues = Catalogues(engine, session)
    fields = field_columns(engine, session, query, rows, catalogues)
    people = engine.identity.display_names(session)
    headers = [_("No."), _("Process"), _("Status"), _("Result"), _("Business key"), _("Started by"), _("Started at")]
    headers += [_("Ended at"), _("Current steps"), _("Due")] + [label for _key, label in fields]
    table = Table(headers, total=total)
    for instance in rows:
        data = instance.data or {}
        catalogue = catalogues(instance.definition_id)
        open_steps = steps.get(instance.id, [])
        table.rows.append(
            [
                instance.id,
                labels.process_name(instance.process_key, names.get(instance.process_key)),
                labels.status_label(instance.status),
                labels.outcome_label(data.get("outcome")) if data.get("outcome") else "",
                instance.business_key or "",
                people.get(instance.started_by or "", instance.started_by or ""),
                instance.started_at,
                instance.ended_at,
                "、".join(labels.task_name(t.task_key, t.name) for t in open_steps),
                min((t.due_at for t in open_steps if t.due_at is not None), default=None),
                *(cell(key, data.get(key), catalogue, data) for key, _label in fields),
            ]
        )
    return table


def export_download(engine: ProcessEngine, actor: Actor, args: Mapping[str, Any], kind: str) -> Response:
    """The search in `args` as an XLSX or CSV download (the pages' and the API's)."""
    query = Query.from_params(args)
    with engine.db.sessions() as session:
        table = export_table(engine, session, actor, query)
    return download(kind, _("Instances"), "instances", table.headers, table.rows, table.total)


@dataclass
class RegisterRow:
    instance: ProcessInstance
    values: list[str]
    open_steps: list[Task]


def register(engine: ProcessEngine, session: Session, actor: Actor, query: Query) -> tuple[list[str], list[RegisterRow], int]:
    """The process's register (its package's `register` fields) for printing: the first
    REGISTER_LIMIT instances of the search, oldest first as a paper register runs."""
    parts = parts_of(query.process_key)
    assert parts.register is not None and query.process_key
    ordered = replace(query.search, sort="started")
    rows, total = engine.runtime.query(session, actor, query.process_key, query.status, REGISTER_LIMIT, 0, ordered)
    catalogues = Catalogues(engine, session)
    latest = catalogues(engine.repository.latest_id(session, query.process_key))
    headers = [label_of(k, latest, parts) for k in parts.register.fields]
    steps = engine.runtime.open_steps(session, [r.id for r in rows])
    found = []
    for instance in rows:
        data, catalogue = instance.data or {}, catalogues(instance.definition_id)
        values = [format_value(k, data.get(k), catalogue, data, parts.money_fields) for k in parts.register.fields]
        found.append(RegisterRow(instance, values, steps.get(instance.id, [])))
    return headers, found, total
