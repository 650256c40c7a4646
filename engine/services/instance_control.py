"""Instance operations for admins (DOMAIN.md "Oversight": suspend, resume, terminate with a
reason), in Camunda's words the runtime service's suspension and deletion of an instance.

- Suspend: the instance stops where it is. Its open tasks stay in the worklists, marked, and
  refuse claim, return, assignment and completion (409 `suspended`); its timers and other jobs are
  held (status `suspended`) and keep their due time, so one that fell due meanwhile fires at the
  first run after resume.
- Resume: all of that undone; nothing is lost.
- Terminate: the end, for a mistaken or obsolete instance: its open tasks are cancelled (they leave
  every worklist), its jobs cancelled, the instance `terminated` with who and why in the history.

Each is one transaction holding the instance's row lock, the lock every other action on it takes
first: a completion racing a terminate either finishes before it or finds the task cancelled."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from engine.errors import Conflict, ValidationFailed
from engine.services.identity import Actor
from store.models import Job, ProcessInstance, Task

if TYPE_CHECKING:
    from engine.authorization import Authorization
    from engine.services.history import HistoryService
    from engine.services.runtime import RuntimeService
    from store.db import Database

MAX_REASON = 1000
OPEN_JOBS = ("pending", "suspended")


class Suspended(Conflict):
    """The instance is suspended: nothing is done on it until an admin resumes it."""

    code = "suspended"


def reason_of(data: Any, required: bool = True) -> str | None:
    """The reason given (trimmed, at most 1000 characters); required for suspend and terminate."""
    value = data.get("reason") if isinstance(data, dict) else None
    if value is not None and not isinstance(value, str):
        raise ValidationFailed({"reason": "must be text"})
    text = (value or "").strip()
    if len(text) > MAX_REASON:
        raise ValidationFailed({"reason": f"must be at most {MAX_REASON} characters"})
    if required and not text:
        raise ValidationFailed({"reason": "is required"})
    return text or None


class InstanceControlService:
    def __init__(
        self,
        *,
        authorization: Authorization,
        clock: Callable[[], datetime],
        db: Database,
        history: HistoryService,
        runtime: RuntimeService,
    ) -> None:
        self._authorization = authorization
        self._clock = clock
        self._db = db
        self._history = history
        self._runtime = runtime

    def _locked(self, session: Session, actor: Actor, instance_id: int, what: str) -> ProcessInstance:
        """The instance, locked; 404 for one the actor may not see, 403 for one they see."""
        self._runtime.get(session, actor, instance_id)
        self._authorization.require_admin(actor, what)
        return self._runtime.lock(session, instance_id)

    def suspend(self, actor: Actor, instance_id: int, data: Any) -> ProcessInstance:
        reason = reason_of(data)
        with self._db.transaction() as session:
            instance = self._locked(session, actor, instance_id, "suspend a process")
            if instance.status != "running":
                raise Conflict(f"only a running instance can be suspended; this one is {instance.status}")
            instance.status = "suspended"
            instance.updated_at = self._clock()
            _set_tasks(session, instance.id, suspended=True)
            _move_jobs(session, instance.id, "pending", "suspended")
            self._history.record(session, actor.username, "suspend", instance_id=instance.id, comment=reason)
            return instance

    def resume(self, actor: Actor, instance_id: int, data: Any = None) -> ProcessInstance:
        reason = reason_of(data, required=False)
        with self._db.transaction() as session:
            instance = self._locked(session, actor, instance_id, "resume a process")
            if instance.status != "suspended":
                raise Conflict(f"only a suspended instance can be resumed; this one is {instance.status}")
            instance.status = "running"
            instance.updated_at = self._clock()
            _set_tasks(session, instance.id, suspended=False)
            _move_jobs(session, instance.id, "suspended", "pending")
            self._history.record(session, actor.username, "resume", instance_id=instance.id, comment=reason)
            return instance

    def terminate(self, actor: Actor, instance_id: int, data: Any) -> ProcessInstance:
        reason = reason_of(data)
        with self._db.transaction() as session:
            instance = self._locked(session, actor, instance_id, "terminate a process")
            if instance.status in ("completed", "terminated"):
                raise Conflict(f"the instance has ended already ({instance.status})")
            cancelled = end(session, instance, self._clock())
            self._history.record(
                session, actor.username, "terminate", instance_id=instance.id, comment=reason, data={"tasks_cancelled": cancelled}
            )
            return instance


def end(session: Session, instance: ProcessInstance, now: datetime) -> int:
    """The instance `terminated` now, its open tasks cancelled (out of every worklist), its jobs
    cancelled; returns how many tasks were cancelled. The caller holds the instance's lock."""
    instance.status = "terminated"
    instance.ended_at = now
    instance.updated_at = now
    cancelled = session.execute(
        update(Task)
        .where(Task.instance_id == instance.id, Task.status == "open")
        .values(status="cancelled", completed_at=now, suspended=False)
        .execution_options(synchronize_session=False)
    ).rowcount
    session.execute(
        update(Job)
        .where(Job.instance_id == instance.id, Job.status.in_((*OPEN_JOBS, "incident")))
        .values(status="cancelled", lock_owner=None, lock_expires_at=None)
        .execution_options(synchronize_session=False)
    )
    return int(cancelled)


def _set_tasks(session: Session, instance_id: int, *, suspended: bool) -> None:
    session.execute(
        update(Task)
        .where(Task.instance_id == instance_id, Task.status == "open")
        .values(suspended=suspended)
        .execution_options(synchronize_session=False)
    )


def _move_jobs(session: Session, instance_id: int, old: str, new: str) -> None:
    session.execute(
        update(Job)
        .where(Job.instance_id == instance_id, Job.status == old, Job.kind != "email")
        .values(status=new)
        .execution_options(synchronize_session=False)
    )
