"""What a requester does to their own running request, as DingTalk and Feishu approvals let them
(DOMAIN.md, "Approvals as Chinese office staff expect them"):

- Withdraw (撤回): the request ends, `terminated` with `data.outcome` = `withdrawn`; its open steps
  leave every worklist, its jobs are cancelled, and whoever it was waiting for is told. Only where
  the process package allows it (`ProcessParts.withdrawable`).
- Urge (催办): whoever its open steps wait for (the assignee, else every candidate) is notified,
  at most once an hour per request (429 with `retry_after`).

Each is one transaction holding the instance's row lock, as every action on an instance takes it:
a withdrawal racing an approval either comes after it or finds the task gone; two urges at once
are one urge and one refusal."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import operations, process_parts
from engine.clock import aware
from engine.errors import Conflict, TooSoon
from engine.services import copies, instance_fields
from engine.services.identity import Actor
from engine.services.instance_control import end, reason_of
from store.models import HistoryEvent, ProcessInstance, Task

if TYPE_CHECKING:
    from engine.authorization import Authorization
    from engine.services.history import HistoryService
    from engine.services.runtime import RuntimeService
    from store.db import Database

URGE_INTERVAL = timedelta(hours=1)


class RequesterService:
    def __init__(
        self,
        *,
        authorization: Authorization,
        clock: Callable[[], datetime],
        context: Callable[..., Any],
        db: Database,
        history: HistoryService,
        runtime: RuntimeService,
    ) -> None:
        self._authorization = authorization
        self._clock = clock
        self._context = context
        self._db = db
        self._history = history
        self._runtime = runtime

    def _locked(self, session: Session, actor: Actor, instance_id: int, check: Callable[[Actor, ProcessInstance], None]) -> ProcessInstance:
        """The instance, locked: 404 for one the actor may not see, 403 for one they see but is not
        theirs to act on, 409 for one no longer running."""
        check(actor, self._runtime.get(session, actor, instance_id))
        instance = self._runtime.lock(session, instance_id)
        if instance.status != "running":
            raise Conflict(f"the request is not running (it is {instance.status})")
        return instance

    def withdraw(self, actor: Actor, instance_id: int, data: Any = None) -> ProcessInstance:
        reason = reason_of(data, required=False)
        with self._db.transaction() as session:
            instance = self._locked(session, actor, instance_id, self._authorization.check_withdraw)
            waiting = waiting_for(session, instance)
            now = self._clock()
            before = dict(instance.data or {})
            instance.data = {**before, "outcome": "withdrawn"}
            instance_fields.record(session, instance, before, instance.data)
            cancelled = end(session, instance, now)
            self._history.record(
                session, actor.username, "withdraw", instance_id=instance.id, comment=reason, data={"tasks_cancelled": cancelled}
            )
            with operations.action(self._context(session, actor.username, instance)):
                operations.notify([u for u in waiting if u != actor.username], "withdrawn", _title(instance))
                cc_field = process_parts.parts_of(instance.process_key).cc_field
                if cc_field:
                    copies.tell_outcome(instance, instance.data.get(cc_field), "withdrawn", actor.username)
            return instance

    def urge(self, actor: Actor, instance_id: int) -> list[str]:
        """Notify whoever the open steps wait for; returns who was told."""
        with self._db.transaction() as session:
            instance = self._locked(session, actor, instance_id, self._authorization.check_urge)
            now = self._clock()
            last = session.scalar(
                select(HistoryEvent.at)
                .where(HistoryEvent.instance_id == instance.id, HistoryEvent.action == "urge")
                .order_by(HistoryEvent.id.desc())
                .limit(1)
            )
            if last is not None and (wait := aware(last) + URGE_INTERVAL - now) > timedelta(0):  # type: ignore[operator]
                seconds = int(wait.total_seconds()) + 1
                raise TooSoon(
                    f"the request was urged less than an hour ago; urge again in {seconds // 60 + 1} minutes", retry_after=seconds
                )
            people = [u for u in waiting_for(session, instance) if u != actor.username]
            if not people:
                raise Conflict("the request is not waiting for anyone")
            self._history.record(session, actor.username, "urge", instance_id=instance.id, data={"to": people})
            with operations.action(self._context(session, actor.username, instance)):
                operations.notify(people, "urge", _title(instance))
            return people


def waiting_for(session: Session, instance: ProcessInstance) -> list[str]:
    """Whom the instance waits for: the assignee of each open step, else its candidates (active
    holders of its roles), less those four-eyes keeps off it."""
    people: set[str] = set()
    for task in session.scalars(select(Task).where(Task.instance_id == instance.id, Task.status == "open")):
        excluded = set((task.excluded_users or "").split(","))
        found = [task.assignee] if task.assignee else operations.candidates(session, task)
        people |= {u for u in found if u and u not in excluded}
    return sorted(people)


def _title(instance: ProcessInstance) -> str:
    data = instance.data or {}
    return str(data.get("title") or instance.business_key or f"#{instance.id}")
