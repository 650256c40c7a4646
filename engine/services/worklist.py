"""Worklist queries for the web UI: tabs, filters, text search, sorting, paging, counts, saved filters.

Everything here reads the materialised worklist columns (tasks, task_candidates) and instance rows
without their state blob, so a worklist page costs a few indexed queries however large the
instances are. Visibility uses the same clauses as TaskService, so the UI never shows more than
the API would.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, tzinfo
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, Select, and_, case, exists, false, func, or_, select
from sqlalchemy.orm import Session, defer

from engine import config, process_parts
from engine.bpmn.forms import is_digits
from engine.errors import NotFound, ValidationFailed
from engine.services import task_counts
from engine.services.identity import Actor
from engine.services.instance_search import TOTAL_CAP, Total
from store.models import MAX_ID, ProcessInstance, Task, User
from store.ui_models import SavedFilter

if TYPE_CHECKING:
    from collections.abc import Callable

    from engine.config import Settings
    from engine.services.identity import IdentityService
    from engine.services.tasks import TaskService
    from store.db import Database

TABS = ("mine", "available", "team", "substitute", "started", "done")
OPEN_TABS = ("mine", "available", "team", "substitute")  # the TaskService scopes of the same names
DUE_FILTERS = ("overdue", "today", "week")
PRIORITIES = ("high", "normal", "low")
SORTS = ("due", "-due", "created", "-created", "priority", "-priority")
PAGE_SIZE = 25
MAX_TEXT = 100
MAX_SAVED_FILTERS = 20
# Due dates are "today" and "this week" in the organisation's time zone, not the server's.
HIGH_PRIORITY, LOW_PRIORITY = 70, 30


@dataclass(frozen=True)
class Person:
    """Someone to hand work to, as a choice shows them."""

    username: str
    display_name: str


@dataclass(frozen=True)
class TaskFilter:
    """One worklist query; built from request parameters, unknown values fall back to defaults."""

    tab: str = "mine"
    process_key: str | None = None
    due: str | None = None
    priority: str | None = None
    text: str | None = None
    sort: str = "due"

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> TaskFilter:
        def pick(name: str, allowed: tuple[str, ...]) -> str | None:
            value = params.get(name)
            return value if isinstance(value, str) and value in allowed else None

        process = params.get("process")
        raw_text = params.get("q")
        text = " ".join(raw_text.split())[:MAX_TEXT] if isinstance(raw_text, str) else ""
        return cls(
            tab=pick("tab", TABS) or "mine",
            process_key=process[:128] if isinstance(process, str) and process else None,
            due=pick("due", DUE_FILTERS),
            priority=pick("priority", PRIORITIES),
            text=text or None,
            sort=pick("sort", SORTS) or "due",
        )

    def params(self) -> dict[str, str]:
        """The query-string form, defaults left out (for links and saved filters)."""
        values = {
            "tab": self.tab if self.tab != "mine" else None,
            "process": self.process_key,
            "due": self.due,
            "priority": self.priority,
            "q": self.text,
            "sort": self.sort if self.sort != "due" else None,
        }
        return {k: v for k, v in values.items() if v}

    def with_tab(self, tab: str) -> TaskFilter:
        return replace(self, tab=tab)

    @property
    def is_filtered(self) -> bool:
        return any((self.process_key, self.due, self.priority, self.text))


@dataclass
class Page:
    items: list[Any]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))


@dataclass
class StartedInstance:
    """An instance the user started, with where it waits now (its open tasks)."""

    instance: ProcessInstance
    customer: str | None
    title: str | None
    amount: float | None
    open_tasks: list[Task] = field(default_factory=list)


def local_day_bounds(now: datetime, zone: tzinfo | None = None) -> tuple[datetime, datetime, datetime]:
    """Start of today, start of tomorrow and start of next Monday, in the organisation's zone
    (`WORKING_TIMEZONE`, engine.config)."""
    local = now.astimezone(zone or config.current().timezone)
    today = local.replace(hour=0, minute=0, second=0, microsecond=0)
    tomorrow = today + timedelta(days=1)
    next_week = today + timedelta(days=7 - today.weekday())
    return today, tomorrow, next_week


class WorklistService:
    def __init__(
        self, *, clock: Callable[[], datetime], db: Database, identity: IdentityService, settings: Settings, tasks: TaskService
    ) -> None:
        self._clock = clock
        self._db = db
        self._identity = identity
        self._settings = settings
        self._tasks = tasks

    # --- who -----------------------------------------------------------------------------

    def reports(self, session: Session, actor: Actor) -> list[Person]:
        """Active users reporting to the actor directly: whom a supervisor may hand work to from the
        worklist (engine.authorization still checks each task: only to those it is offered to).
        Names only: a User row would load its roles too (one more statement)."""
        names = self._identity.subordinates(session, actor.username, direct_only=True)
        if not names:
            return []
        rows = session.execute(
            select(User.username, User.display_name).where(User.username.in_(sorted(names)), User.active.is_(True)).order_by(User.username)
        )
        return [Person(username, display_name or username) for username, display_name in rows]

    def tabs(self, session: Session, actor: Actor) -> list[str]:
        """The tabs this user has: 'team' only for those with people reporting to them or with
        open tasks escalated to them; 'substitute' only while they stand in for someone away."""
        has_team = bool(self._identity.subordinates(session, actor.username, direct_only=True))
        has_team = has_team or self._tasks.has_escalations(session, actor)
        stands_in = bool(self._identity.principals(session, actor.username))
        return [t for t in TABS if (t != "team" or has_team) and (t != "substitute" or stands_in)]

    def escalations(self, session: Session, actor: Actor, page: Page) -> dict[str, Any]:
        """Why the tasks of a team page were escalated to the actor, by task id."""
        return self._tasks.escalations(session, actor, [t.id for t in page.items])

    # --- task tabs ---------------------------------------------------------------------------

    def _task_statement(self, session: Session, actor: Actor, f: TaskFilter) -> Select[tuple[Task]]:
        stmt = select(Task)
        if f.tab == "done":
            stmt = stmt.where(Task.status == "completed", Task.completed_by == actor.username)
        else:
            if f.tab not in OPEN_TABS:
                raise ValidationFailed({"tab": f"must be one of {', '.join(TABS)}"})
            stmt = stmt.where(Task.status == "open", self._tasks.scope_clause(session, actor, f.tab))
        if f.process_key:
            stmt = stmt.where(Task.process_key == f.process_key)
        if f.text:
            stmt = stmt.where(_text_clause(f.text))
        if f.due:
            stmt = stmt.where(self._due_clause(f.due))
        if f.priority == "high":
            stmt = stmt.where(Task.priority >= HIGH_PRIORITY)
        elif f.priority == "low":
            stmt = stmt.where(Task.priority <= LOW_PRIORITY)
        elif f.priority == "normal":
            stmt = stmt.where(Task.priority > LOW_PRIORITY, Task.priority < HIGH_PRIORITY)
        return stmt

    def _due_clause(self, due: str) -> ColumnElement[bool]:
        now = self._clock()
        _today, tomorrow, next_week = local_day_bounds(now, self._settings.timezone)
        if due == "overdue":
            return Task.due_at < now
        end = tomorrow if due == "today" else next_week
        return and_(Task.due_at >= now, Task.due_at < end)

    @staticmethod
    def _order(f: TaskFilter) -> list[Any]:
        if f.tab == "done":
            return [Task.completed_at.desc(), Task.id.desc()]  # ix_tasks_done_by_order, backwards
        no_due = Task.due_at.is_(None)
        orders: dict[str, list[Any]] = {
            "due": [no_due, Task.due_at, Task.priority.desc(), Task.created_at],
            "-due": [no_due, Task.due_at.desc(), Task.priority.desc(), Task.created_at],
            "created": [Task.created_at],
            "-created": [Task.created_at.desc()],
            "priority": [Task.priority.desc(), no_due, Task.due_at, Task.created_at],
            "-priority": [Task.priority, no_due, Task.due_at, Task.created_at],
        }
        return [*orders[f.sort], Task.id]

    def tasks(
        self, session: Session, actor: Actor, f: TaskFilter, page: int = 1, per_page: int = PAGE_SIZE, total: int | None = None
    ) -> Page:
        """A page of tasks for the tabs mine, available, team and done. `total`: the filter's
        count, when the caller has just counted it (the worklist counts every tab anyway)."""
        if total is None:
            total = self._open_count(session, actor, f)
        if total is None:
            total = Total.counted(session.scalar(select(_capped_count(self._task_statement(session, actor, f)))) or 0)
        page = max(1, min(page, max(1, math.ceil(total / per_page))))
        if f.tab == "available" and f.sort == "due" and not f.is_filtered:  # from the candidate index
            return Page(task_counts.available_page(session, actor, per_page, (page - 1) * per_page), total, page, per_page)
        if f.tab == "team" and f.sort == "due" and not f.is_filtered and not self._tasks.has_escalations(session, actor):
            reports = self._identity.subordinates(session, actor.username)  # what scope_clause('team') holds then
            return Page(task_counts.held_page(session, reports, per_page, (page - 1) * per_page), total, page, per_page)
        stmt = self._task_statement(session, actor, f)
        rows = session.scalars(stmt.order_by(*self._order(f)).limit(per_page).offset((page - 1) * per_page))
        return Page(list(rows), total, page, per_page)

    def _open_count(self, session: Session, actor: Actor, f: TaskFilter) -> int | None:
        """An unfiltered open tab counted from the open-task tables (engine.task_counts), which
        stays ~ms at a million task rows; None when the filter needs the task columns."""
        if f.is_filtered or f.tab not in OPEN_TABS:
            return None
        return self._tasks.scope_count(session, actor, f.tab)

    # --- started by me -----------------------------------------------------------------------

    def _started_statement(self, actor: Actor, f: TaskFilter, running_only: bool = False) -> Select[tuple[ProcessInstance]]:
        stmt = select(ProcessInstance).where(ProcessInstance.started_by == actor.username)
        if running_only:
            stmt = stmt.where(ProcessInstance.status == "running")
        if f.process_key:
            stmt = stmt.where(ProcessInstance.process_key == f.process_key)
        if f.text:
            needle = f.text.lower()
            stmt = stmt.where(
                or_(
                    func.lower(func.coalesce(ProcessInstance.business_key, "")).contains(needle, autoescape=True),
                    exists().where(Task.instance_id == ProcessInstance.id, _text_clause(f.text)),
                    ProcessInstance.id == number if (number := _instance_number(f.text)) is not None else false(),
                )
            )
        return stmt

    def started(self, session: Session, actor: Actor, f: TaskFilter, page: int = 1, per_page: int = PAGE_SIZE) -> Page:
        """Instances the user started, running first, newest first, with their open tasks."""
        stmt = self._started_statement(actor, f)
        total = Total.counted(session.scalar(select(_capped_count(stmt))) or 0)
        page = max(1, min(page, max(1, math.ceil(total / per_page))))
        running_first = case((ProcessInstance.status == "running", 0), else_=1)
        instances = list(
            session.scalars(
                stmt.options(defer(ProcessInstance.state))
                .order_by(running_first, ProcessInstance.id.desc())
                .limit(per_page)
                .offset((page - 1) * per_page)
            )
        )
        open_tasks: dict[int, list[Task]] = {}
        if instances:
            for task in session.scalars(
                select(Task)
                .where(Task.instance_id.in_([i.id for i in instances]), Task.status == "open")
                .order_by(Task.created_at, Task.id)
            ):
                open_tasks.setdefault(task.instance_id, []).append(task)
        items = []
        for instance in instances:
            columns = process_parts.parts_of(instance.process_key).columns(instance.data or {})
            items.append(
                StartedInstance(instance, columns["customer"], columns["title"], columns["amount"], open_tasks.get(instance.id, []))
            )
        return Page(items, total, page, per_page)

    # --- counts ------------------------------------------------------------------------------

    def count(self, session: Session, actor: Actor, f: TaskFilter) -> int:
        """How many rows a filter has now; 'started' counts the running instances."""
        return self.counts_of(session, actor, [f])[0]

    def counts_of(self, session: Session, actor: Actor, filters: list[TaskFilter]) -> list[Total]:
        """Each filter's count, all in one statement: one wait for the database, not one per
        filter (a worklist page counts every tab and every saved filter). Unfiltered open tabs
        are exact (the open-task tables); the others, whose rows grow with the years (done by
        me, started by me, a search), stop one past TOTAL_CAP and say so (`Total.exact`)."""
        if not filters:
            return []
        counts = [self._count_of(session, actor, f) for f in filters]
        row = session.execute(select(*(count.label(f"c{i}") for i, (count, _capped) in enumerate(counts)))).one()
        return [
            Total.counted(int(value or 0)) if capped else Total(int(value or 0))
            for value, (_count, capped) in zip(row, counts, strict=True)
        ]

    def counts(self, session: Session, actor: Actor) -> dict[str, Total]:
        tabs = self.tabs(session, actor)
        return dict(zip(tabs, self.counts_of(session, actor, [TaskFilter(tab=tab) for tab in tabs]), strict=True))

    def _count_of(self, session: Session, actor: Actor, f: TaskFilter) -> tuple[ColumnElement[int], bool]:
        """The filter's count as an expression, and whether it is capped."""
        if f.tab == "started":
            stmt: Select[Any] = self._started_statement(actor, f, running_only=True)
        elif not f.is_filtered and f.tab in OPEN_TABS:  # from the open-task tables (engine.task_counts)
            return self._tasks.scope_count_of(session, actor, f.tab), False
        else:
            stmt = self._task_statement(session, actor, f)
        return _capped_count(stmt), True

    # --- saved filters -----------------------------------------------------------------------

    def saved_filters(self, session: Session, actor: Actor) -> list[SavedFilter]:
        return list(
            session.scalars(select(SavedFilter).where(SavedFilter.user_id == actor.user_id).order_by(SavedFilter.position, SavedFilter.id))
        )

    def save_filter(self, actor: Actor, name: Any, f: TaskFilter) -> SavedFilter:
        """Create a saved filter, or replace the criteria of the one with the same name."""
        if not isinstance(name, str) or not name.strip():
            raise ValidationFailed({"name": "is required"})
        name = " ".join(name.split())[:100]
        with self._db.transaction() as session:
            mine = self.saved_filters(session, actor)
            existing = next((s for s in mine if s.name == name), None)
            if existing is not None:
                existing.params = f.params()
                return existing
            if len(mine) >= MAX_SAVED_FILTERS:
                raise ValidationFailed({"name": f"at most {MAX_SAVED_FILTERS} saved filters"})
            row = SavedFilter(
                user_id=actor.user_id,
                name=name,
                params=f.params(),
                position=max((s.position for s in mine), default=0) + 1,
                created_at=self._clock(),
            )
            session.add(row)
            session.flush()
            return row

    def delete_filter(self, actor: Actor, filter_id: int) -> None:
        with self._db.transaction() as session:
            row = session.get(SavedFilter, filter_id)
            if row is None or row.user_id != actor.user_id:
                raise NotFound(f"no saved filter {filter_id}")
            session.delete(row)


def _text_clause(text: str) -> ColumnElement[bool]:
    """Case-insensitive substring match over the business columns; '#123' or '123' also finds instance 123."""
    needle = text.lower()
    columns = (Task.customer, Task.title, Task.business_key, Task.name)
    clauses: list[ColumnElement[bool]] = [func.lower(func.coalesce(c, "")).contains(needle, autoescape=True) for c in columns]
    number = _instance_number(text)
    if number is not None:
        clauses.append(Task.instance_id == number)
    return or_(*clauses)


def _instance_number(text: str) -> int | None:
    """'#123' or '123' as an instance id, when it could be one (ids are 32-bit)."""
    digits = text.lstrip("#")
    if is_digits(digits) and len(digits) <= 10 and 1 <= int(digits) <= MAX_ID:
        return int(digits)
    return None


def _capped_count(stmt: Select[Any]) -> ColumnElement[int]:
    """How many rows `stmt` has, counted up to one past TOTAL_CAP (instance_search.Total.counted)."""
    return select(func.count()).select_from(stmt.limit(TOTAL_CAP + 1).subquery()).scalar_subquery()
