"""Runtime service: start instances, run engine steps to the next wait state, correlate messages.

Every action is one transaction: lock the instance row, load its state against the cached spec,
apply the action, run engine steps, then write the new state, the worklist rows, the timer jobs
and the history, and commit. Any exception rolls back to the previous wait state.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID

from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.util.event import BpmnEvent
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import Select, bindparam, delete, distinct, func, insert, select, union, union_all, update
from sqlalchemy.orm import Session, defer

from engine import config, operations, process_parts
from engine.bpmn import forms, serializer, timers
from engine.bpmn.parser import MESSAGE_FROM, MESSAGE_VARIABLES, listed_property
from engine.bpmn.stepping import run_engine_steps
from engine.bpmn.wait_state import NEW_INSTANCE, WaitState
from engine.clock import aware
from engine.errors import EngineError, Forbidden, NotFound, ProcessError, ValidationFailed
from engine.services import assignment, copies, customer_links, form_files, instance_fields, monitor_counters
from engine.services.identity import Actor
from engine.services.instance_search import SORTS, TOTAL_CAP, InstanceSearch, Total
from store import writes
from store.db import is_sqlite
from store.models import InstanceCount, Job, ProcessDefinition, ProcessInstance, Task, TaskCandidate

if TYPE_CHECKING:
    from collections.abc import Callable

    from engine.authorization import Authorization
    from engine.operations import ActionContext
    from engine.services.history import HistoryService
    from engine.services.repository import RepositoryService
    from store.db import Database

MAX_STATE_BYTES = 10_000_000


def _jsonable(data: dict[str, Any]) -> dict[str, Any]:
    return json.loads(json.dumps(data, default=str))


def process_error(exc: Exception) -> ProcessError:
    """A readable message naming the element that failed."""
    task = getattr(exc, "task", None) or getattr(exc, "task_spec", None)
    spec = getattr(task, "task_spec", task)
    element = getattr(spec, "bpmn_id", None) or getattr(spec, "name", None)
    name = getattr(spec, "bpmn_name", None)
    message = str(exc).split("\n")[0]
    cause = exc.__cause__ or exc.__context__
    while cause is not None and not isinstance(cause, EngineError):
        cause = cause.__cause__ or cause.__context__
    if cause is not None and cause.message not in message:  # why the sandbox stopped it, say
        message = f"{message.rstrip('. ')}: {cause.message}"
    where = f" at '{name or element}' ({element})" if element else ""
    return ProcessError(f"the process failed{where}: {message}", element_id=element)


class RuntimeService:
    def __init__(
        self,
        *,
        authorization: Authorization,
        clock: Callable[[], datetime],
        context: Callable[..., ActionContext],
        db: Database,
        history: HistoryService,
        repository: RepositoryService,
    ) -> None:
        self._authorization = authorization
        self._clock = clock
        self._context = context
        self._db = db
        self._history = history
        self._repository = repository
        self._files: tuple[form_files.Add, form_files.Find] | None = None

    def use_files(self, add: form_files.Add, find: form_files.Find) -> None:
        """How a form's file fields are stored (the attachment service, made after this one)."""
        self._files = (add, find)

    @property
    def files(self) -> tuple[form_files.Add, form_files.Find] | None:
        return self._files

    # --- locking and loading ---------------------------------------------------------------

    def lock(self, session: Session, instance_id: int) -> ProcessInstance:
        """Take the instance's row lock before reading its state."""
        instance = _locked_instance(session, "instance", instance_id)
        if instance is None:
            raise NotFound(f"no process instance {instance_id}")
        return instance

    def lock_for_task(self, session: Session, task_id: str) -> ProcessInstance | None:
        """Lock the instance a task belongs to (None for an unknown task), in one statement."""
        return _locked_instance(session, "task", task_id)

    def lock_for_job(self, session: Session, job_id: int) -> ProcessInstance | None:
        """Lock the instance a job belongs to (None when it has none), in one statement."""
        return _locked_instance(session, "job", job_id)

    def load(self, session: Session, instance: ProcessInstance) -> BpmnWorkflow:
        spec, subs = self._repository.spec(session, instance.definition_id)
        return serializer.load_instance(instance.state, spec, subs)

    # --- start ------------------------------------------------------------------------------

    def start(self, actor: Actor, process_key: str, data: Any, business_key: str | None = None) -> ProcessInstance:
        with self._db.transaction() as session:
            return self.start_in(session, actor, process_key, data, business_key)

    def start_in(self, session: Session, actor: Actor, process_key: str, data: Any, business_key: str | None = None) -> ProcessInstance:
        """Start inside the caller's transaction (an import starts all its rows or none)."""
        definition = self._repository.latest(session, process_key)
        self._authorization.require_start(definition, actor)
        meta = definition.start_meta or {}
        fields = meta.get("form") or []
        values = forms.validate(fields, data if data is not None else {})
        form_files.uploads_first(fields, values)
        if business_key is not None and (not isinstance(business_key, str) or len(business_key) > 200):
            raise ValidationFailed({"business_key": "must be text of at most 200 characters"})
        parts = process_parts.parts_of(process_key)
        if parts.on_start is not None:
            values = parts.on_start(session, actor.username, values, self._clock())
        cc_field = parts.cc_field
        if cc_field and values.get(cc_field):
            values[cc_field] = copies.checked(session, values[cc_field], actor.username)
        initial = dict(values)
        if meta.get("initiator"):
            initial[meta["initiator"]] = actor.username
        instance, workflow = self._create(session, definition, initial, actor.username, business_key)
        file_fields = form_files.file_fields(fields)
        if file_fields and self._files is not None:  # the uploads become its first attachments
            values = form_files.store(session, *self._files, actor.username, instance, fields, values)
            workflow.task_tree.data.update({k: values[k] for k in file_fields if k in values})
        if cc_field:
            copies.link(session, instance, values.get(cc_field))
        self._history.record(session, actor.username, "start", instance_id=instance.id, data=values)
        self.advance(session, instance, workflow, actor.username, NEW_INSTANCE)
        return instance

    def _create(
        self, session: Session, definition: ProcessDefinition, data: dict[str, Any], started_by: str | None, business_key: str | None
    ) -> tuple[ProcessInstance, BpmnWorkflow]:
        now = self._clock()
        spec, subs = self._repository.spec(session, definition.id)
        workflow = serializer.new_workflow(spec, subs)
        workflow.task_tree.data.update(data)
        instance = ProcessInstance(
            definition_id=definition.id,
            process_key=definition.key,
            status="running",
            business_key=business_key,
            started_by=started_by,
            state=b"",
            serializer_version=serializer.SERIALIZER_VERSION,
            data={},
            started_at=now,
            updated_at=now,
        )
        session.add(instance)
        session.flush()
        return instance, workflow

    def start_by_timer(self, session: Session, definition: ProcessDefinition, start_event: str | None) -> ProcessInstance:
        """A timer start event fired: a new instance, its start event already fired."""
        instance, workflow = self._create(session, definition, {}, None, None)
        self._history.record(session, None, "start", instance_id=instance.id, task_key=start_event, data={"trigger": "timer"})
        run_engine_steps(workflow)
        timers.fire_start_event(workflow, start_event)
        self.advance(session, instance, workflow, None, NEW_INSTANCE)
        return instance

    # --- messages ---------------------------------------------------------------------------

    def correlate_message(
        self, actor: Actor, name: str, *, business_key: str | None = None, instance_id: int | None = None, data: Any = None
    ) -> ProcessInstance:
        if not isinstance(name, str) or not name:
            raise ValidationFailed({"name": "is required"})
        payload = _message_payload(data)
        with self._db.transaction() as session:
            candidates: list[int]
            if instance_id is not None:
                candidates = [instance_id]
            elif business_key is not None:
                candidates = list(
                    session.scalars(
                        select(ProcessInstance.id)
                        .where(ProcessInstance.business_key == business_key, ProcessInstance.status == "running")
                        .order_by(ProcessInstance.id)
                    )
                )
            else:
                raise ValidationFailed({"business_key": "business_key or instance_id is required"})
            refused: Forbidden | None = None
            for candidate in candidates:
                instance = session.get(ProcessInstance, candidate)
                if instance is None or instance.status != "running" or not self._authorization.may_view_instance(session, actor, instance):
                    continue
                instance = self.lock(session, candidate)
                workflow = self.load(session, instance)
                before = WaitState.of(workflow)
                waiting = [
                    t
                    for t in workflow.event_manager.tasks.values()
                    if isinstance(t.task_spec.event_definition, MessageEventDefinition) and t.task_spec.event_definition.name == name
                ]
                if not waiting:
                    continue
                spec = waiting[0].task_spec
                try:
                    self._authorization.check_deliver(actor, instance, name, listed_property(spec, MESSAGE_FROM))
                except Forbidden as exc:
                    refused = refused or exc
                    continue
                _check_message_variables(name, payload, listed_property(spec, MESSAGE_VARIABLES))
                # Camunda semantics: the message's variables join the process data.
                waiting[0].data.update(payload)
                event = BpmnEvent(spec.event_definition, payload)
                try:
                    workflow.catch(event)
                except SpiffWorkflowException as exc:
                    raise process_error(exc) from exc
                self._history.record(
                    session, actor.username, "message", instance_id=instance.id, data={"name": name, "payload": data or {}}
                )
                self.advance(session, instance, workflow, actor.username, before)
                return instance
            if refused is not None:
                raise refused
        raise NotFound(f"no running instance is waiting for message '{name}'")

    # --- advancing to the next wait state ---------------------------------------------------

    def advance(
        self, session: Session, instance: ProcessInstance, workflow: BpmnWorkflow, actor: str | None, before: WaitState | None = None
    ) -> None:
        """Run engine steps to the next wait state and write it. `before` is the wait state the
        rows mirror now (from `WaitState.of` at load, minus what the action closed itself); without
        it the rows are read back."""
        now = self._clock()
        ctx = self._context(session, actor, instance)
        with operations.action(ctx):
            try:
                run_engine_steps(workflow)
            except SpiffWorkflowException as exc:
                raise process_error(exc) from exc
            except EngineError as exc:
                raise ProcessError(exc.message) from exc
            data = _current_data(workflow)
            # Autoflush off: the action's ORM changes (the completed task, its history line, the
            # instance) go out in one flush at commit, after the table-level task writes.
            with session.no_autoflush:
                self._sync_tasks(session, instance, workflow, now, before)
        self._sync_jobs(session, instance, workflow, now, before)
        state = serializer.dump_instance(workflow)
        if len(state) > MAX_STATE_BYTES:
            raise ProcessError("the instance state grew beyond its size limit")
        completed = workflow.is_completed()
        customer_id, customer_norm = customer_links.customer_for(session, instance, data)
        # Before write_state replaces instance.data; a new instance's business key has a row too.
        started_with_key = instance.business_key if before is NEW_INSTANCE else None
        instance_fields.record(session, instance, instance.data or {}, data, started_with_key=started_with_key)
        monitor_counters.record_fields(
            session,
            instance,
            process_parts.parts_of(instance.process_key).report_fields,
            instance.data or {},
            data,
            new=before is NEW_INSTANCE,
            zone=config.current().timezone,
        )
        write_state(
            session,
            instance,
            customer_id=customer_id,
            customer_norm=customer_norm,
            state=state,
            serializer_version=serializer.SERIALIZER_VERSION,
            data=data,
            updated_at=now,
            status="completed" if completed else instance.status,
            ended_at=now if completed else instance.ended_at,
        )
        if completed:
            self._history.record(session, actor, "end", instance_id=instance.id, data={"outcome": data.get("outcome")})
            cc_field = process_parts.parts_of(instance.process_key).cc_field
            if cc_field and data.get(cc_field):
                with operations.action(ctx):
                    copies.tell_outcome(instance, data.get(cc_field), data.get("outcome"), actor)

    def _sync_tasks(
        self, session: Session, instance: ProcessInstance, workflow: BpmnWorkflow, now: datetime, before: WaitState | None
    ) -> None:
        ready = {str(t.id): t for t in workflow.get_tasks(state=TaskState.READY, manual=True)}
        if before is None:
            known = set(session.scalars(select(Task.id).where(Task.instance_id == instance.id, Task.status == "open")))
        else:
            known = set(before.open_tasks)
        # Queued table-level statements (store.writes): no ORM work for rows nothing in this action
        # reads back as objects, and one round trip for all the action's writes.
        gone = sorted(known - ready.keys())
        if gone:
            writes.later(session, _CANCEL_TASKS, {"gone": gone, "at": now})
        rows: list[dict[str, Any]] = []
        candidates: list[dict[str, Any]] = []
        parts = process_parts.parts_of(instance.process_key)
        columns = parts.columns
        for task_id, spiff_task in ready.items():
            if task_id in known:
                continue
            who = assignment.resolve(session, spiff_task, instance.started_by, now, parts.priority(spiff_task.data))
            who, routing = assignment.own_approver(session, spiff_task, who, instance.started_by)
            excluded = assignment.excluded_users(session, spiff_task, instance.id, instance.started_by)
            who = assignment.without(session, who, excluded)
            spec = spiff_task.task_spec
            name = (spec.bpmn_name or spec.bpmn_id)[:200]
            if routing is not None:
                self._history.record(
                    session,
                    None,
                    "route",
                    instance_id=instance.id,
                    task_id=task_id,
                    task_key=spec.bpmn_id,
                    data={"roles": routing.roles, "to": routing.to},
                )
            rows.append(
                {
                    "id": task_id,
                    "instance_id": instance.id,
                    "process_key": instance.process_key,
                    "task_key": spec.bpmn_id,
                    "name": name,
                    "status": "open",
                    "assignee": who.assignee,
                    "claimed_at": now if who.assignee else None,
                    "candidate_roles": assignment.candidate_text(who.candidate_roles),
                    "candidate_users": assignment.candidate_text(who.candidate_users),
                    "excluded_users": assignment.candidate_text(excluded),
                    "priority": who.priority,
                    "created_at": now,
                    "due_at": who.due_at,
                    "follow_up_at": who.follow_up_at,
                    "business_key": instance.business_key,
                    "started_by": instance.started_by,
                    **columns(spiff_task.data),
                }
            )
            candidates += [{"task_id": task_id, "kind": "role", "name": r} for r in dict.fromkeys(who.candidate_roles)]
            candidates += [{"task_id": task_id, "kind": "user", "name": u} for u in dict.fromkeys(who.candidate_users)]
            if who.assignee and who.assignee != operations.current().actor:
                # whoever's own action made the task has it in their list already (#13.14)
                operations.notify([who.assignee], "assigned", name, task_id=task_id)
        if rows:
            writes.later(session, _INSERT_TASKS, rows)
        if candidates:
            writes.later(session, _INSERT_CANDIDATES, candidates)

    def refresh_task_rows(self, session: Session, instance: ProcessInstance, workflow: BpmnWorkflow) -> None:
        """Rewrite the open worklist rows from the (new) spec: name, candidates, due date, priority.

        Used after a migration, when a waiting task keeps its id but its definition changed.
        """
        now = self._clock()
        parts = process_parts.parts_of(instance.process_key)
        for row in session.scalars(select(Task).where(Task.instance_id == instance.id, Task.status == "open")):
            spiff_task = workflow.get_task_from_id(UUID(row.id))
            if spiff_task is None:
                continue
            with operations.action(self._context(session, None, instance)):  # expressions may ask the instance
                who = assignment.resolve(session, spiff_task, instance.started_by, now, parts.priority(spiff_task.data))
            who, _routing = assignment.own_approver(session, spiff_task, who, instance.started_by)
            excluded = assignment.excluded_users(session, spiff_task, instance.id, instance.started_by)
            who = assignment.without(session, who, excluded)
            spec = spiff_task.task_spec
            row.name = (spec.bpmn_name or spec.bpmn_id)[:200]
            row.candidate_roles = assignment.candidate_text(who.candidate_roles)
            row.candidate_users = assignment.candidate_text(who.candidate_users)
            row.excluded_users = assignment.candidate_text(excluded)
            if row.assignee in excluded:
                row.assignee, row.claimed_at = None, None
            row.priority = who.priority
            row.due_at = who.due_at or row.due_at
            session.execute(delete(TaskCandidate).where(TaskCandidate.task_id == row.id))
            session.add_all(
                [TaskCandidate(task_id=row.id, kind="role", name=r) for r in dict.fromkeys(who.candidate_roles)]
                + [TaskCandidate(task_id=row.id, kind="user", name=u) for u in dict.fromkeys(who.candidate_users)]
            )

    def _sync_jobs(
        self, session: Session, instance: ProcessInstance, workflow: BpmnWorkflow, now: datetime, before: WaitState | None
    ) -> None:
        """One job per waiting timer: new timers get one, changed ones are rescheduled, gone ones
        lose theirs. A job being run right now is left to its worker. An instance that had no
        timer when loaded has no timer job to read back."""
        wanted: dict[str, tuple[Any, datetime]] = {}
        for task in workflow.event_manager.tasks.values():
            definition = getattr(task.task_spec, "event_definition", None)
            if isinstance(definition, TimerEventDefinition):
                timers.arm(task, definition)
                due = timers.due_at(definition, task)
                if due is not None:
                    wanted[str(task.id)] = (task, due)
        if before is not None and not before.timers and not wanted:
            return
        known = before.jobs_known() if before is not None else None
        if known is not None:
            existing = {task_id: job for task_id, job in known.items() if job.kind == "timer" and job.status in ("pending", "running")}
        else:
            existing = {
                job.task_id: job
                for job in session.scalars(
                    select(Job).where(Job.instance_id == instance.id, Job.kind == "timer", Job.status.in_(("pending", "running")))
                )
            }
        for task_id, job in existing.items():
            if job.status == "pending" and (task_id not in wanted or aware(job.due_at) != wanted[task_id][1]):
                session.delete(job)
        held = {job.task_id for job in before.held_jobs} if before is not None else set()
        for task_id, (task, due) in wanted.items():
            job = existing.get(task_id)
            if job is not None and aware(job.due_at) == due:
                continue
            # A running job is left to its worker, unless this action is that worker and the timer
            # waits again (a cycle's next occurrence): its job is finished, the next one scheduled.
            if job is not None and job.status == "running" and task_id not in held:
                continue
            session.add(
                Job(
                    kind="timer",
                    instance_id=instance.id,
                    task_id=task_id,
                    element_id=task.task_spec.bpmn_id,
                    due_at=due,
                    run_at=due,
                    status="pending",
                    payload={
                        "timer": type(task.task_spec.event_definition).__name__,
                        "expression": task.task_spec.event_definition.expression,
                    },
                    created_at=now,
                )
            )

    # --- queries ----------------------------------------------------------------------------

    def get(self, session: Session, actor: Actor, instance_id: int) -> ProcessInstance:
        instance = session.get(ProcessInstance, instance_id)
        if instance is None or not self._authorization.may_view_instance(session, actor, instance):
            raise NotFound(f"no process instance {instance_id}")
        return instance

    def instance_of(self, session: Session, task: Task) -> ProcessInstance:
        """The instance of a task the caller was allowed to see (its candidates see the task's
        instance through the task, not through `get`)."""
        instance = session.get(ProcessInstance, task.instance_id)
        if instance is None:
            raise NotFound(f"no process instance {task.instance_id}")
        return instance

    def open_tasks(self, session: Session, instance_ids: list[int]) -> list[Task]:
        """The open tasks of these instances, oldest first (one query)."""
        if not instance_ids:
            return []
        return list(
            session.scalars(select(Task).where(Task.instance_id.in_(instance_ids), Task.status == "open").order_by(Task.created_at))
        )

    def open_task_rows(self, session: Session, instance_id: int) -> Any:
        """An instance's open tasks as plain rows, oldest first: the API's instance view after every
        action reads them, so the statement is built once and no objects are made."""
        return session.connection().execute(_OPEN_TASK_ROWS, {"instance_id": instance_id})

    def query(
        self,
        session: Session,
        actor: Actor,
        process_key: str | None = None,
        status: str | None = None,
        limit: int = 50,
        offset: int = 0,
        search: InstanceSearch | None = None,
    ) -> tuple[list[ProcessInstance], Total]:
        """The instances the actor may see, newest first; `search` filters by business data; the
        total is exact up to TOTAL_CAP, and beyond it for an admin's unfiltered list (`Total.exact`). Only the page's
        rows are read, without their state blobs (a list never runs the engine)."""
        search = search or InstanceSearch()
        sets = self._authorization.visible_instance_sets(session, actor)
        if search.empty:
            stmt = select(ProcessInstance.id, ProcessInstance.updated_at)
            if process_key:
                stmt = stmt.where(ProcessInstance.process_key == process_key)
            if status:
                stmt = stmt.where(ProcessInstance.status == status)
            if sets is None:  # everything, or one process or status: its counter
                return self._page_of_all(session, stmt, search, limit, offset, process_key, status)
            if not (process_key or status) and SORTS[search.sort][0] == "id":
                return self._page_of_sets(session, sets, search, limit, offset)
            return self._page_of_matches(session, stmt.where(ProcessInstance.id.in_(union(*sets))), search, limit, offset)
        matched, id_column = search.matching(process_key, status, config.current().timezone, self._clock())
        if sets is not None:
            matched = matched.where(self._authorization.visible_instances_clause(session, actor, id_column))
        return self._page_of_search(session, matched, search, limit, offset)

    def _page_of_matches(
        self, session: Session, matched: Select[Any], search: InstanceSearch, limit: int, offset: int
    ) -> tuple[list[ProcessInstance], Total]:
        """A page and the exact count of a set of matches, found once (a materialised CTE:
        PostgreSQL's planner would otherwise find them for the page and again for the count)."""
        found = matched.cte("matched").prefix_with("MATERIALIZED")
        total = select(func.count()).select_from(found).scalar_subquery()
        page = session.execute(select(found.c.id, total.label("total")).order_by(*search.order(found.c)).limit(limit).offset(offset)).all()
        if not page:  # past the last page (or nothing): the total alone
            return [], Total((session.scalar(select(func.count()).select_from(matched.subquery())) if offset else 0) or 0)
        return self._rows(session, [r.id for r in page]), Total(page[0].total)

    def _page_of_search(
        self, session: Session, visible: Select[Any], search: InstanceSearch, limit: int, offset: int
    ) -> tuple[list[ProcessInstance], Total]:
        """A search's page: its matches walked in the page's order (a non-admin's each checked by
        primary key) until the page is full; the count stops one past TOTAL_CAP, as the
        unfiltered list's, for a search matching 80,000 complaints would count each of them
        (half a second at a million instances) for a number no one pages through."""
        found = visible.subquery()
        ids = list(session.scalars(select(found.c.id).order_by(*search.order(found.c)).limit(limit).offset(offset)))
        if len(ids) < limit and (ids or not offset):  # the last page: the count is what came before it
            return self._rows(session, ids), Total(offset + len(ids))
        counted = session.scalar(select(func.count()).select_from(visible.limit(TOTAL_CAP + 1).subquery())) or 0
        return self._rows(session, ids), Total.counted(int(counted), TOTAL_CAP)

    def _page_of_all(
        self, session: Session, stmt: Any, search: InstanceSearch, limit: int, offset: int, process_key: str | None, status: str | None
    ) -> tuple[list[ProcessInstance], Total]:
        """An admin's unfiltered list (or of one process or status): the page by the index of its
        order, the total from the monitor's counters (engine.services.monitor_counters)."""
        counted = select(func.coalesce(func.sum(InstanceCount.n), 0))
        if process_key:
            counted = counted.where(InstanceCount.process_key == process_key)
        if status:
            counted = counted.where(InstanceCount.status == status)
        total = Total(session.scalar(counted) or 0)
        listed = stmt.subquery()
        ids = list(session.scalars(select(listed.c.id).order_by(*search.order(listed.c)).limit(limit).offset(offset)))
        return self._rows(session, ids), total

    def _page_of_sets(
        self, session: Session, sets: list[Select[tuple[int]]], search: InstanceSearch, limit: int, offset: int
    ) -> tuple[list[ProcessInstance], Total]:
        """A non-admin's unfiltered list in id order, read along one index per visible set: the page
        from the first `offset + limit` distinct ids of each set (the page's ids are among them),
        the total from the first TOTAL_CAP + 1 of each (exact up to the cap: a set longer than
        that makes the union longer too; every set shorter gives every id)."""
        descending = SORTS[search.sort][1]

        def ordered(column: Any) -> Any:
            return column.desc() if descending else column.asc()

        def heads(n: int) -> Any:
            firsts = [found.distinct().order_by(ordered(found.selected_columns[0])).limit(n).subquery() for found in sets]
            return union_all(*(select(first.c[0].label("id")) for first in firsts)).subquery()

        merged = heads(offset + limit)
        cap = TOTAL_CAP
        counted = heads(cap + 1)
        total = select(func.count(distinct(counted.c.id))).scalar_subquery()
        page = select(merged.c.id).distinct().order_by(ordered(merged.c.id)).limit(limit).offset(offset).subquery()
        rows = session.execute(select(page.c.id, total.label("total")).order_by(ordered(page.c.id))).all()
        if not rows:
            return [], Total.counted(int(session.scalar(select(total)) or 0) if offset else 0, cap)
        return self._rows(session, [r.id for r in rows]), Total.counted(int(rows[0].total), cap)

    @staticmethod
    def _rows(session: Session, ids: list[int]) -> list[ProcessInstance]:
        """The page's instances in the page's order, without their state blobs."""
        found = {
            i.id: i
            for i in session.scalars(select(ProcessInstance).options(defer(ProcessInstance.state)).where(ProcessInstance.id.in_(ids)))
        }
        return [found[i] for i in ids if i in found]

    def open_steps(self, session: Session, instance_ids: list[int]) -> dict[int, list[Task]]:
        """The open steps of these instances (a page of a search), oldest first: one query."""
        found: dict[int, list[Task]] = {i: [] for i in instance_ids}
        if instance_ids:
            rows = session.scalars(
                select(Task).where(Task.instance_id.in_(instance_ids), Task.status == "open").order_by(Task.created_at, Task.id)
            )
            for task in rows:
                found[task.instance_id].append(task)
        return found


