"""Searching instances by their business data (API.md "Instances and oversight"), for the API, the
monitor's instance search and its exports: `q` (`#123`, or text the business key or any business
field contains, the customer's name among them), `data.<field>=<value>` (equality; text without regard to
case, numbers as numbers), `data.<field>.like=` (containing), `data.<field>.gte=` / `.lte=`
(numbers and ISO dates), `started_from` / `started_to` (ISO days in the organisation's zone, both
inclusive), `step` (an open step's BPMN id), `overdue` (an open step past its due time) and `sort`.

Bad parameters are refused whole with the field that is wrong. The field filters read the
materialised business fields (engine.services.instance_fields), through their indexes."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any

from sqlalchemy import ColumnElement, Select, select
from sqlalchemy.orm import aliased

from engine.errors import ValidationFailed
from engine.services import instance_fields
from store.models import MAX_ID, InstanceField, ProcessInstance, Task

FIELD = re.compile(r"^data\.([A-Za-z_][A-Za-z0-9_]{0,63})(?:\.(gte|lte|like))?$")
STEP = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,127}$")
MAX_FILTERS = 20
MAX_VALUE = 200
# A non-admin's unfiltered list counts this many instances at most: past it the count would cost
# a pass over every instance the team ever took part in, for a number no one pages through.
TOTAL_CAP = 10_000


class Total(int):
    """A list's total: exact, or (`exact` False) more than TOTAL_CAP matched and this is the cap.
    An int, so that pages, JSON and templates use it as the number it is."""

    exact: bool

    def __new__(cls, value: int, exact: bool = True) -> Total:
        total = super().__new__(cls, value)
        total.exact = exact
        return total

    @classmethod
    def counted(cls, n: int, cap: int = TOTAL_CAP) -> Total:
        """`n` instances counted up to one past the cap."""
        return cls(cap, exact=False) if n > cap else cls(n)


SORTS = {"-started": ("id", True), "started": ("id", False), "-updated": ("updated_at", True), "updated": ("updated_at", False)}
DEFAULT_SORT = "-started"


def iso_day(text: str) -> date | None:
    """A day written YYYY-MM-DD, or None."""
    try:
        return date.fromisoformat(text) if len(text) == 10 else None
    except ValueError:
        return None


def _flag(text: str) -> bool | None:
    return {"": None, "1": True, "true": True, "yes": True, "on": True, "0": False, "false": False, "no": False}.get(text.lower())


@dataclass(frozen=True)
class InstanceSearch:
    q: str | None = None
    equals: tuple[tuple[str, str], ...] = ()
    ranges: tuple[tuple[str, str, str], ...] = ()  # (field, "gte" | "lte" | "like", value)
    started_from: date | None = None
    started_to: date | None = None
    step: str | None = None
    overdue: bool = False
    sort: str = DEFAULT_SORT

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> InstanceSearch:
        errors: dict[str, str] = {}
        equals: list[tuple[str, str]] = []
        ranges: list[tuple[str, str, str]] = []
        for name in params:
            if not name.startswith("data."):
                continue
            match = FIELD.match(name)
            value = str(params.get(name) or "")
            if not value:
                continue  # an empty box on the search form filters nothing
            if match is None:
                errors[name] = "is not a field name (data.<field>, data.<field>.gte, .lte or .like)"
            elif len(value) > MAX_VALUE:
                errors[name] = f"must be at most {MAX_VALUE} characters"
            elif match.group(2) is None:
                equals.append((match.group(1), value))
            elif match.group(2) == "like":
                ranges.append((match.group(1), "like", value))
            elif instance_fields.number_of(value) is None and iso_day(value) is None:
                errors[name] = "must be a number or an ISO date (YYYY-MM-DD)"
            else:
                ranges.append((match.group(1), match.group(2), value))
        if len(equals) + len(ranges) > MAX_FILTERS:
            errors["data"] = f"at most {MAX_FILTERS} field filters"
        days: dict[str, date | None] = {}
        for name in ("started_from", "started_to"):
            text = str(params.get(name) or "")
            days[name] = iso_day(text) if text else None
            if text and days[name] is None:
                errors[name] = "must be an ISO date (YYYY-MM-DD)"
        step = str(params.get("step") or "") or None
        if step is not None and not STEP.match(step):
            errors["step"] = "is not a step id"
        overdue = _flag(str(params.get("overdue") or ""))
        if params.get("overdue") and overdue is None:
            errors["overdue"] = "must be true or false"
        sort = str(params.get("sort") or DEFAULT_SORT)
        if sort not in SORTS:
            errors["sort"] = "must be one of " + ", ".join(SORTS)
        q = str(params.get("q") or "").strip()[:MAX_VALUE] or None
        if errors:
            raise ValidationFailed(errors)
        return cls(q, tuple(equals), tuple(ranges), days["started_from"], days["started_to"], step, bool(overdue), sort)

    @property
    def empty(self) -> bool:
        return not (self.q or self.equals or self.ranges or self.started_from or self.started_to or self.step or self.overdue)

    def matching(self, process_key: str | None, status: str | None, zone: tzinfo, now: datetime) -> tuple[Select[Any], Any]:
        """The matching instances as a select of `id` (and `updated_at` when the sort needs it),
        with the column holding the instance id. Field filters read their rows (with the
        process in them: index-only scans of one process's matches in id order, merged), the first
        one giving the ids; `process_instances` is joined only for what only it holds (status,
        start time, the update time a sort needs) or when no field is filtered."""
        rows = [aliased(InstanceField) for _ in (*self.equals, *self.ranges)]
        conditions: list[ColumnElement[bool]] = []
        for row, (name, value) in zip(rows, self.equals, strict=False):
            conditions += instance_fields.equal_row(row, name, value)
        for row, (name, op, value) in zip(rows[len(self.equals) :], self.ranges, strict=True):
            build = {"like": instance_fields.containing_row, "gte": instance_fields.at_least_row, "lte": instance_fields.at_most_row}[op]
            conditions += build(row, name, value)
        if process_key:
            conditions += [row.process_key == process_key for row in rows]
        by_updated = SORTS[self.sort][0] == "updated_at"
        needs_instance = not rows or bool(status or self.started_from or self.started_to or by_updated)
        if rows:
            id_column = rows[0].instance_id
            stmt = select(id_column.label("id")).select_from(rows[0])
            for row in rows[1:]:
                stmt = stmt.join(row, row.instance_id == id_column)
            if needs_instance:
                stmt = stmt.join(ProcessInstance, ProcessInstance.id == id_column)
        else:
            id_column = ProcessInstance.id
            stmt = select(ProcessInstance.id.label("id"))
            if process_key:
                conditions.append(ProcessInstance.process_key == process_key)
        if by_updated:
            stmt = stmt.add_columns(ProcessInstance.updated_at)
        if status:
            conditions.append(ProcessInstance.status == status)
        if self.started_from:
            conditions.append(ProcessInstance.started_at >= _start_of(self.started_from, zone))
        if self.started_to and self.started_to < date.max:
            conditions.append(ProcessInstance.started_at < _start_of(self.started_to + timedelta(days=1), zone))
        if self.step or self.overdue:
            open_steps = select(Task.instance_id).where(Task.status == "open")
            if self.step:
                open_steps = open_steps.where(Task.task_key == self.step)
            if self.overdue:
                open_steps = open_steps.where(Task.due_at < now)
            conditions.append(id_column.in_(open_steps))
        if self.q:
            conditions.append(self._text(self.q, id_column))
        return stmt.where(*conditions), id_column

    def order(self, columns: Any) -> list[Any]:
        """ORDER BY over `columns` (the instances' `id` and `updated_at`), ties newest first."""
        name, descending = SORTS[self.sort]
        first = columns[name].desc() if descending else columns[name].asc()
        return [first] if name == "id" else [first, columns["id"].desc()]

    @staticmethod
    def _text(q: str, id_column: Any) -> ColumnElement[bool]:
        """`#123` is also an instance number; the text is looked for in the business key and every
        business field (the customer's name among them)."""
        number = q.lstrip("#")
        instance_id = int(number) if number.isdigit() and 0 < int(number) <= MAX_ID else None
        return instance_fields.anywhere(number if q.startswith("#") and instance_id else q, instance_id, id_column)

    def params(self) -> dict[str, str]:
        """The query as parameters again (links to the next page and the exports)."""
        found: dict[str, str] = {}
        if self.q:
            found["q"] = self.q
        for name, value in self.equals:
            found[f"data.{name}"] = value
        for name, op, value in self.ranges:
            found[f"data.{name}.{op}"] = value
        if self.started_from:
            found["started_from"] = self.started_from.isoformat()
        if self.started_to:
            found["started_to"] = self.started_to.isoformat()
        if self.step:
            found["step"] = self.step
        if self.overdue:
            found["overdue"] = "1"
        if self.sort != DEFAULT_SORT:
            found["sort"] = self.sort
        return found


def _start_of(day: date, zone: tzinfo) -> datetime:
    return datetime.combine(day, time.min, tzinfo=zone)
