"""Searching instances by their business data (API.md "Instances and oversight"): `q` (a number
`#123`, the business key, or the customer's name), `data.<field>=<value>` (equality; text without
regard to case, numbers as numbers), `data.<field>.gte=` / `.lte=` (numbers and ISO dates), and
`started_from` / `started_to` (ISO days in the organisation's zone, both inclusive).

Bad parameters are refused whole with the field that is wrong. The filters read the instance's
JSON data; a materialised, indexed copy of the business fields is #14's next step."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any

from sqlalchemy import ColumnElement, Select, func, or_

from engine import matching
from engine.errors import ValidationFailed
from store.models import MAX_ID, ProcessInstance

FIELD = re.compile(r"^data\.([A-Za-z_][A-Za-z0-9_]{0,63})(?:\.(gte|lte))?$")
MAX_FILTERS = 20
MAX_VALUE = 200


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if value == value and abs(value) != float("inf") else None  # not NaN, not infinite


def _day(text: str) -> date | None:
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


@dataclass(frozen=True)
class InstanceSearch:
    q: str | None = None
    equals: tuple[tuple[str, str], ...] = ()
    ranges: tuple[tuple[str, str, str], ...] = ()  # (field, "gte" | "lte", value)
    started_from: date | None = None
    started_to: date | None = None

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> InstanceSearch:
        errors: dict[str, str] = {}
        equals: list[tuple[str, str]] = []
        ranges: list[tuple[str, str, str]] = []
        for name in params:
            match = FIELD.match(name)
            if not name.startswith("data."):
                continue
            value = str(params.get(name) or "")
            if match is None:
                errors[name] = "is not a field name (data.<field>, data.<field>.gte, data.<field>.lte)"
            elif len(value) > MAX_VALUE:
                errors[name] = f"must be at most {MAX_VALUE} characters"
            elif match.group(2) is None:
                equals.append((match.group(1), value))
            elif _number(value) is None and _day(value) is None:
                errors[name] = "must be a number or an ISO date"
            else:
                ranges.append((match.group(1), match.group(2), value))
        if len(equals) + len(ranges) > MAX_FILTERS:
            errors["data"] = f"at most {MAX_FILTERS} field filters"
        days: dict[str, date | None] = {}
        for name in ("started_from", "started_to"):
            text = str(params.get(name) or "")
            days[name] = _day(text) if text else None
            if text and days[name] is None:
                errors[name] = "must be an ISO date (YYYY-MM-DD)"
        q = str(params.get("q") or "").strip()[:MAX_VALUE] or None
        if errors:
            raise ValidationFailed(errors)
        return cls(q, tuple(equals), tuple(ranges), days["started_from"], days["started_to"])

    @property
    def empty(self) -> bool:
        return not (self.q or self.equals or self.ranges or self.started_from or self.started_to)

    def apply(self, stmt: Select[Any], zone: tzinfo) -> Select[Any]:
        data = ProcessInstance.data
        for name, value in self.equals:
            text = func.lower(data[name].as_string()) == value.lower()
            number = _number(value)
            stmt = stmt.where(or_(text, data[name].as_float() == number) if number is not None else text)
        for name, op, value in self.ranges:
            number = _number(value)
            column: Any = data[name].as_float() if number is not None else data[name].as_string()
            bound: Any = number if number is not None else value
            stmt = stmt.where(column >= bound if op == "gte" else column <= bound)
        if self.started_from:
            stmt = stmt.where(ProcessInstance.started_at >= _start_of(self.started_from, zone))
        if self.started_to:
            stmt = stmt.where(ProcessInstance.started_at < _start_of(self.started_to + timedelta(days=1), zone))
        if self.q:
            stmt = stmt.where(self._text(self.q))
        return stmt

    @staticmethod
    def _text(q: str) -> ColumnElement[bool]:
        """`#123` is an instance number; otherwise the business key or the customer's name."""
        number = q.lstrip("#")
        clauses: list[ColumnElement[bool]] = [func.lower(ProcessInstance.business_key).contains(q.lower(), autoescape=True)]
        if number.isdigit() and 0 < int(number) <= MAX_ID:
            clauses.append(ProcessInstance.id == int(number))
        if norm := matching.company(q):
            clauses.append(ProcessInstance.customer_norm.contains(norm, autoescape=True))
        return or_(*clauses)


def _start_of(day: date, zone: tzinfo) -> datetime:
    return datetime.combine(day, time.min, tzinfo=zone)
