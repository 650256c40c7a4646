"""History service: the audit trail of every state change (who, what, when, which task, data)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, insert, select
from sqlalchemy.orm import Session

from store import writes
from store.models import HistoryEvent

if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import datetime


class HistoryService:
    def __init__(self, *, clock: Callable[[], datetime]) -> None:
        self._clock = clock

    def record(
        self,
        session: Session,
        user: str | None,
        action: str,
        *,
        instance_id: int | None = None,
        task_id: str | None = None,
        task_key: str | None = None,
        comment: str | None = None,
        data: dict[str, Any] | None = None,
        on_behalf_of: str | None = None,
    ) -> None:
        """Queued as a table-level insert (store.writes): nothing reads the line back as an object,
        and the ORM's insert (an object, a flush, RETURNING id) costs about twice as much."""
        writes.later(
            session,
            _INSERT,
            {
                "at": self._clock(),
                "user": user,
                "action": action,
                "instance_id": instance_id,
                "task_id": task_id,
                "task_key": task_key,
                "comment": comment,
                "data": data or {},
                "on_behalf_of": on_behalf_of,
            },
        )

    def for_instance(self, session: Session, instance_id: int) -> list[HistoryEvent]:
        return list(session.scalars(select(HistoryEvent).where(HistoryEvent.instance_id == instance_id).order_by(HistoryEvent.id)))

    def rows_for_instance(self, session: Session, instance_id: int) -> Any:
        """An instance's history as plain rows, oldest first (the API's instance view, after every
        action: the statement is built once, no objects are made)."""
        return session.connection().execute(_FOR_INSTANCE, {"instance_id": instance_id})


_INSERT = insert(HistoryEvent.__table__).inline()  # no RETURNING: the id is never read back
_history = HistoryEvent.__table__
_FOR_INSTANCE = select(_history).where(_history.c.instance_id == bindparam("instance_id")).order_by(_history.c.id)