# The instance an action locks: by its id, or as the owner of a task or a job. Built once: these
# run on every action, and building a statement costs about as much as sending it.
_KEY = bindparam("key")
_OWNERS: dict[str, Any] = {
    "instance": _KEY,
    "task": select(Task.instance_id).where(Task.id == _KEY).scalar_subquery(),
    "job": select(Job.instance_id).where(Job.id == _KEY).scalar_subquery(),
}
_READ = {
    by: select(ProcessInstance).where(ProcessInstance.id == owner).execution_options(populate_existing=True)
    for by, owner in _OWNERS.items()
}
_LOCK = {by: query.with_for_update(of=ProcessInstance) for by, query in _READ.items()}
_instances = ProcessInstance.__table__
_tasks = Task.__table__
_OPEN_TASK_ROWS = (
    select(_tasks).where(_tasks.c.instance_id == bindparam("instance_id"), _tasks.c.status == "open").order_by(_tasks.c.created_at)
)
_TOUCH = {by: update(_instances).where(_instances.c.id == owner).values(id=_instances.c.id) for by, owner in _OWNERS.items()}


def _locked_instance(session: Session, by: str, key: Any) -> ProcessInstance | None:
    """Lock an instance row, then read it as of the lock. PostgreSQL: `FOR UPDATE` of that row;
    SQLite has no row locks, so a no-op write takes the database's write lock instead."""
    if is_sqlite(session.get_bind()):
        session.execute(_TOUCH[by], {"key": key})
        return session.scalar(_READ[by], {"key": key})
    return session.scalar(_LOCK[by], {"key": key})


