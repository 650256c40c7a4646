"""Task service: the worklist and its actions (claim, unclaim, assign, delegate, complete).

Who may do each of these is decided by engine.authorization (the seeds' rule).
Completion is first-wins: the loser of a race gets a 409, never a silent double completion.

Reassignment by a superior is `assign`; delegation (转交) is the assignee's own move, limited to
people the task is offered to (its candidate roles or users), so work cannot leave the team it was
routed to. Either hand-over is recorded in the history and the new assignee is notified.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar
from uuid import UUID

from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import ColumnElement, and_, bindparam, exists, false, func, or_, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from engine import config, operations, process_parts
from engine.bpmn import forms
from engine.bpmn.wait_state import WaitState
from engine.clock import aware
from engine.errors import Conflict, NotFound, ProcessError, ValidationFailed
from engine.services import form_files, step_rollups, task_counts
from engine.services.identity import Actor
from engine.services.instance_control import Suspended
from engine.services.runtime import process_error
from store import writes
from store.models import HistoryEvent, ProcessInstance, Task, TaskCandidate, TaskEscalation, User

if TYPE_CHECKING:
    from datetime import datetime

    from engine.authorization import Authorization
    from engine.operations import ActionContext
    from engine.services.history import HistoryService
    from engine.services.identity import IdentityService
    from engine.services.runtime import RuntimeService
    from store.db import Database

SCOPES = ("mine", "available", "team", "substitute", "all")
T = TypeVar("T")


# Up to this many offered tasks, a filtered 'available' list matches them by primary key (_offered_ids).
OFFERED_BY_ID = 5000


class TaskService:
    def __init__(
        self,
        *,
        authorization: Authorization,
        clock: Callable[[], datetime],
        context: Callable[..., ActionContext],
        db: Database,
        history: HistoryService,
        identity: IdentityService,
        runtime: RuntimeService,
    ) -> None:
        self._authorization = authorization
        self._clock = clock
        self._context = context
        self._db = db
        self._history = history
        self._identity = identity
        self._runtime = runtime
        # Called inside a completion's transaction just before it commits (crash tests hold it there).
        self.before_commit: Callable[[Task], None] | None = None

    # --- worklist scopes -------------------------------------------------------------------

    def scope_clause(self, session: Session, actor: Actor, scope: str) -> ColumnElement[bool]:
        """Which open tasks a worklist scope ('mine', 'available', 'team') holds for the actor."""
        if scope == "mine":
            return Task.assignee == actor.username
        if scope == "available":
            offered = self._offered_ids(session, actor)
            if offered is None:  # a large pool: tested task by task
                return and_(
                    Task.assignee.is_(None),
                    exists().where(TaskCandidate.task_id == Task.id, ~TaskCandidate.claimed, task_counts.candidate_clause(actor)),
                )
            return and_(Task.assignee.is_(None), Task.id.in_(offered))
        if scope == "team":  # the reports' tasks, and any task escalated to the actor (to chase)
            reports = self._identity.subordinates(session, actor.username)
            held = Task.assignee.in_(sorted(reports)) if reports else false()
            if not self.has_escalations(session, actor):  # the usual case: the plain, indexed clause
                return held
            escalated = exists().where(TaskEscalation.task_id == Task.id, TaskEscalation.username == actor.username)
            return or_(held, escalated) if reports else escalated
        if scope == "substitute":  # out of office: the open work of those the actor stands in for
            return self.substitute_clause(session, actor)
        raise ValueError(f"not a worklist scope: {scope}")

    def _offered_ids(self, session: Session, actor: Actor) -> list[str] | None:
        """The unclaimed open tasks offered to the actor, when there are at most OFFERED_BY_ID of
        them (else None); remembered for the session. A filtered 'available' list (a search, a
        process, a due date) then reads those tasks by primary key: tested with EXISTS instead,
        PostgreSQL misjudged a text filter as selective and read every unclaimed open task's row
        to apply it first (230 ms at 57k unclaimed tasks, for 2.9k offered to the actor)."""
        memo = session.info.setdefault("crmflow_offered_ids", {})
        if actor.username not in memo:
            ids = list(
                session.scalars(
                    select(TaskCandidate.task_id)
                    .where(~TaskCandidate.claimed, task_counts.candidate_clause(actor))
                    .distinct()
                    .limit(OFFERED_BY_ID + 1)
                )
            )
            memo[actor.username] = ids if len(ids) <= OFFERED_BY_ID else None
        return memo[actor.username]  # type: ignore[no-any-return]

    def substitute_clause(self, session: Session, actor: Actor) -> ColumnElement[bool]:
        """Open tasks assigned to the people the actor substitutes today, or offered to them and
        unclaimed (engine.authorization.stands_in_for decides each action)."""
        principals = self._identity.principals(session, actor.username)
        if not principals:
            return false()
        offered = [
            exists().where(TaskCandidate.task_id == Task.id, ~TaskCandidate.claimed, task_counts.candidate_clause(p)) for p in principals
        ]
        return or_(Task.assignee.in_([p.username for p in principals]), and_(Task.assignee.is_(None), or_(*offered)))

    def has_escalations(self, session: Session, actor: Actor) -> bool:
        """Whether any open task is escalated to the actor; asked once per session (a page asks
        for its tabs, its count and its rows)."""
        memo = session.info.setdefault("crmflow_escalated", {})
        if actor.username not in memo:
            memo[actor.username] = bool(self.escalations(session, actor, limit=1))
        return bool(memo[actor.username])

    def scope_count(self, session: Session, actor: Actor, scope: str) -> int:
        """How many open tasks an unfiltered scope holds, from the open-task tables (engine.task_counts)."""
        return session.scalar(select(self.scope_count_of(session, actor, scope))) or 0

    def scope_count_of(self, session: Session, actor: Actor, scope: str) -> ColumnElement[int]:
        """scope_count as an expression, to be selected with other counts in one statement (what
        it depends on, the reports and whether anything is escalated, is asked first)."""
        if scope == "available":
            return task_counts.available_count_of(actor)
        if scope == "mine":
            return task_counts.assigned_count_of([actor.username])
        if scope == "substitute":
            return (
                select(func.count())
                .select_from(Task)
                .where(Task.status == "open", self.substitute_clause(session, actor))
                .scalar_subquery()
            )
        reports = self._identity.subordinates(session, actor.username)
        if not self.has_escalations(session, actor):
            return task_counts.assigned_count_of(reports)
        escalated = select(func.count()).select_from(TaskEscalation).join(Task, Task.id == TaskEscalation.task_id)
        escalated = escalated.where(TaskEscalation.username == actor.username, Task.status == "open")
        if reports:  # those the reports hold are counted already
            escalated = escalated.where(or_(Task.assignee.is_(None), Task.assignee.not_in(sorted(reports))))
        return task_counts.assigned_count_of(reports) + escalated.scalar_subquery()

    def escalations(
        self, session: Session, actor: Actor, task_ids: list[str] | None = None, limit: int = 1000
    ) -> dict[str, TaskEscalation]:
        """The open tasks escalated to the actor (of `task_ids`, when given), by task id."""
        stmt = (
            select(TaskEscalation)
            .join(Task, Task.id == TaskEscalation.task_id)
            .where(TaskEscalation.username == actor.username, Task.status == "open")
        )
        if task_ids is not None:
            if not task_ids:
                return {}
            stmt = stmt.where(TaskEscalation.task_id.in_(task_ids))
        return {row.task_id: row for row in session.scalars(stmt.limit(limit))}

    # --- queries ----------------------------------------------------------------------------

    def get(self, session: Session, actor: Actor, task_id: str) -> Task:
        task = session.get(Task, _task_id(task_id))
        if task is None or not self._authorization.may_view_task(session, actor, task):
            raise NotFound(f"no task {task_id}")
        return task

    def query(
        self,
        session: Session,
        actor: Actor,
        scope: str = "mine",
        process_key: str | None = None,
        instance_id: int | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> tuple[list[Task], int]:
        """A page of open tasks in worklist order, and how many there are.

        The page walks a partial index in that order (ix_tasks_open_*_order; unfiltered 'available':
        ix_task_candidates_unclaimed_order per candidate key); unfiltered counts come from the
        open-task tables (engine.task_counts), filtered ones from `tasks`."""
        if scope == "all":
            self._authorization.require_admin(actor, "may list all tasks")
        elif scope not in SCOPES:
            raise ValidationFailed({"scope": f"must be one of {', '.join(SCOPES)}"})
        unfiltered = not process_key and instance_id is None
        if scope == "available" and unfiltered:  # counted and paged from the candidate rows alone
            return task_counts.available_page(session, actor, limit, offset), self.scope_count(session, actor, scope)
        stmt = select(Task).where(Task.status == "open")
        if scope != "all":  # built only when used: 'available' reads the actor's offered ids for it
            stmt = stmt.where(self.scope_clause(session, actor, scope))
        if process_key:
            stmt = stmt.where(Task.process_key == process_key)
        if instance_id is not None:
            stmt = stmt.where(Task.instance_id == instance_id)
        if unfiltered and scope != "all":
            total = self.scope_count(session, actor, scope)
        else:
            total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
        rows = session.scalars(
            stmt.order_by(Task.due_at.is_(None), Task.due_at, Task.priority.desc(), Task.created_at, Task.id).limit(limit).offset(offset)
        )
        return list(rows), total

    def details(self, session: Session, actor: Actor, task_id: str) -> tuple[Task, list[dict[str, Any]], dict[str, Any]]:
        """The task, its form model (defaults computed) and the business data it works on."""
        task = self.get(session, actor, task_id)
        instance = session.get(ProcessInstance, task.instance_id)
        assert instance is not None
        return (task, *self.details_of(session, actor, task, instance))

    def details_of(
        self, session: Session, actor: Actor, task: Task, instance: ProcessInstance
    ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        """`details` of a task the actor may see (TaskService.get) and its instance, which the
        caller keeps: the session holds rows only while someone does, so a page that shows the
        instance too reads it once."""
        if self._authorization.may_view_instance(session, actor, instance):
            context = dict(instance.data or {})
        else:  # offered to them once: what the task showed, not what the case became
            context = self._as_it_was(session, task)
        fields: list[dict[str, Any]] = []
        if task.status == "open":
            workflow = self._runtime.load(session, instance)
            spiff_task = workflow.get_task_from_id(UUID(task.id))
            if spiff_task is not None:
                context = dict(spiff_task.data)
                fields = (spiff_task.task_spec.extensions or {}).get("form", [])
        with operations.action(self._context(session, actor.username, instance)):
            model = forms.form_model(fields, context)
        return model, {k: v for k, v in context.items() if not k.startswith("spiff__")}

    def _as_it_was(self, session: Session, task: Task) -> dict[str, Any]:
        """A finished task seen by someone who may not see its instance (a candidate of its pool who
        did not do it): the data it worked on, folded from the history up to its completion (the
        start form, earlier steps and its own submission), and nothing that came later."""
        shown: dict[str, Any] = {}
        for event in self.history(session, None, task):
            if event.action in ("start", "complete", "message") and isinstance(event.data, dict):
                shown.update(event.data)
        return shown

    def history(self, session: Session, actor: Actor | None, task: Task) -> list[HistoryEvent]:
        """The instance history a task page shows: all of it to those who may see the instance, and
        to the task's other candidates (and with no actor) only what happened until it was done."""
        events = self._history.for_instance(session, task.instance_id)
        instance = session.get(ProcessInstance, task.instance_id) if actor is not None else None
        if instance is not None and self._authorization.may_view_instance(session, actor, instance):  # type: ignore[arg-type]
            return events
        done = next((e.id for e in events if e.task_id == task.id and e.action == "complete"), None)
        return [e for e in events if done is None or e.id <= done]

    # --- actions ----------------------------------------------------------------------------

    def _locked_task(self, session: Session, task_id: str) -> tuple[Task, ProcessInstance]:
        """Lock the task's instance first, then read the task: the row seen is the one as of the
        lock, whatever a racing action committed meanwhile."""
        instance = self._runtime.lock_for_task(session, _task_id(task_id))
        row = session.get(Task, _task_id(task_id), populate_existing=True)
        if instance is None or row is None:
            raise NotFound(f"no task {task_id}")
        return row, instance

    def _check_open(self, session: Session, actor: Actor, task: Task) -> None:
        if not self._authorization.may_view_task(session, actor, task):
            raise NotFound(f"no task {task.id}")
        if task.status != "open":
            raise Conflict(f"task {task.id} is already {task.status}")

    @contextmanager
    def _acting_on(self, actor: Actor, task_id: str) -> Iterator[tuple[Session, Task, ProcessInstance]]:
        """One transaction on an open task, its instance row locked."""
        with self._db.transaction() as session:
            task, instance = self._locked_task(session, task_id)
            self._check_open(session, actor, task)
            _refuse_suspended(instance)
            yield session, task, instance

    def _set_assignee(
        self, session: Session, actor: Actor, task: Task, action: str, username: str | None, on_behalf_of: str | None = None
    ) -> None:
        previous = task.assignee
        task.assignee = username
        task.claimed_at = self._clock() if username else None
        self._history.record(
            session,
            actor.username,
            action,
            instance_id=task.instance_id,
            task_id=task.id,
            task_key=task.task_key,
            data={"from": previous, "to": username},
            on_behalf_of=on_behalf_of,
        )

    def claim(self, actor: Actor, task_id: str) -> Task:
        with self._acting_on(actor, task_id) as (session, task, _instance):
            if task.assignee == actor.username:
                return task
            principal = self._authorization.check_claim(session, actor, task)
            self._set_assignee(session, actor, task, "claim", actor.username, principal)
            return task

    def unclaim(self, actor: Actor, task_id: str) -> Task:
        with self._acting_on(actor, task_id) as (session, task, _instance):
            if task.assignee is None:
                return task
            principal = self._authorization.check_unclaim(session, actor, task)
            self._set_assignee(session, actor, task, "unclaim", None, principal)
            return task

    def assign(self, actor: Actor, task_id: str, username: Any) -> Task:
        if not isinstance(username, str) or not username:
            raise ValidationFailed({"username": "is required"})
        with self._acting_on(actor, task_id) as (session, task, instance):
            if session.scalar(select(User.id).where(User.username == username, User.active.is_(True))) is None:
                raise ValidationFailed({"username": "no active user with this name"})
            self._authorization.check_assign(session, actor, task, username)
            self._set_assignee(session, actor, task, "assign", username)
            if username != actor.username:
                with operations.action(self._context(session, actor.username, instance)):
                    operations.notify([username], "assigned", task.name, task_id=task.id)
            return task

    def delegate(self, actor: Actor, task_id: str, username: Any) -> Task:
        if not isinstance(username, str) or not username:
            raise ValidationFailed({"username": "is required"})
        with self._acting_on(actor, task_id) as (session, task, instance):
            self._authorization.check_delegate(session, actor, task, username)
            self._set_assignee(session, actor, task, "delegate", username)
            with operations.action(self._context(session, actor.username, instance)):
                operations.notify([username], "assigned", task.name, task_id=task.id)
            return task

    def complete(self, actor: Actor, task_id: str, data: Any) -> ProcessInstance:
        return self.complete_then(actor, task_id, data, lambda _session, instance: instance)

    def complete_then(self, actor: Actor, task_id: str, data: Any, then: Callable[[Session, ProcessInstance], T]) -> T:
        """Complete the task, then read what the caller needs (an API response) in the same
        transaction: it sees the new wait state without a second connection and transaction."""
        try:
            with self._db.transaction() as session:
                return then(session, self._complete(session, actor, task_id, data))
        except StaleDataError as exc:
            raise Conflict("the instance changed while this task was being completed; reload and try again") from exc

    def _complete(self, session: Session, actor: Actor, task_id: str, data: Any) -> ProcessInstance:
        # The task as a plain row, completed by one table-level UPDATE: the hottest action skips
        # the ORM's object and flush work for a row it only checks and closes.
        key = _task_id(task_id)
        instance = self._runtime.lock_for_task(session, key)
        task = session.connection().execute(_TASK_ROW, {"id": key}).one_or_none() if instance is not None else None
        if instance is None or task is None:
            raise NotFound(f"no task {task_id}")
        self._check_open(session, actor, task)
        _refuse_suspended(instance)
        principal = self._authorization.check_complete(session, actor, task)
        assignee, claimed_at = task.assignee, task.claimed_at
        if task.assignee is None:  # a candidate completing an unclaimed task claims it
            assignee, claimed_at = actor.username, self._clock()
        workflow = self._runtime.load(session, instance)
        before = WaitState.of(workflow)
        spiff_task = workflow.get_task_from_id(UUID(task.id))
        if spiff_task is None or spiff_task.state != TaskState.READY:
            raise Conflict(f"task {task.id} is no longer ready")
        fields = (spiff_task.task_spec.extensions or {}).get("form", [])
        submitted = data if data is not None else {}
        # A return or rejection says why, on the pages and through the API alike; its message
        # stands beside the form's own (a `required_if` on the comment would only say "required").
        parts = process_parts.parts_of(instance.process_key)
        problem = parts.comment_problem(fields, submitted)
        try:
            with operations.action(self._context(session, actor.username, instance)):
                values = forms.validate(fields, submitted, spiff_task.data)
        except ValidationFailed as exc:
            raise ValidationFailed({**exc.fields, **problem}) from exc
        if problem:
            raise ValidationFailed(problem)
        if form_files.file_fields(fields) and self._runtime.files is not None:  # uploads stored, ids checked
            values = form_files.store(session, *self._runtime.files, actor.username, instance, fields, values)
        hook = parts.on_step.get(task.task_key)
        if hook is not None:  # the package's own check of what was submitted (a revised request's budget)
            merged = {**spiff_task.data, **values}
            checked = hook(session, instance, merged, self._clock())
            values = {**values, **{k: v for k, v in checked.items() if k not in merged or merged[k] != v}}  # only what it changed
        spiff_task.data.update(values)
        try:
            spiff_task.run()
        except SpiffWorkflowException as exc:
            raise process_error(exc) from exc
        now = self._clock()
        writes.later(
            session,
            _COMPLETE_TASK,
            # the worklist columns as submitted (我已办 showed the amount the task was created with)
            {
                "task": task.id,
                "by_whom": assignee,
                "claimed": claimed_at,
                "at": now,
                "done_by": actor.username,
                **parts.columns(spiff_task.data),
            },
        )
        step_rollups.record(  # the monitor's figures of the step, in the same pipeline
            session,
            process_key=task.process_key,
            task_key=task.task_key,
            created_at=aware(task.created_at),  # type: ignore[arg-type]
            due_at=aware(task.due_at),
            completed_at=now,
            completed_by=actor.username,
            zone=config.current().timezone,
        )
        comment = values.get("comment") if isinstance(values.get("comment"), str) else None
        self._history.record(
            session,
            actor.username,
            "complete",
            instance_id=instance.id,
            task_id=task.id,
            task_key=task.task_key,
            comment=comment,
            data=values,
            on_behalf_of=principal,
        )
        self._runtime.advance(session, instance, workflow, actor.username, before.closing(task.id))
        if instance.status == "error":
            raise ProcessError(instance.error or "the process failed")
        if self.before_commit is not None:
            self.before_commit(task)
        return instance


_tasks = Task.__table__
_TASK_ROW = select(_tasks).where(_tasks.c.id == bindparam("id"))
_COMPLETE_TASK = (
    update(_tasks)
    .where(_tasks.c.id == bindparam("task"))
    .values(
        status="completed",
        assignee=bindparam("by_whom"),
        claimed_at=bindparam("claimed"),
        completed_at=bindparam("at"),
        completed_by=bindparam("done_by"),
        customer=bindparam("customer"),
        title=bindparam("title"),
        amount=bindparam("amount"),
    )
)


def _task_id(task_id: str) -> str:
    try:
        return str(UUID(str(task_id)))
    except ValueError as exc:
        raise NotFound(f"no task {task_id}") from exc


def _refuse_suspended(instance: ProcessInstance) -> None:
    if instance.status == "suspended":
        raise Suspended(f"process instance {instance.id} is suspended")
