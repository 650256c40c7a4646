"""Daily roll-ups of completed steps (store.models.StepRollup) for the monitor: written with each
completion, in its transaction (one INSERT ... ON CONFLICT DO UPDATE, queued with the
completion's other writes), read as a histogram of durations per step.

A duration falls in the bucket floor(4 * log2(seconds)); each bucket keeps how many fell in it and
their summed seconds, so its mean is exact when its durations are alike and within the bucket's
19 % otherwise. Percentiles are interpolated between the ordered bucket means, which gives the
exact answer for a step whose durations each sit in their own bucket."""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from store import writes
from store.models import StepRollup

_table = StepRollup.__table__
_KEYS = ("process_key", "task_key", "day", "completed_by", "bucket")


def bucket_of(seconds: float) -> int:
    return 0 if seconds < 1 else math.floor(4 * math.log2(seconds))


def _upsert(dialect: Any) -> Any:
    insert = dialect.insert(_table)
    return insert.on_conflict_do_update(
        index_elements=list(_KEYS),
        set_={
            "completed": _table.c.completed + insert.excluded.completed,
            "late": _table.c.late + insert.excluded.late,
            "seconds": _table.c.seconds + insert.excluded.seconds,
        },
    )


_UPSERT = {"postgresql": _upsert(postgresql), "sqlite": _upsert(sqlite)}


def record(
    session: Session,
    *,
    process_key: str,
    task_key: str,
    created_at: datetime,
    due_at: datetime | None,
    completed_at: datetime,
    completed_by: str,
    zone: tzinfo,
) -> None:
    """Queue the completed step's addition to its roll-up row."""
    seconds = max(0.0, (completed_at - created_at).total_seconds())
    row = {
        "process_key": process_key,
        "task_key": task_key,
        "day": completed_at.astimezone(zone).date(),
        "completed_by": completed_by,
        "bucket": bucket_of(seconds),
        "completed": 1,
        "late": 1 if due_at is not None and completed_at > due_at else 0,
        "seconds": seconds,
    }
    writes.later(session, _UPSERT[session.get_bind().dialect.name], row)


@dataclass
class StepFigures:
    completed: int = 0
    late: int = 0
    seconds: float = 0.0
    buckets: list[tuple[float, int]] = field(default_factory=list)  # (mean seconds, count)

    @property
    def average(self) -> float | None:
        return self.seconds / self.completed if self.completed else None

    def percentile(self, q: float) -> float | None:
        """The q-quantile, interpolated between neighbouring durations as the bucket means give them."""
        if not self.completed:
            return None
        ordered = sorted(self.buckets)
        rank = q * (self.completed - 1)

        def at(index: int) -> float:
            seen = 0
            for mean, count in ordered:
                seen += count
                if index < seen:
                    return mean
            return ordered[-1][0]

        low = math.floor(rank)
        return at(low) + (at(min(low + 1, self.completed - 1)) - at(low)) * (rank - low)


def figures(session: Session, process_key: str, since: date, performers: ColumnElement[bool] | None = None) -> dict[str, StepFigures]:
    """Per step of the process, what was completed from `since` (a local day) on: counts, late,
    and the duration histogram; `performers` limits it to whose completions (a supervisor's team)."""
    stmt = (
        select(
            StepRollup.task_key,
            StepRollup.bucket,
            func.sum(StepRollup.completed),
            func.sum(StepRollup.late),
            func.sum(StepRollup.seconds),
        )
        .where(StepRollup.process_key == process_key, StepRollup.day >= since)
        .group_by(StepRollup.task_key, StepRollup.bucket)
    )
    if performers is not None:
        stmt = stmt.where(performers)
    found: dict[str, StepFigures] = defaultdict(StepFigures)
    for task_key, _bucket, completed, late, seconds in session.execute(stmt):
        step = found[task_key]
        step.completed += int(completed or 0)
        step.late += int(late or 0)
        step.seconds += float(seconds or 0)
        if completed:
            step.buckets.append((float(seconds or 0) / int(completed), int(completed)))
    return dict(found)
