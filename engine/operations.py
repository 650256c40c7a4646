"""Invoked applications (WfMC interface 3): the registry of Python operations that service tasks
call by topic, the organisation helpers they share, and notifications (`crm.notify`).

Operations run inside the action's transaction, so what they write commits or rolls back with
the engine step that called them. They read the current action from a context variable. A
process's own operations live in its package (`processes/<key>/operations.py`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import config
from engine.bpmn import scripting
from engine.errors import EngineError, NotFound
from store.models import Notification, ProcessInstance, Role, Substitute, Task, TaskEscalation, User, UserRole


@dataclass
class ActionContext:
    session: Session
    actor: str | None
    now: datetime
    instance: ProcessInstance | None = None
    jobs: Any = None  # engine.jobs.JobService: queues the email that goes with a notification
    notifications: list[Notification] = field(default_factory=list)


_ACTION: ContextVar[ActionContext | None] = ContextVar("crmflow_action", default=None)


@contextmanager
def action(ctx: ActionContext) -> Iterator[ActionContext]:
    token = _ACTION.set(ctx)
    try:
        yield ctx
    finally:
        _ACTION.reset(token)


def current() -> ActionContext:
    ctx = _ACTION.get()
    if ctx is None:
        raise EngineError("no action in progress")
    return ctx


Operation = Callable[[dict[str, Any], dict[str, Any]], dict[str, Any] | None]
OPERATIONS: dict[str, Operation] = {}


def operation(name: str) -> Callable[[Operation], Operation]:
    def register(fn: Operation) -> Operation:
        OPERATIONS[name] = fn
        return fn

    return register


def invoke(name: str, data: dict[str, Any], params: dict[str, Any]) -> dict[str, Any] | None:
    fn = OPERATIONS.get(name)
    if fn is None:
        raise NotFound(f"no operation is registered for topic '{name}'")
    return fn(data, params)


# --- organisation helpers (also offered to expressions) ------------------------------------


def superior_of(session: Session, username: str | None) -> str | None:
    if not username:
        return None
    user = session.scalar(select(User).where(User.username == username))
    if user is None or user.superior_id is None:
        return None
    return session.scalar(select(User.username).where(User.id == user.superior_id))


def users_with_role(session: Session, role: str) -> list[str]:
    return list(
        session.scalars(
            select(User.username)
            .join(UserRole, UserRole.user_id == User.id)
            .join(Role, Role.id == UserRole.role_id)
            .where(Role.name == role, User.active.is_(True))
            .order_by(User.username)
        )
    )


def manager_of(username: str) -> str | None:
    """Expression function: the user's direct superior."""
    return superior_of(current().session, username)


def completed_by(task_key: str) -> str | None:
    """Expression function: who last completed the step `task_key` of this instance, so that a
    case stays with the person handling it (`camunda:assignee="${completed_by('analyze_cause')}"`;
    an inactive user is passed over and the step goes to its candidates)."""
    ctx = current()
    if ctx.instance is None or not isinstance(task_key, str):
        return None
    return ctx.session.scalar(
        select(Task.completed_by)
        .where(Task.instance_id == ctx.instance.id, Task.task_key == task_key, Task.status == "completed")
        .order_by(Task.completed_at.desc())
        .limit(1)
    )


EXPRESSION_FUNCTIONS: dict[str, Any] = {"manager_of": manager_of, "completed_by": completed_by}
scripting.offer(EXPRESSION_FUNCTIONS, invoke)


# --- notifications -------------------------------------------------------------------------


def _recipients(session: Session, instance: ProcessInstance | None, to: str) -> list[str]:
    kind, _, arg = to.partition(":")
    if kind == "initiator":
        return [instance.started_by] if instance and instance.started_by else []
    if kind == "user":
        return [arg]
    if kind == "role":
        return users_with_role(session, arg)
    if kind == "manager_of_role":
        return sorted({m for u in users_with_role(session, arg) if (m := superior_of(session, u))})
    if kind in ("assignee_of", "manager_of_assignee") and instance is not None:
        # Every open task of the step (a countersign has one per signer); an unclaimed task is its
        # candidates' to do: remind them, alert their superiors.
        tasks = session.scalars(select(Task).where(Task.instance_id == instance.id, Task.task_key == arg, Task.status == "open"))
        people = sorted({p for task in tasks for p in ([task.assignee] if task.assignee else candidates(session, task))})
        if kind == "assignee_of":
            return people
        return sorted({m for p in people if (m := superior_of(session, p))})
    raise EngineError(f"unknown notification recipient '{to}'")