_tasks = Task.__table__
_CANCEL_TASKS = (
    update(_tasks)
    .where(_tasks.c.id.in_(bindparam("gone", expanding=True)), _tasks.c.status == "open")
    .values(status="cancelled", completed_at=bindparam("at"))
)
_INSERT_TASKS = insert(_tasks)
_INSERT_CANDIDATES = insert(TaskCandidate.__table__)
_WRITE_STATE = (
    update(_instances)
    .where(_instances.c.id == bindparam("instance"), _instances.c.row_version == bindparam("seen"))
    .values(
        state=bindparam("state"),
        serializer_version=bindparam("serializer_version"),
        data=bindparam("data"),
        updated_at=bindparam("updated_at"),
        status=bindparam("status"),
        ended_at=bindparam("ended_at"),
        customer_id=bindparam("customer_id"),
        customer_norm=bindparam("customer_norm"),
        row_version=bindparam("row_version"),
    )
)


def write_state(session: Session, instance: ProcessInstance, **values: Any) -> None:
    """Queue an action's new state as one prebuilt table-level UPDATE (store.writes), against the
    row version the action read under its lock, then tell the ORM object these values are
    stored, so that the flush at commit does not write them again."""
    seen = instance.row_version
    writes.store_later(
        session,
        instance,
        _WRITE_STATE,
        {**values, "instance": instance.id, "seen": seen, "row_version": seen + 1},
        expect_one=f"process instance {instance.id} changed since version {seen} was read",
    )


