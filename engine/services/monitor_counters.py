"""The monitor's counters (migration 0018): what its first pages and reports read instead of
counting instances and tasks.

- instance_counts and instance_trend are signed deltas the database's triggers write for every
  change of an instance's version, status, starter or end, whoever makes it;
- field_counts are deltas the engine writes with an instance's data (record_fields), for the
  fields a process package reports by (ProcessParts.report_fields);
- open_steps is the triggers' narrow copy of the open tasks.

Deltas are only ever inserted, so no two actions wait for one counter row. The job
`monitor_counters` (every FOLD_EVERY) folds each table's deltas into one row per key and builds
the counts of a report field not counted yet from the instances before it. A read sums the rows of
its keys: the folded ones and the few written since."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from typing import TYPE_CHECKING, Any

from sqlalchemy import Table, and_, delete, func, insert, or_, select, text
from sqlalchemy.orm import Session

from engine import process_parts
from engine.clock import aware
from engine.services import instance_fields
from store import writes
from store.db import is_sqlite
from store.models import CountedField, FieldCount, InstanceCount, InstanceField, InstanceTrend, Job, ProcessInstance

if TYPE_CHECKING:
    from engine.config import Settings

COUNTERS_KIND = "monitor_counters"
FOLD_EVERY = timedelta(minutes=5)
NOT_SET = ""  # the instances whose report field has no value (a complaint not yet given a department)
BUILD_BATCH = 5_000
_FIELD_COUNTS = FieldCount.__table__


@dataclass(frozen=True)
class Deltas:
    table: Table
    keys: tuple[str, ...]
    sums: tuple[str, ...]


DELTAS = (
    Deltas(InstanceCount.__table__, ("definition_id", "process_key", "status", "started_by"), ("n",)),  # type: ignore[arg-type]
    Deltas(InstanceTrend.__table__, ("process_key", "hour", "started_by"), ("started", "finished")),  # type: ignore[arg-type]
    Deltas(FieldCount.__table__, ("process_key", "name", "text", "day", "started_by"), ("n",)),  # type: ignore[arg-type]
)


def fold(session: Session, deltas: Deltas) -> None:
    """Replace a table's rows by one per key with their sums (keys summing to nothing go)."""
    t = deltas.table
    if is_sqlite(session.get_bind()):
        # One writer at a time: the rows up to the highest id now are all committed.
        upto = session.scalar(select(func.max(t.c.id)))
        if upto is None:
            return
        rows = select(t).where(t.c.id <= upto).subquery()
        session.execute(insert(t).from_select([*deltas.keys, *deltas.sums], _summed(rows, deltas)))
        session.execute(delete(t).where(t.c.id <= upto))
        return
    # PostgreSQL: the rows this statement deletes are exactly the ones it sums; a delta committed
    # meanwhile stays for the next fold, and two folds at once each take what the other did not.
    gone = delete(t).returning(*(t.c[c] for c in (*deltas.keys, *deltas.sums))).cte("gone")
    session.execute(insert(t).from_select([*deltas.keys, *deltas.sums], _summed(gone, deltas)))


def _summed(rows: Any, deltas: Deltas) -> Any:
    sums = [func.sum(rows.c[c]) for c in deltas.sums]
    return select(*(rows.c[k] for k in deltas.keys), *sums).group_by(*(rows.c[k] for k in deltas.keys)).having(or_(*(s != 0 for s in sums)))


# --- report fields, written by the engine ---------------------------------------------------------


def _text(data: Mapping[str, Any], name: str) -> str:
    """A report field's stored text (as instance_fields keeps it), NOT_SET without one."""
    return instance_fields.text_of(data.get(name)) or NOT_SET


def record_fields(
    session: Session,
    instance: ProcessInstance,
    names: Iterable[str],
    before: Mapping[str, Any],
    after: Mapping[str, Any],
    *,
    new: bool,
    zone: tzinfo,
) -> None:
    """Queue the deltas that move the instance between values of its report fields: +1 for each on
    a new instance; -1 for the old value and +1 for the new one when an action changed it."""
    rows: list[dict[str, Any]] = []
    key: dict[str, Any] = {}
    for name in names:
        was, is_ = _text(before, name), _text(after, name)
        if not new and was == is_:
            continue
        key = key or {
            "process_key": instance.process_key,
            "day": aware(instance.started_at).astimezone(zone).date(),  # type: ignore[union-attr]
            "started_by": instance.started_by,
        }
        if not new:
            rows.append({**key, "name": name, "text": was, "n": -1})
        rows.append({**key, "name": name, "text": is_, "n": 1})
    if rows:
        writes.later(session, _FIELD_COUNTS.insert().inline(), rows)  # inline: no RETURNING of the id in a pipeline


def build_field(session: Session, process_key: str, name: str, zone: tzinfo) -> int:
    """Count a report field from the instances there are (its deltas so far replaced), and mark it
    counted. On PostgreSQL the table is locked against new deltas first: an action that changes the
    field meanwhile adds its delta after this build, over the value the build saw."""
    if not is_sqlite(session.get_bind()):
        session.execute(text("LOCK TABLE field_counts IN SHARE ROW EXCLUSIVE MODE"))
    session.execute(delete(FieldCount).where(FieldCount.process_key == process_key, FieldCount.name == name))
    counts: Counter[tuple[str, date, str | None]] = Counter()
    rows = session.execute(
        select(InstanceField.text, ProcessInstance.started_at, ProcessInstance.started_by)
        .select_from(ProcessInstance)
        .outerjoin(InstanceField, and_(InstanceField.instance_id == ProcessInstance.id, InstanceField.name == name))
        .where(ProcessInstance.process_key == process_key)
        .execution_options(yield_per=BUILD_BATCH)
    )
    for value, started_at, started_by in rows:
        counts[(value or NOT_SET, aware(started_at).astimezone(zone).date(), started_by)] += 1  # type: ignore[union-attr]
    found = [
        {"process_key": process_key, "name": name, "text": value, "day": day, "started_by": who, "n": n}
        for (value, day, who), n in counts.items()
    ]
    for i in range(0, len(found), BUILD_BATCH):
        session.execute(_FIELD_COUNTS.insert(), found[i : i + BUILD_BATCH])
    session.add(CountedField(process_key=process_key, name=name))
    return len(found)


def report_fields() -> list[tuple[str, str]]:
    """(process key, field) of every registered process package's report fields."""
    return [(parts.key, name) for parts in process_parts.registered() for name in parts.report_fields]


class MonitorCounterService:
    def __init__(self, *, clock: Callable[[], datetime], settings: Settings) -> None:
        self._clock = clock
        self._settings = settings

    def run(self, session: Session, job: Job, at: datetime) -> str:
        """The job: catch up, then the next run."""
        self.catch_up(session)
        pending = select(Job.id).where(Job.kind == COUNTERS_KIND, Job.status == "pending", Job.id != job.id)
        if session.scalar(pending.limit(1)) is None:
            due = at + FOLD_EVERY
            session.add(Job(kind=COUNTERS_KIND, due_at=due, run_at=due, payload={}, created_at=at))
        return "fired"

    def catch_up(self, session: Session) -> None:
        """Fold every table, and count the report fields not counted yet."""
        for deltas in DELTAS:
            fold(session, deltas)
        counted = {(k, n) for k, n in session.execute(select(CountedField.process_key, CountedField.name))}
        for process_key, name in report_fields():
            if (process_key, name) not in counted:
                build_field(session, process_key, name, self._settings.timezone)