def candidates(session: Session, task: Task) -> list[str]:
    users = [u for u in task.candidate_users.split(",") if u]
    for role in (r for r in task.candidate_roles.split(",") if r):
        users.extend(users_with_role(session, role))
    return sorted(set(users))


def notify(usernames: list[str], kind: str, message: str, task_id: str | None = None) -> None:
    """In-app notifications, email through the outbox when mail is configured, and the admins'
    notification channels (engine.services.channels). Whoever is out
    of office today is told as usual, and their substitute too ("for <name>: ...")."""
    ctx = current()
    usernames = list(dict.fromkeys(u for u in usernames if u))
    if not usernames:
        return
    messages = {u: message for u in usernames}
    for substitute, absent in _substitutes(ctx.session, usernames, ctx.now).items():
        if substitute not in messages:
            messages[substitute] = f"（代{'、'.join(absent)}）{message}"
    if ctx.jobs is not None:  # the group robots and webhooks: once per notice, for all it tells
        ctx.jobs.enqueue_channels(ctx.session, list(messages), kind, message, ctx.instance, task_id, ctx.now)
    for text in dict.fromkeys(messages.values()):
        people = [u for u, m in messages.items() if m == text]
        if ctx.jobs is not None:
            ctx.jobs.enqueue_email(ctx.session, people, kind, text, ctx.instance, task_id, ctx.now)
        for username in people:
            note = Notification(
                username=username,
                at=ctx.now,
                kind=kind,
                message=text,
                instance_id=ctx.instance.id if ctx.instance else None,
                task_id=task_id,
            )
            ctx.session.add(note)
            ctx.notifications.append(note)


def _substitutes(session: Session, usernames: list[str], now: datetime) -> dict[str, list[str]]:
    """Who stands in today for which of these people (engine.services.substitutes): substitute ->
    the absent people's names."""
    today = now.astimezone(config.current().timezone).date()
    rows = session.execute(
        select(Substitute.substitute, User.display_name, User.username)
        .join(User, User.username == Substitute.username)
        .where(Substitute.username.in_(usernames), Substitute.starts_on <= today, Substitute.ends_on >= today, User.active.is_(True))
        .order_by(Substitute.username)
    )
    found: dict[str, list[str]] = {}
    for substitute, display_name, username in rows:
        found.setdefault(substitute, []).append(display_name or username)
    return found


class _Missing(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


@operation("crm.notify")
def op_notify(data: dict[str, Any], params: dict[str, Any]) -> None:
    ctx = current()
    kind = str(params.get("kind") or "info")
    message = str(params.get("message") or kind).format_map(_Missing({k: v for k, v in data.items() if isinstance(v, (str, int, float))}))
    recipients = _recipients(ctx.session, ctx.instance, str(params.get("to") or "initiator"))
    about, event = _deadline_tasks(ctx)
    notify(recipients, kind, message, about[0].id if about else None)
    if kind == "escalation":
        for task in about:
            escalate(ctx, task, recipients, message, event=event)


def _deadline_tasks(ctx: ActionContext) -> tuple[list[Task], str | None]:
    """The open tasks whose deadline (a boundary timer) led to this notification (one, or a
    countersign's still to decide), and that boundary event's id; ([], None) off a deadline's path."""
    origin = scripting.boundary_origin()
    if origin is None or ctx.instance is None:
        return [], None
    with ctx.session.no_autoflush:  # the action's own changes go out at commit (engine.runtime.advance)
        found = [ctx.session.get(Task, task_id) for task_id in origin[0]]
    tasks = [t for t in found if t is not None and t.status == "open" and t.instance_id == ctx.instance.id]
    return tasks, origin[1] if tasks else None


def escalate(ctx: ActionContext, task: Task, usernames: list[str], reason: str, event: str | None = None) -> None:
    """Record that `usernames` were told to chase `task`: it shows in their team view with the
    reason (engine.services.tasks scope 'team') until it closes; a repeated escalation updates it."""
    for username in dict.fromkeys(u for u in usernames if u):
        with ctx.session.no_autoflush:
            row = ctx.session.get(TaskEscalation, (task.id, username))
        if row is None:
            ctx.session.add(TaskEscalation(task_id=task.id, username=username, at=ctx.now, reason=reason, event=event or None))
        else:
            row.at, row.reason, row.event = ctx.now, reason, event or None
