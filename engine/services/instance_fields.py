"""Each instance's business fields, materialised for search (store.models.InstanceField): one row
per top-level scalar value of its data, written with the instance's state in the action's own
transaction (queued with its other writes, store.writes: no extra wait), only for the fields the
action changed.

The search's predicates are here too, so the rule that turns a value into its stored text is
written once: strings trimmed and lower-cased (200 characters), numbers without a trailing `.0`,
booleans `true`/`false`. Equality and prefix-free ranges read the (name, text) and (name, number)
indexes; text containing reads the trigram index on PostgreSQL (migration 0016)."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any

from sqlalchemy import ColumnElement, bindparam, delete, literal, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from store import writes
from store.models import InstanceField, ProcessInstance

NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
MAX_TEXT = 200
MAX_FIELDS = 100  # per instance, in name order: data beyond is kept but not searchable
# The business key as a row of its own (a data field cannot start with "_"), so that `q` is one
# look-up in the trigram index: written when the instance starts, as the key never changes.
KEY_FIELD = "_key"

_table = InstanceField.__table__


def text_of(value: Any) -> str | None:
    """The stored (and searched) text of a value; None for what is not a scalar."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return number_text(float(value))
    if isinstance(value, str):
        return value.strip().lower()[:MAX_TEXT] or None
    return None


def number_text(value: float) -> str | None:
    if not math.isfinite(value):
        return None
    return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)


def fields_of(data: Mapping[str, Any]) -> dict[str, tuple[str, float | None]]:
    """Field name -> (text, number) for the searchable values of an instance's data."""
    found: dict[str, tuple[str, float | None]] = {}
    for name in sorted(data):
        if name.startswith("_") or not NAME.match(name):
            continue
        value = data[name]
        text = text_of(value)
        if text is None:
            continue
        number = float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None
        found[name] = (text, number)
        if len(found) == MAX_FIELDS:
            break
    return found


def _upsert(dialect: Any) -> Any:
    insert = dialect.insert(_table)
    return insert.on_conflict_do_update(
        index_elements=["instance_id", "name"], set_={"text": insert.excluded.text, "number": insert.excluded.number}
    )


_UPSERT = {"postgresql": _upsert(postgresql), "sqlite": _upsert(sqlite)}
_DELETE = delete(_table).where(_table.c.instance_id == bindparam("instance"), _table.c.name.in_(bindparam("names", expanding=True)))


def key_row(business_key: str | None) -> dict[str, tuple[str, float | None]]:
    text = text_of(business_key) if business_key else None
    return {KEY_FIELD: (text, None)} if text else {}


def record(
    session: Session, instance: ProcessInstance, before: Mapping[str, Any], after: Mapping[str, Any], *, started_with_key: str | None = None
) -> None:
    """Queue the writes that bring the instance's rows from `before`'s fields to `after`'s (and,
    for a new instance, its business key's row); each row names the instance's process."""
    instance_id = instance.id
    old, new = fields_of(before), fields_of(after) | key_row(started_with_key)
    gone = sorted(old.keys() - new.keys())  # the key's row is never in `old`: it is never removed
    if gone:
        writes.later(session, _DELETE, {"instance": instance_id, "names": gone})
    changed = [
        {"instance_id": instance_id, "name": name, "text": text, "number": number, "process_key": instance.process_key}
        for name, (text, number) in new.items()
        if old.get(name) != (text, number)
    ]
    if changed:
        writes.later(session, _UPSERT[session.get_bind().dialect.name], changed)


# --- search predicates ------------------------------------------------------------------------
# Each filter is a list of conditions on one field row (`row`: InstanceField or an alias of it), so
# that a search can join the rows of several fields to each other (engine.services.instance_search)
# and other queries can ask for the instances having such a row (`equals`, `_having`).

Row = Any  # InstanceField or an aliased InstanceField


def _having(*conditions: ColumnElement[bool]) -> ColumnElement[bool]:
    return ProcessInstance.id.in_(select(InstanceField.instance_id).where(*conditions))


def number_of(text: str) -> float | None:
    """A finite number spelt in `text`, or None."""
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _like(text: str) -> str:
    """A LIKE pattern for text containing `text` (escape character /), built here so that the
    planner sees a constant and PostgreSQL can use the trigram index."""
    escaped = text.strip().lower()[:MAX_TEXT].replace("/", "//").replace("%", "/%").replace("_", "/_")
    return f"%{escaped}%"


def equal_row(row: Row, name: str, value: str) -> list[ColumnElement[bool]]:
    """The field equals the value: text without regard to case, a number as any spelling of it."""
    texts = {value.strip().lower()[:MAX_TEXT]}
    number = number_of(value)
    if number is not None and (spelt := number_text(number)) is not None:
        texts.add(spelt)
    ordered = sorted(texts)
    return [row.name == name, row.text == ordered[0] if len(ordered) == 1 else row.text.in_(ordered)]


def containing_row(row: Row, name: str, value: str) -> list[ColumnElement[bool]]:
    return [row.name == name, row.text.like(_like(value), escape="/")]


def at_least_row(row: Row, name: str, value: str) -> list[ColumnElement[bool]]:
    number = number_of(value)
    if number is not None:
        return [row.name == name, row.number >= number]
    return [row.name == name, row.text >= date.fromisoformat(value).isoformat()]


def at_most_row(row: Row, name: str, value: str) -> list[ColumnElement[bool]]:
    """Numbers up to the value; ISO dates (and date-times) on or before the day."""
    number = number_of(value)
    if number is not None:
        return [row.name == name, row.number <= number]
    day = date.fromisoformat(value)
    if day == date.max:
        return [row.name == name]
    return [row.name == name, row.text < (day + timedelta(days=1)).isoformat()]


def equals(name: str, value: str) -> ColumnElement[bool]:
    """The instance's field equals the value (as equal_row)."""
    return _having(*equal_row(InstanceField, name, value))


def anywhere(value: str, or_id: int | None = None, column: Any = ProcessInstance.id) -> ColumnElement[bool]:
    """Any business field or the business key of the instance whose id is `column` contains the text
    (or, given, the instance is `or_id`): one semi-join, which the trigram index serves."""
    found = select(InstanceField.instance_id).where(InstanceField.text.like(_like(value), escape="/"))
    if or_id is not None:
        found = found.union_all(select(literal(or_id)))  # type: ignore[assignment]
    return column.in_(found)
