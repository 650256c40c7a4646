"""Delegation (转交): the assignee hands a task to a colleague who could also do it.

Reassignment by a superior is TaskService.assign; delegation is the assignee's own move, limited
to people the task is offered to (its candidate roles or users), so work cannot leave the team it
was routed to. The hand-over is recorded in the history and the colleague is notified.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from engine import operations
from engine.errors import Forbidden, ValidationFailed
from engine.services.identity import Actor
from store.models import Role, Task, User, UserRole

if TYPE_CHECKING:
    from engine.process_engine import ProcessEngine


def delegates(session: Session, actor: Actor, task: Task) -> list[User]:
    """Active colleagues the task is offered to, other than the actor."""
    roles = [r for r in task.candidate_roles.split(",") if r]
    users = [u for u in task.candidate_users.split(",") if u]
    if not roles and not users:
        return []
    by_role = select(UserRole.user_id).join(Role, Role.id == UserRole.role_id).where(Role.name.in_(roles))
    return list(
        session.scalars(
            select(User)
            .where(User.active.is_(True), User.username != actor.username, or_(User.id.in_(by_role), User.username.in_(users)))
            .order_by(User.username)
        )
    )


def delegate(engine: ProcessEngine, actor: Actor, task_id: str, username: Any) -> Task:
    if not isinstance(username, str) or not username:
        raise ValidationFailed({"username": "is required"})
    with engine.tasks._acting_on(actor, task_id) as (session, task, instance):
        if task.assignee != actor.username:
            raise Forbidden("only the assignee may delegate this task")
        if username not in {u.username for u in delegates(session, actor, task)}:
            raise ValidationFailed({"username": "is not a colleague this task is offered to"})
        engine.tasks._set_assignee(session, actor, task, "delegate", username)
        with operations.action(engine.context(session, actor.username, instance)):
            operations.notify([username], "assigned", task.name, task_id=task.id)
        return task
