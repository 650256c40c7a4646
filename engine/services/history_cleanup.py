"""History cleanup (job `history_cleanup`, 03:00 in the organisation's zone): a finished instance
(completed or terminated) whose version keeps history for N days (`history_ttl_days`, from the
BPMN's camunda:historyTimeToLive or set by an admin) is removed N days after it ended, with its
history, worklist rows, jobs, business fields, notices and attachments (the foreign keys cascade;
the attachment directory's files no row names any more are swept after the last batch).

In batches of BATCH instances, one transaction each: a run that fills its batch schedules the next
at once, otherwise the next night's. Each batch leaves one audit line (action `history.cleanup`,
no instance: the audit log is kept) with the count per process and the instance numbers. The
monitor's daily roll-ups of completed steps stay: figures over a period do not change."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import ColumnElement, and_, delete, false, or_, select, update
from sqlalchemy.orm import Session

from engine.bpmn.parser import MAX_HISTORY_TTL_DAYS
from engine.clock import next_local
from engine.errors import NotFound, ValidationFailed
from engine.services.history import HistoryService
from engine.services.identity import Actor
from store.models import Job, ProcessDefinition, ProcessInstance

if TYPE_CHECKING:
    from engine.authorization import Authorization
    from engine.config import Settings
    from store.db import Database

CLEANUP_KIND = "history_cleanup"
CLEANUP_TIME = time(3, 0)
BATCH = 500
FINISHED = ("completed", "terminated")
AUDITED_IDS = 500  # the instance numbers an audit line lists


@dataclass
class Cleaned:
    removed: dict[str, int] = field(default_factory=dict)  # process key -> instances removed
    instance_ids: list[int] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.instance_ids)


class HistoryCleanupService:
    def __init__(
        self,
        *,
        clock: Callable[[], datetime],
        settings: Settings,
        db: Database,
        history: HistoryService,
        authorization: Authorization,
        sweep_files: Callable[[Session], int] = lambda _session: 0,
    ) -> None:
        self._clock = clock
        self._settings = settings
        self._db = db
        self._history = history
        self._authorization = authorization
        self._sweep_files = sweep_files

    def next_run(self, after: datetime) -> datetime:
        """The next 03:00 in the organisation's zone after `after`, in UTC."""
        return next_local(after, CLEANUP_TIME, self._settings.timezone)

    def expired_clause(self, session: Session, at: datetime) -> ColumnElement[bool]:
        """Finished instances past their version's retention at `at`: one condition per retention
        in use (a handful), each the (definition_id, ended_at) index's question."""
        by_days: dict[int, list[int]] = defaultdict(list)
        for definition_id, days in session.execute(
            select(ProcessDefinition.id, ProcessDefinition.history_ttl_days).where(ProcessDefinition.history_ttl_days.is_not(None))
        ):
            by_days[days].append(definition_id)
        if not by_days:
            return false()
        ended_before = [
            and_(ProcessInstance.definition_id.in_(ids), ProcessInstance.ended_at < at - timedelta(days=days))
            for days, ids in sorted(by_days.items())
        ]
        return and_(ProcessInstance.status.in_(FINISHED), or_(*ended_before))

    def expired(self, session: Session, at: datetime, limit: int) -> list[tuple[int, str]]:
        """(instance id, process key) of the oldest-numbered expired instances."""
        stmt = select(ProcessInstance.id, ProcessInstance.process_key).where(self.expired_clause(session, at))
        return [(i, k) for i, k in session.execute(stmt.order_by(ProcessInstance.id).limit(limit))]

    def clean(self, session: Session, at: datetime, limit: int | None = None) -> Cleaned:
        """Remove one batch (BATCH instances unless `limit` says), in the caller's transaction, and audit it."""
        found = self.expired(session, at, limit or BATCH)
        cleaned = Cleaned(dict(Counter(key for _id, key in found)), [i for i, _key in found])
        if not found:
            return cleaned
        # Locked first, in id order as every action locks one instance: an action still running on
        # one (a late message) finishes before its row goes; the status is checked again under the lock.
        ids = list(
            session.scalars(
                select(ProcessInstance.id)
                .where(ProcessInstance.id.in_(cleaned.instance_ids), ProcessInstance.status.in_(FINISHED))
                .order_by(ProcessInstance.id)
                .with_for_update()
            )
        )
        session.execute(delete(ProcessInstance).where(ProcessInstance.id.in_(ids)).execution_options(synchronize_session=False))
        kept = set(ids)
        cleaned.instance_ids = ids
        cleaned.removed = dict(Counter(key for i, key in found if i in kept))
        self._history.record(
            session,
            None,
            "history.cleanup",
            data={"removed": cleaned.removed, "instances": ids[:AUDITED_IDS], "count": len(ids)},
        )
        return cleaned

    def run(self, session: Session, job: Job, at: datetime) -> str:
        """The job: one batch, then the next run (at once while batches come back full)."""
        cleaned = self.clean(session, at)
        if cleaned.count < BATCH:  # the last batch: the attachment directory's files no row names go too
            self._sweep_files(session)
        due = at if cleaned.count >= BATCH else self.next_run(at)
        pending = select(Job.id).where(Job.kind == CLEANUP_KIND, Job.status == "pending", Job.id != job.id)
        if session.scalar(pending.limit(1)) is None:
            session.add(Job(kind=CLEANUP_KIND, due_at=due, run_at=due, payload={}, created_at=at))
        return "fired"

    def set_ttl(self, actor: Actor, key: str, days: object) -> int | None:
        """An admin sets how long every version of a process keeps finished instances (None: for
        ever); audited."""
        self._authorization.require_admin(actor, "change how long history is kept")
        if days is not None and (isinstance(days, bool) or not isinstance(days, int) or not 0 < days <= MAX_HISTORY_TTL_DAYS):
            raise ValidationFailed({"days": f"must be a whole number of days from 1 to {MAX_HISTORY_TTL_DAYS}, or null to keep for ever"})
        with self._db.transaction() as session:
            changed = session.execute(
                update(ProcessDefinition)
                .where(ProcessDefinition.key == key)
                .values(history_ttl_days=days)
                .execution_options(synchronize_session=False)
            )
            if not changed.rowcount:
                raise NotFound(f"no process definition with key '{key}'")
            self._history.record(session, actor.username, "admin.history_ttl", data={"key": key, "days": days})
        return days  # type: ignore[return-value]

    def ttl_of(self, session: Session, key: str) -> int | None:
        """The latest version's retention (what the monitor shows)."""
        return session.scalar(
            select(ProcessDefinition.history_ttl_days)
            .where(ProcessDefinition.key == key)
            .order_by(ProcessDefinition.version.desc())
            .limit(1)
        )
