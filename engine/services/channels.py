"""Notification channels (DOMAIN.md: WeCom, DingTalk, Feishu group robots and any webhook, besides
in-app and email): admins configure each (address, secret, which notice kinds, which roles), and
every notice that matches becomes a job (kind `channel`) in the action's own transaction, so the
action never waits for a robot, a rolled-back action sends nothing, and a failed delivery is
retried with the job runner's backoff until it becomes an incident. Formats and signatures:
engine.robots."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import mail, robots
from engine.clock import aware
from engine.errors import EngineError, NotFound, ValidationFailed
from engine.services import fields
from engine.services.identity import Actor
from store.models import Job, NotificationChannel, ProcessInstance, Role, User, UserRole

if TYPE_CHECKING:
    from engine.authorization import Authorization
    from engine.services.history import HistoryService
    from store.db import Database

JOB_KIND = "channel"
CACHE_SECONDS = 10.0  # how soon another process sees an admin's change (this one: at once)
WORD = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
DELIVERIES_SCANNED = 500  # the channel jobs read for each channel's last delivery
TEST_MESSAGE = {
    "zh_CN": "CRMFlow 测试消息：此通知渠道已配置成功。",
    "en": "CRMFlow test message: this notification channel works.",
}


@dataclass(frozen=True)
class Delivery:
    """A channel job as the admin page shows it: pending, running, done, incident or obsolete."""

    status: str
    at: datetime | None
    attempts: int
    error: str | None


def _words(data: dict[str, Any], key: str, errors: dict[str, str]) -> str:
    value = data.get(key, [])
    if isinstance(value, str):
        value = [v for v in value.split(",") if v.strip()]
    if not isinstance(value, list) or not all(isinstance(v, str) and WORD.match(v.strip()) for v in value):
        errors[key] = "must be a list of names (lower-case letters, digits, _)"
        return ""
    return ",".join(dict.fromkeys(v.strip() for v in value))


def view(channel: NotificationChannel) -> dict[str, Any]:
    """What the API shows of a channel: never its secret."""
    return {
        "id": channel.id,
        "name": channel.name,
        "kind": channel.kind,
        "url": channel.url,
        "has_secret": bool(channel.secret),
        "kinds": [k for k in channel.kinds.split(",") if k],
        "roles": [r for r in channel.roles.split(",") if r],
        "locale": channel.locale,
        "active": channel.active,
    }


def _for(job: Job, channel_created: datetime | None) -> bool:
    """Whether the job was made for the channel now holding its number: a removed channel's number
    may be given to a new one (SQLite reuses row ids), whose deliveries its jobs must not be."""
    return channel_created is not None and aware(job.created_at) >= aware(channel_created)


class ChannelService:
    def __init__(
        self,
        *,
        authorization: Authorization,
        base_url: Callable[[], str],
        clock: Callable[[], datetime],
        db: Database,
        history: HistoryService,
    ) -> None:
        self._authorization = authorization
        self._base_url = base_url
        self._clock = clock
        self._db = db
        self._history = history
        self._cache: tuple[float, list[dict[str, Any]]] | None = None

    def _active(self, session: Session) -> list[dict[str, Any]]:
        """The active channels' routing (id, kinds, roles), read at most every CACHE_SECONDS: every
        notice asks, and a statement per notice would be paid by every action."""
        now = time.monotonic()
        if self._cache is None or now - self._cache[0] > CACHE_SECONDS:
            rows = session.execute(
                select(NotificationChannel.id, NotificationChannel.kinds, NotificationChannel.roles).where(
                    NotificationChannel.active.is_(True)
                )
            ).all()
            self._cache = (
                now,
                [
                    {"id": r.id, "kinds": set(filter(None, r.kinds.split(","))), "roles": set(filter(None, r.roles.split(",")))}
                    for r in rows
                ],
            )
        return self._cache[1]

    # --- configuration (admins) -----------------------------------------------------------------

    def _values(self, data: Any, partial: bool = False) -> dict[str, Any]:
        if not isinstance(data, dict):
            raise ValidationFailed({"data": "must be an object"})
        errors: dict[str, str] = {}
        found: dict[str, Any] = {}
        if not partial or "name" in data:
            found["name"] = fields.text(data, "name", errors, required=True, limit=100)
        if not partial or "kind" in data:
            kind = data.get("kind")
            if kind not in robots.KINDS:
                errors["kind"] = "must be one of " + ", ".join(robots.KINDS)
            found["kind"] = kind
        if not partial or "url" in data:
            url = fields.text(data, "url", errors, required=True, limit=1000)
            if url and (urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).hostname):
                errors["url"] = "must be an http or https address"
            found["url"] = url
        if "secret" in data:
            found["secret"] = fields.text(data, "secret", errors, limit=200) or None
        for key in ("kinds", "roles"):
            if not partial or key in data:
                found[key] = _words(data, key, errors)
        if "locale" in data:
            locale = data.get("locale")
            if locale not in ("zh_CN", "en"):
                errors["locale"] = "must be zh_CN or en"
            found["locale"] = locale
        if "active" in data:
            if not isinstance(data["active"], bool):
                errors["active"] = "must be true or false"
            found["active"] = data["active"]
        if errors:
            raise ValidationFailed(errors)
        return found

    def get(self, session: Session, actor: Actor, channel_id: int) -> NotificationChannel:
        self._authorization.require_admin(actor, "configure notification channels")
        channel = session.get(NotificationChannel, channel_id)
        if channel is None:
            raise NotFound(f"no notification channel {channel_id}")
        return channel

    def deliveries(self, session: Session, actor: Actor, scan: int = DELIVERIES_SCANNED) -> dict[int, Delivery]:
        """Each channel's latest delivery among the last `scan` channel jobs (the admin page's
        "last sent" column): its state, when, and the error of a failed attempt."""
        self._authorization.require_admin(actor, "configure notification channels")
        since = dict(session.execute(select(NotificationChannel.id, NotificationChannel.created_at)).tuples().all())
        rows = session.scalars(select(Job).where(Job.kind == JOB_KIND).order_by(Job.id.desc()).limit(scan))
        found: dict[int, Delivery] = {}
        for job in rows:
            channel_id = (job.payload or {}).get("channel_id")
            if isinstance(channel_id, int) and channel_id not in found and _for(job, since.get(channel_id)):
                found[channel_id] = Delivery(job.status, job.fired_at or job.run_at, job.attempts, job.last_error)
        return found

    def send_test(self, actor: Actor, channel_id: int) -> None:
        """A test notice to this one channel (even switched off: it is sent only if switched on when
        the job runs), through the job runner like any other, so its delivery shows as the last."""
        self._authorization.require_admin(actor, "configure notification channels")
        with self._db.transaction() as session:
            channel = session.get(NotificationChannel, channel_id)
            if channel is None:
                raise NotFound(f"no notification channel {channel_id}")
            now = self._clock()
            message = TEST_MESSAGE[channel.locale if channel.locale in TEST_MESSAGE else "zh_CN"]
            session.add(self._job(channel.id, "info", message, f"{self._base_url()}/notifications", [actor.username], None, None, now))
            self._history.record(session, actor.username, "admin.channel.test", data={"name": channel.name})

    def list(self, session: Session, actor: Actor) -> list[NotificationChannel]:
        self._authorization.require_admin(actor, "configure notification channels")
        return list(session.scalars(select(NotificationChannel).order_by(NotificationChannel.id)))

    def create(self, actor: Actor, data: Any) -> NotificationChannel:
        self._authorization.require_admin(actor, "configure notification channels")
        values = self._values(data)
        with self._db.transaction() as session:
            channel = NotificationChannel(**values, created_at=self._clock())
            session.add(channel)
            session.flush()
            self._cache = None
            self._history.record(session, actor.username, "admin.channel.create", data={"name": channel.name, "kind": channel.kind})
            session.expunge(channel)
            return channel

    def update(self, actor: Actor, channel_id: int, data: Any) -> NotificationChannel:
        self._authorization.require_admin(actor, "configure notification channels")
        values = self._values(data, partial=True)
        with self._db.transaction() as session:
            channel = session.get(NotificationChannel, channel_id, with_for_update=True)
            if channel is None:
                raise NotFound(f"no notification channel {channel_id}")
            for key, value in values.items():
                setattr(channel, key, value)
            changed = sorted(values)
            self._cache = None
            self._history.record(session, actor.username, "admin.channel.update", data={"name": channel.name, "changed": changed})
            session.flush()
            session.expunge(channel)
            return channel

    def delete(self, actor: Actor, channel_id: int) -> None:
        self._authorization.require_admin(actor, "configure notification channels")
        with self._db.transaction() as session:
            channel = session.get(NotificationChannel, channel_id, with_for_update=True)
            if channel is None:
                raise NotFound(f"no notification channel {channel_id}")
            self._cache = None
            self._history.record(session, actor.username, "admin.channel.delete", data={"name": channel.name})
            session.delete(channel)

    # --- sending ----------------------------------------------------------------------------------

    def enqueue(
        self,
        session: Session,
        usernames: list[str],
        kind: str,
        message: str,
        instance: ProcessInstance | None,
        task_id: str | None,
        now: datetime,
    ) -> None:
        """One job per active channel taking this kind of notice for one of these people's roles."""
        wanted = [c for c in self._active(session) if not c["kinds"] or kind in c["kinds"]]
        if not wanted:
            return
        roles: set[str] = set()
        if any(c["roles"] for c in wanted):
            roles = set(
                session.scalars(
                    select(Role.name)
                    .join(UserRole, UserRole.role_id == Role.id)
                    .join(User, User.id == UserRole.user_id)
                    .where(User.username.in_(usernames))
                )
            )
        base = self._base_url()
        link = f"{base}/tasks/{task_id}" if task_id else (f"{base}/instances/{instance.id}" if instance else f"{base}/notifications")
        for channel in wanted:
            if channel["roles"] and not roles & channel["roles"]:
                continue
            session.add(self._job(channel["id"], kind, message, link, usernames, instance, task_id, now))

    @staticmethod
    def _job(
        channel_id: int,
        kind: str,
        message: str,
        link: str,
        usernames: list[str],
        instance: ProcessInstance | None,
        task_id: str | None,
        now: datetime,
    ) -> Job:
        return Job(
            kind=JOB_KIND,
            instance_id=None,
            task_id=task_id,
            due_at=now,
            run_at=now,
            payload={
                "channel_id": channel_id,
                "kind": kind,
                "message": message,
                "link": link,
                "recipients": usernames,
                "process": instance.process_key if instance else None,
                "instance_id": instance.id if instance else None,
            },
            created_at=now,
        )

    def run_job(self, session: Session, job: Job, at: datetime) -> str:
        """The job runner's handler: send, or raise so that it retries."""
        payload = job.payload or {}
        channel = session.get(NotificationChannel, payload.get("channel_id"))
        if channel is None or not channel.active or not _for(job, channel.created_at):
            return "obsolete"  # removed or switched off meanwhile (its number perhaps another channel's since)
        message = str(payload.get("message") or "")
        subject, _body = mail.render(
            str(payload.get("kind") or "info"),
            channel.locale,
            name=message.splitlines()[0][:80] if message else "-",
            message=message,
            display_name="",
            process=payload.get("process") or "-",
            instance_id=payload.get("instance_id") or "-",
            link=payload.get("link") or "",
        )
        notice = robots.Notice(
            kind=str(payload.get("kind") or "info"),
            title=subject,
            text=message,
            link=str(payload.get("link") or ""),
            delivery=f"crmflow-{job.id}",
            extra={"recipients": payload.get("recipients") or [], "instance_id": payload.get("instance_id"), "task_id": job.task_id},
        )
        request = robots.build(channel.kind, channel.url, channel.secret, notice, int(time.time() * 1000))
        try:
            robots.send(request)
        except robots.DeliveryFailed as exc:
            raise EngineError(f"channel '{channel.name}': {exc}") from None
        return "fired"
