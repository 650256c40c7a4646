"""Job service: timers, timer starts and email, fired exactly once by any number of workers.

A worker claims due jobs in one short transaction (`FOR UPDATE SKIP LOCKED` on PostgreSQL; SQLite
serialises writers) and gives each a lease. Each job then runs in its own transaction under its
instance's row lock; marking it done commits together with the instance's new state, so a fired
timer cannot fire again. A worker that dies mid-job leaves its transaction uncommitted and its
lease runs out; another worker takes the job over. A job that fails is retried with backoff and
then becomes an incident that an admin can retry.
"""

from __future__ import annotations

import os
import socket
import traceback
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from uuid import UUID, uuid4

from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    TimerEventDefinition,
)
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import bindparam, func, or_, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from engine import mail
from engine.bpmn import timers
from engine.bpmn.wait_state import WaitState
from engine.clock import aware, utcnow
from engine.errors import Conflict, EngineError, NotFound
from engine.services.identity import Actor
from store import writes
from store.db import is_sqlite, retryable
from store.models import Job, ProcessDefinition, ProcessInstance, User

if TYPE_CHECKING:
    from engine.authorization import Authorization
    from engine.config import MailSettings
    from engine.process_engine import ProcessEngine
    from engine.services.history import HistoryService
    from engine.services.repository import RepositoryService
    from engine.services.runtime import RuntimeService
    from store.db import Database


@dataclass(frozen=True)
class JobSettings:
    lease: timedelta = timedelta(seconds=120)
    batch: int = 20
    max_attempts: int = 3
    backoff: timedelta = timedelta(seconds=30)
    pause: timedelta = timedelta(seconds=5)  # after a retryable database failure (store.db.retryable)


def default_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)