def _message_payload(data: Any) -> dict[str, Any]:
    """Message data becomes process variables: plain names and JSON values, bounded in size."""
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ValidationFailed({"data": "must be an object"})
    bad = {str(k)[:64]: "is not a valid variable name" for k in data if not isinstance(k, str) or not forms.FIELD_ID.match(k)}
    if bad:
        raise ValidationFailed(bad)
    payload = _jsonable(data)
    if len(json.dumps(payload)) > 64_000:
        raise ValidationFailed({"data": "is larger than 64 kB"})
    return payload


def _check_message_variables(name: str, payload: dict[str, Any], declared: list[str]) -> None:
    """A message sets only the variables its catch event declares (`messageVariables`)."""
    allowed = ", ".join(declared) or "none"
    undeclared = {k: f"message '{name}' may not set it (it may set: {allowed})" for k in payload if k not in declared}
    if undeclared:
        raise ValidationFailed(undeclared)


def _current_data(workflow: BpmnWorkflow) -> dict[str, Any]:
    if workflow.is_completed():
        data = dict(workflow.data)
        if workflow.last_task is not None:
            data = {**workflow.last_task.data, **data}
    else:
        data = dict(workflow.last_task.data) if workflow.last_task is not None else dict(workflow.task_tree.data)
        for task in workflow.get_tasks(state=TaskState.READY | TaskState.WAITING):
            data.update(task.data)
    return _jsonable({k: v for k, v in data.items() if not k.startswith("spiff__")})
