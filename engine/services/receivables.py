"""The receivables board (收款计划, seed 001): the open installments of `receivable_collection` the
viewer may see, by when they fall due (overdue, today, this week, this month), with the amounts
outstanding; the sales assistant records payments from it.

Read from the worklist's materialised columns of each receivable's open `record_payment` task (the
customer, the contract number as title, the outstanding amount, the due date), so the board costs
two indexed queries however many receivables there are."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, and_, case, func, select, true
from sqlalchemy.orm import Session

from engine.clock import aware
from engine.errors import Forbidden
from engine.services.identity import Actor
from engine.services.worklist import local_day_bounds
from store.models import ProcessInstance, Task

if TYPE_CHECKING:
    from engine.authorization import Authorization
    from engine.config import Settings

PROCESS, PAYMENT_TASK = "receivable_collection", "record_payment"
BUCKETS = ("overdue", "today", "week", "month", "all")  # today within this week within this month
MAX_ROWS = 500


@dataclass
class Receivable:
    task: Task
    owner: str | None
    bucket: str  # overdue | today | week | month | later


@dataclass
class Board:
    due: str
    items: list[Receivable]
    counts: dict[str, int] = field(default_factory=dict)
    outstanding: dict[str, Decimal] = field(default_factory=dict)
    truncated: bool = False


class ReceivableService:
    def __init__(self, *, authorization: Authorization, clock: Callable[[], datetime], settings: Settings) -> None:
        self._authorization = authorization
        self._clock = clock
        self._settings = settings

    def _bounds(self) -> dict[str, datetime]:
        today, tomorrow, next_week = local_day_bounds(self._clock(), self._settings.timezone)
        next_month = (today.replace(day=1) + timedelta(days=32)).replace(day=1)
        return {"today": today, "tomorrow": tomorrow, "week": next_week, "month": next_month}

    def _conditions(self, bounds: dict[str, datetime]) -> dict[str, ColumnElement[bool]]:
        due = Task.due_at
        return {
            "overdue": due < bounds["today"],
            "today": and_(due >= bounds["today"], due < bounds["tomorrow"]),
            "week": and_(due >= bounds["today"], due < bounds["week"]),
            "month": and_(due >= bounds["today"], due < bounds["month"]),
            "all": true(),
        }

    def board(self, session: Session, actor: Actor, due: str = "week", owner: str | None = None) -> Board:
        """The receivables falling due in `due` (one of BUCKETS), soonest first, and for every
        bucket how many and how much is outstanding."""
        if not self._authorization.may_see_receivables(actor):
            raise Forbidden("the receivables are for the sales staff, their assistants and director, the gm and admins")
        due = due if due in BUCKETS else "week"
        bounds = self._bounds()
        conditions = self._conditions(bounds)
        owner_of = ProcessInstance.data["owner"].as_string()
        running = [ProcessInstance.process_key == PROCESS, ProcessInstance.status == "running"]
        whose = [self._authorization.receivables_clause(session, actor, owner_of)]
        if owner:
            whose.append(owner_of == owner)
        if any(clause is not true() for clause in whose):
            # Whose receivables, read first as a list of instance ids: each instance's data is
            # parsed once. As a subquery, a planner with stale statistics (a table that just grew)
            # chose a nested loop that parsed it per pair of rows: 80 ms for 200 receivables.
            owned = list(session.scalars(select(ProcessInstance.id).where(*running, *whose)))
            instances: Any = Task.instance_id.in_(owned)
        else:
            instances = Task.instance_id.in_(select(ProcessInstance.id).where(*running))
        scope = [Task.status == "open", Task.process_key == PROCESS, Task.task_key == PAYMENT_TASK, instances]
        base = select(Task).where(*scope)
        totals: list[Any] = []
        for name in BUCKETS:
            totals += [
                func.sum(case((conditions[name], 1), else_=0)),
                func.sum(case((conditions[name], func.coalesce(Task.amount, 0)), else_=0)),
            ]
        row = session.execute(base.with_only_columns(*totals)).one()
        counts = {name: int(row[2 * i] or 0) for i, name in enumerate(BUCKETS)}
        outstanding = {name: Decimal(str(row[2 * i + 1] or 0)) for i, name in enumerate(BUCKETS)}
        found = session.execute(
            base.join(ProcessInstance, ProcessInstance.id == Task.instance_id)
            .add_columns(owner_of)
            .where(conditions[due])
            .order_by(Task.due_at.is_(None), Task.due_at, Task.id)
            .limit(MAX_ROWS + 1)
        ).all()
        items = [Receivable(task, who, self._bucket(task, bounds)) for task, who in found[:MAX_ROWS]]
        return Board(due, items, counts, outstanding, truncated=len(found) > MAX_ROWS)

    @staticmethod
    def _bucket(task: Task, bounds: dict[str, datetime]) -> str:
        if task.due_at is None:
            return "later"
        due = aware(task.due_at)
        if due < bounds["today"]:  # type: ignore[operator]
            return "overdue"
        for name, end in (("today", "tomorrow"), ("week", "week"), ("month", "month")):
            if due < bounds[end]:  # type: ignore[operator]
                return name
        return "later"