class JobService:
    def __init__(
        self,
        *,
        authorization: Authorization,
        clock: Callable[[], datetime],
        db: Database,
        history: HistoryService,
        mail: MailSettings | None,
        repository: RepositoryService,
        runtime: RuntimeService,
        settings: JobSettings | None = None,
    ) -> None:
        self._authorization = authorization
        self._clock = clock
        self._db = db
        self._history = history
        self._mail = mail
        self._repository = repository
        self._runtime = runtime
        self.settings = settings or JobSettings()
        # Called inside a job's transaction just before it commits (tests hold a worker there).
        self.before_commit: Callable[[Job], None] | None = None
        # Job kinds other services run (kind -> handler(session, job, at) -> status).
        self._handlers: dict[str, Callable[[Session, Job, datetime], str]] = {}
        self._channels: Callable[..., None] | None = None

    def use_channels(self, enqueue: Callable[..., None]) -> None:
        """Where notices also go (engine.services.channels.ChannelService.enqueue)."""
        self._channels = enqueue

    def enqueue_channels(
        self,
        session: Session,
        usernames: list[str],
        kind: str,
        message: str,
        instance: ProcessInstance | None,
        task_id: str | None,
        now: datetime,
    ) -> None:
        if self._channels is not None:
            self._channels(session, usernames, kind, message, instance, task_id, now)

    def handle(self, kind: str, handler: Callable[[Session, Job, datetime], str]) -> None:
        """Run jobs of `kind` with `handler` (the customer file's activity reminders)."""
        self._handlers[kind] = handler

    # --- claiming and running ---------------------------------------------------------------

    def _claim(self, worker: str, at: datetime, limit: int, instances: Collection[int] | None = None) -> list[Any]:
        """Claim up to `limit` due jobs (and jobs whose lease ran out) for `worker`: their id, kind,
        instance_id and attempts, in instance order; with `instances`, only theirs and the jobs of
        no instance (mail, channels, reminders)."""
        wall = utcnow()
        with self._db.transaction() as session:
            due = select(Job.id).where(
                or_(
                    (Job.status == "pending") & (Job.run_at <= at),
                    (Job.status == "running") & (Job.lock_expires_at < wall),
                )
            )
            if instances is not None:
                due = due.where(or_(Job.instance_id.in_(list(instances)), Job.instance_id.is_(None)))
            due = due.order_by(Job.run_at, Job.id).limit(limit).with_for_update(skip_locked=True).scalar_subquery()
            claimed = session.execute(
                update(Job)
                .where(Job.id.in_(due))
                .values(status="running", lock_owner=worker, lock_expires_at=wall + self.settings.lease)
                .returning(Job.id, Job.kind, Job.instance_id, Job.attempts)
                .execution_options(synchronize_session=False)
            ).all()
            return sorted(claimed, key=lambda job: (job.instance_id or 0, job.id))

    def run_due(
        self, at: datetime | None = None, worker: str | None = None, limit: int | None = None, instances: Collection[int] | None = None
    ) -> int:
        """Run every job due at or before `at` (default now); returns how many fired. `instances`
        brings only those instances forward (and the jobs of none): moving one case's time on
        (`jobs run-due --instance`) leaves every other case's timers to their own time."""
        at = _utc(at or self._clock())
        worker = f"{worker or default_worker_id()}:{uuid4().hex[:8]}"
        fired = 0
        while limit is None or fired < limit:
            batch = self._claim(worker, at, self.settings.batch if limit is None else min(self.settings.batch, limit - fired), instances)
            if not batch:
                break
            # A timer that failed before runs alone: it may fail again, and a failure re-runs its batch.
            timers = [job.id for job in batch if job.kind == "timer" and not job.attempts]
            others = [job.id for job in batch if job.kind != "timer" or job.attempts]
            fired += self._run_together(timers, worker, at)
            fired += sum(1 for job_id in others if self.run_one(job_id, worker, at) == "fired")
        return fired

    def _run_together(self, job_ids: list[int], worker: str, at: datetime) -> int:
        """Fire a claimed batch of timers in one transaction: one commit instead of one each.

        If any of them fails the batch rolls back whole and each timer runs alone, its failure
        recorded on its own job. The shipped operations only write to the database (worklist,
        notifications, the mail outbox), so running a timer again repeats nothing; an operation
        that calls another system is at least once, as it is when a worker dies before its
        commit. Instances are locked in id order, as in every worker's batch, so two batches
        cannot deadlock.
        """
        # SQLite has a single writer: a long batch transaction would starve the other processes
        # (their busy handlers back off while this one takes the lock straight back).
        if len(job_ids) > 1 and not is_sqlite(self._db.engine):
            try:
                with self._db.transaction() as session:
                    outcomes = [self._run_in(session, job_id, worker, at) for job_id in job_ids]
                return outcomes.count("fired")
            except Exception:  # retried one by one below, where failures are recorded
                pass
        return sum(1 for job_id in job_ids if self.run_one(job_id, worker, at) == "fired")

    def run_one(self, job_id: int, worker: str, at: datetime) -> str:
        try:
            with self._db.transaction() as session:
                return self._run_in(session, job_id, worker, at)
        except Exception as exc:
            self._record_failure(job_id, worker, at, exc)
            return "failed"

    def _run_in(self, session: Session, job_id: int, worker: str, at: datetime) -> str:
        # The instance's lock first (every action on it takes that one), then the job as of it.
        instance = self._runtime.lock_for_job(session, job_id)
        job = session.get(Job, job_id, populate_existing=True, with_for_update=True)
        if job is None or job.status != "running" or job.lock_owner != worker:
            return "skipped"  # done by a worker that held it before us, or taken over
        if instance is not None and instance.status == "suspended" and job.kind != "email":
            # suspended after this job was claimed: it waits with the others (instance_control)
            writes.store_later(
                session,
                job,
                _FINISH_JOB,
                {"job": job.id, "status": "suspended", "fired_at": None, "lock_owner": None, "lock_expires_at": None},
            )
            return "held"
        outcome = self._execute(session, job, at, instance)
        done = {"status": "done" if outcome == "fired" else "obsolete", "fired_at": at if outcome == "fired" else None}
        writes.store_later(session, job, _FINISH_JOB, {"job": job.id, **done, "lock_owner": None, "lock_expires_at": None})
        if self.before_commit is not None:
            self.before_commit(job)
        return outcome

    def _record_failure(self, job_id: int, worker: str, at: datetime, exc: Exception) -> None:
        message = exc.message if isinstance(exc, EngineError) else f"{type(exc).__name__}: {exc}"
        with self._db.transaction() as session:
            job = session.get(Job, job_id, with_for_update=True)
            if job is None or job.lock_owner != worker:
                return
            job.last_error = (message + "\n" + "".join(traceback.format_exception_only(exc))).strip()[:4000]
            job.lock_owner = None
            job.lock_expires_at = None
            if isinstance(exc, DBAPIError) and retryable(exc):
                # A lock wait or a lost connection is no fault of the job's: not an attempt, and
                # soon again (not in this run: the lock may still be held).
                job.status = "pending"
                job.run_at = at + self.settings.pause
                return
            job.attempts += 1
            if job.attempts >= self.settings.max_attempts:
                job.status = "incident"
                self._history.record(
                    session,
                    None,
                    "incident",
                    instance_id=job.instance_id,
                    task_id=job.task_id,
                    task_key=job.element_id,
                    comment=message[:500],
                    data={"job_id": job.id},
                )
            else:
                job.status = "pending"
                job.run_at = at + self.settings.backoff * (2 ** (job.attempts - 1))

    def _execute(self, session: Session, job: Job, at: datetime, instance: ProcessInstance | None) -> str:
        if job.kind == "timer":
            return self._fire_timer(session, job, instance, at)
        if job.kind == "timer_start":
            return self._fire_timer_start(session, job, at)
        if job.kind == "email":
            return self._send_email(job)
        if job.kind in self._handlers:
            return self._handlers[job.kind](session, job, at)
        raise EngineError(f"unknown job kind '{job.kind}'")

    # --- the kinds of job ---------------------------------------------------------------------

    def _fire_timer(self, session: Session, job: Job, instance: ProcessInstance | None, at: datetime) -> str:
        if instance is None or instance.status != "running" or not job.task_id:
            return "obsolete"
        workflow = self._runtime.load(session, instance)
        before = WaitState.of(workflow).holding(job)
        task = workflow.get_task_from_id(UUID(job.task_id))
        definition = getattr(getattr(task, "task_spec", None), "event_definition", None)
        if task is None or task.state != TaskState.WAITING or not isinstance(definition, TimerEventDefinition):
            return "obsolete"  # the timer was cancelled or already fired with its activity
        timers.fire_now(task, definition, at)
        self._history.record(
            session,
            None,
            "timer",
            instance_id=instance.id,
            task_id=job.task_id,
            task_key=job.element_id,
            data={"due_at": aware(job.due_at).isoformat()},  # type: ignore[union-attr]
        )
        self._runtime.advance(session, instance, workflow, None, before)
        return "fired"

    def _fire_timer_start(self, session: Session, job: Job, at: datetime) -> str:
        definition = session.get(ProcessDefinition, job.definition_id)
        if definition is None:
            return "obsolete"
        newest = self._repository.latest(session, definition.key)
        if newest.id != definition.id:
            return "obsolete"  # a newer version was deployed and scheduled its own start
        self._runtime.start_by_timer(session, definition, job.element_id)
        nxt = timers.next_cycle(job.payload, aware(job.due_at), at)  # type: ignore[arg-type]
        if nxt is not None:
            due, payload = nxt
            session.add(
                Job(
                    kind="timer_start",
                    definition_id=definition.id,
                    element_id=job.element_id,
                    due_at=due,
                    run_at=due,
                    payload=payload,
                    created_at=at,
                )
            )
        return "fired"

    def _send_email(self, job: Job) -> str:
        settings = self._mail
        if settings is None:
            return "obsolete"  # mail was switched off after the notification was written
        # The job's own key: its number and when it was made (a removed job's number may be reused).
        delivery = f"crmflow-email-{job.id}-{aware(job.created_at).strftime('%Y%m%d%H%M%S%f')}"  # type: ignore[union-attr]
        mail.send(settings, job.payload["to"], job.payload["subject"], job.payload["body"], delivery)
        return "fired"

    # --- scheduling -----------------------------------------------------------------------------

    def schedule_timer_starts(
        self, session: Session, definition: ProcessDefinition, start_timers: list[dict[str, str]], now: datetime
    ) -> None:
        """Timer start events of a newly deployed version; pending starts of older versions lapse."""
        older = select(ProcessDefinition.id).where(ProcessDefinition.key == definition.key, ProcessDefinition.id != definition.id)
        session.execute(
            update(Job).where(Job.kind == "timer_start", Job.status == "pending", Job.definition_id.in_(older)).values(status="obsolete")
        )
        for timer in start_timers:
            first = timers.first_occurrence(timer["kind"], timer["text"], now)
            if first is None:
                continue
            due, payload = first
            session.add(
                Job(
                    kind="timer_start",
                    definition_id=definition.id,
                    element_id=timer["element_id"],
                    due_at=due,
                    run_at=due,
                    payload=payload,
                    created_at=now,
                )
            )

    def enqueue_email(
        self,
        session: Session,
        usernames: list[str],
        kind: str,
        message: str,
        instance: ProcessInstance | None,
        task_id: str | None,
        now: datetime,
    ) -> None:
        settings = self._mail
        if settings is None or not usernames:
            return
        users = session.execute(
            select(User.username, User.display_name, User.email, User.locale).where(User.username.in_(usernames), User.active.is_(True))
        ).all()
        for user in users:
            if not user.email:
                continue
            link = f"{settings.base_url}/tasks/{task_id}" if task_id else f"{settings.base_url}/instances/{instance.id if instance else ''}"
            subject, body = mail.render(
                kind,
                user.locale or "zh_CN",
                name=message.splitlines()[0][:80] if message else kind,
                message=message,
                display_name=user.display_name or user.username,
                process=instance.process_key if instance else "-",
                instance_id=instance.id if instance else "-",
                link=link,
            )
            session.add(
                Job(
                    kind="email",
                    instance_id=None,
                    task_id=task_id,
                    due_at=now,
                    run_at=now,
                    payload={"to": user.email, "subject": subject, "body": body, "username": user.username},
                    created_at=now,
                )
            )

    # --- incidents ------------------------------------------------------------------------------

    def upcoming(self, session: Session, actor: Actor, limit: int = 100) -> tuple[list[tuple[Job, str | None]], dict[str, int]]:
        """The jobs still to run, soonest first (held ones of suspended instances too), with their
        process, and how many of each kind there are (admins: the monitor's due-jobs list)."""
        self._authorization.require_admin(actor, "see the due jobs")
        waiting = Job.status.in_(("pending", "suspended"))
        rows = session.execute(
            select(Job, ProcessInstance.process_key)
            .outerjoin(ProcessInstance, ProcessInstance.id == Job.instance_id)
            .where(waiting)
            .order_by(Job.run_at, Job.id)
            .limit(limit)
        ).all()
        counts = dict(session.execute(select(Job.kind, func.count()).where(waiting).group_by(Job.kind).order_by(Job.kind)).all())
        return [(job, key) for job, key in rows], counts

    def incidents(self, session: Session, actor: Actor, instance_id: int | None = None) -> list[Job]:
        """The jobs that kept failing (admins), newest first; or one instance's."""
        self._authorization.require_admin(actor, "see incidents")
        stmt = select(Job).where(Job.status == "incident")
        if instance_id is not None:
            stmt = stmt.where(Job.instance_id == instance_id)
        return list(session.scalars(stmt.order_by(Job.id.desc())))

    def retry(self, actor: Actor, job_id: int) -> Job:
        self._authorization.require_admin(actor, "may retry incidents")
        with self._db.transaction() as session:
            job = session.get(Job, job_id, with_for_update=True)
            if job is None:
                raise NotFound(f"no job {job_id}")
            if job.status != "incident":
                raise Conflict(f"job {job_id} is {job.status}, not an incident")
            job.status = "pending"
            job.attempts = 0
            job.run_at = self._clock()
            self._history.record(
                session,
                actor.username,
                "retry",
                instance_id=job.instance_id,
                task_id=job.task_id,
                task_key=job.element_id,
                data={"job_id": job.id},
            )
            return job


def run_due_jobs(
    engine: ProcessEngine, at: datetime | None = None, worker: str | None = None, instances: Collection[int] | None = None
) -> int:
    """Fire every job due at or before `at` (the `jobs run-due` command), of `instances` only if given."""
    return engine.jobs.run_due(at, worker, instances=instances)


_jobs = Job.__table__
_FINISH_JOB = (
    update(_jobs)
    .where(_jobs.c.id == bindparam("job"))
    .values(
        status=bindparam("status"),
        fired_at=bindparam("fired_at"),
        lock_owner=bindparam("lock_owner"),
        lock_expires_at=bindparam("lock_expires_at"),
    )
)
