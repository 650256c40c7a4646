"""Free comments on a running instance (DOMAIN.md: "attachments and free comments on any running
instance, by anyone who may see it; both appear in its history"), as DingTalk's 评论: a line of
the instance's history (action `comment`), and a notice to its requester and to whoever its open
steps wait for, the writer left out."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import operations
from engine.errors import Conflict, ValidationFailed
from engine.services import fields
from engine.services.identity import Actor
from engine.services.requester import waiting_for
from store.models import HistoryEvent

if TYPE_CHECKING:
    from engine.services.history import HistoryService
    from engine.services.runtime import RuntimeService
    from store.db import Database

MAX_COMMENT = 2000
OPEN = ("running", "suspended")


@dataclass(frozen=True)
class Comment:
    id: int
    at: datetime
    user: str | None
    text: str

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "at": self.at.isoformat(), "user": self.user, "text": self.text}


def text_of(data: Any) -> str:
    """The comment's text: required, storable, at most MAX_COMMENT characters (engine.services.fields)."""
    errors: dict[str, str] = {}
    text = fields.text(data if isinstance(data, dict) else {}, "text", errors, required=True, limit=MAX_COMMENT)
    if errors or not text:
        raise ValidationFailed(errors or {"text": "is required"})
    return text


class CommentService:
    def __init__(
        self, *, clock: Callable[[], datetime], context: Callable[..., Any], db: Database, history: HistoryService, runtime: RuntimeService
    ) -> None:
        self._clock = clock
        self._context = context
        self._db = db
        self._history = history
        self._runtime = runtime

    def add(self, actor: Actor, instance_id: int, data: Any) -> Comment:
        """404 for an instance the actor may not see, 409 for one that has ended, 422 for no text."""
        text = text_of(data)
        with self._db.transaction() as session:
            instance = self._runtime.get(session, actor, instance_id)
            if instance.status not in OPEN:
                raise Conflict(f"the instance has ended ({instance.status}): comments are for running ones")
            self._history.record(session, actor.username, "comment", instance_id=instance.id, comment=text)
            told = {instance.started_by, *waiting_for(session, instance)} - {actor.username, None}
            with operations.action(self._context(session, actor.username, instance)):
                operations.notify(sorted(u for u in told if u), "comment", f"{actor.username}: {text[:200]}")
        with self._db.sessions() as session:
            return self.of_instance(session, actor, instance_id)[-1]

    def of_instance(self, session: Session, actor: Actor, instance_id: int) -> list[Comment]:
        """The instance's comments, oldest first (404 as the instance)."""
        instance = self._runtime.get(session, actor, instance_id)
        rows = session.execute(
            select(HistoryEvent.id, HistoryEvent.at, HistoryEvent.user, HistoryEvent.comment)
            .where(HistoryEvent.instance_id == instance.id, HistoryEvent.action == "comment")
            .order_by(HistoryEvent.id)
        )
        return [Comment(r.id, r.at, r.user, r.comment or "") for r in rows]
