"""The user's inbox for the web UI: notifications (unread count, pages, marking read) and the
interface language, which is a per-user preference kept on the user row."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from engine.errors import NotFound, ValidationFailed
from engine.services.worklist import Page
from store.models import Notification, Task, User

if TYPE_CHECKING:
    from store.db import Database


class InboxService:
    def __init__(self, *, db: Database) -> None:
        self._db = db

    def unread(self, session: Session, username: str) -> int:
        return session.scalar(select(func.count()).where(Notification.username == username, Notification.read.is_(False))) or 0

    def notifications(self, session: Session, username: str, unread_only: bool = False, page: int = 1, per_page: int = 30) -> Page:
        stmt = select(Notification).where(Notification.username == username)
        if unread_only:
            stmt = stmt.where(Notification.read.is_(False))
        total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
        page = max(1, min(page, max(1, math.ceil(total / per_page))))
        rows = session.scalars(stmt.order_by(Notification.id.desc()).limit(per_page).offset((page - 1) * per_page))
        return Page(list(rows), total, page, per_page)

    def latest(self, session: Session, username: str, limit: int) -> list[Notification]:
        """A user's newest notifications, newest first (the API's list)."""
        stmt = select(Notification).where(Notification.username == username).order_by(Notification.id.desc()).limit(limit)
        return list(session.scalars(stmt))

    def get(self, session: Session, username: str, notification_id: int) -> Notification:
        note = session.get(Notification, notification_id)
        if note is None or note.username != username:
            raise NotFound(f"no notification {notification_id}")
        return note

    def task_keys(self, session: Session, notes: list[Notification]) -> dict[str, str]:
        """task id -> BPMN task key for the notifications about a task (to name it in any language)."""
        ids = sorted({n.task_id for n in notes if n.task_id})
        if not ids:
            return {}
        return {row.id: row.task_key for row in session.execute(select(Task.id, Task.task_key).where(Task.id.in_(ids)))}

    def mark_read(self, username: str, notification_id: int | None = None) -> int:
        """Mark one notification (or, without an id, all of them) read; returns how many changed."""
        with self._db.transaction() as session:
            stmt = update(Notification).where(Notification.username == username, Notification.read.is_(False))
            if notification_id is not None:
                if session.scalar(select(Notification.username).where(Notification.id == notification_id)) != username:
                    raise NotFound(f"no notification {notification_id}")
                stmt = stmt.where(Notification.id == notification_id)
            return session.execute(stmt.values(read=True)).rowcount  # type: ignore[attr-defined,no-any-return]

    def set_locale(self, username: str, locale: str, supported: tuple[str, ...]) -> None:
        if locale not in supported:
            raise ValidationFailed({"locale": f"must be one of {', '.join(supported)}"})
        with self._db.transaction() as session:
            session.execute(update(User).where(User.username == username).values(locale=locale))
