"""Who receives a user task and when it is due (its worklist columns: engine.process_parts).

Candidates come from, in order: `camunda:candidateGroups` (a group `user:<name>` is that person) /
`candidateUsers`, the lane name
mapped to a role, the process initiator. `camunda:assignee` may be an expression such as
`${initiator}` or `${manager_of(initiator)}`.

Four-eyes: a task's `fourEyes` property names who may never perform it: `initiator` (the requester)
and task ids (whoever completed that task in the instance, e.g. who proposed the resolution an
approval decides). They are resolved when the task is created and kept on its row; when nobody
else holds the task's roles, it goes to their direct superiors instead, as DingTalk hands a
requester's own approval step to their superior.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from engine import calendar
from engine.bpmn import expressions
from engine.bpmn.parser import listed_property
from engine.errors import EngineError
from engine.operations import EXPRESSION_FUNCTIONS
from store.models import Role, Task, TaskCandidate, User, UserRole

FOUR_EYES = "fourEyes"
# A task's `approverFrom` property (value `initiator`): its roles go to the requester's own holder,
# the nearest superior up the requester's reporting line who holds one of them (DOMAIN.md,
# "Approvals as Chinese office staff expect them"); with none in the line, to every holder.
REPORTING_LINE = "approverFrom"
PERSON = "user:"  # a candidate group naming one person
LINE_DEPTH = 20  # a reporting line longer than this is a loop in the organisation chart


@dataclass
class Routing:
    """How a reporting-line task was routed, for its history: to whom, for which role, or to every
    holder of the roles when no superior in the line holds one."""

    roles: list[str]
    to: str | None


@dataclass
class Assignment:
    candidate_roles: list[str]
    candidate_users: list[str]
    assignee: str | None
    due_at: datetime | None
    follow_up_at: datetime | None
    priority: int


def _values(text: str | None, data: dict[str, Any]) -> list[str]:
    if not text:
        return []
    value: Any = text
    if expressions.is_expression(text):
        value = expressions.evaluate(text, data, EXPRESSION_FUNCTIONS)
    if value is None:
        return []
    items = value if isinstance(value, (list, tuple)) else str(value).split(",")
    return [str(v).strip() for v in items if str(v).strip()]


def _when(text: str | None, data: dict[str, Any], now: datetime, working: bool) -> datetime | None:
    if not text:
        return None
    value: Any = expressions.evaluate(text, data, EXPRESSION_FUNCTIONS) if expressions.is_expression(text) else text
    if isinstance(value, datetime):
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    if not isinstance(value, str) or not value.strip():
        return None
    value = value.strip()
    if value.startswith("P"):
        return calendar.add_duration(now, value, working)
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    # Stored as UTC (SQLite keeps no zone: 09:00+08:00 written as such would read back as 09:00 UTC).
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=now.tzinfo)).astimezone(UTC)


def _lane_role(session: Session, lane: str | None) -> str | None:
    if not lane:
        return None
    return session.scalar(select(Role.name).where(or_(Role.name == lane, Role.label == lane)).limit(1))


def resolve(session: Session, spiff_task: Any, initiator: str | None, now: datetime, default_priority: int = 50) -> Assignment:
    """Who gets the task and when it is due. Priority: the task's `camunda:priority` (a number or
    an expression over the data), else `default_priority` (the process package's rule)."""
    spec = spiff_task.task_spec
    ext: dict[str, Any] = getattr(spec, "extensions", None) or {}
    data = spiff_task.data
    props = ext.get("camundaProperties", {})
    working = props.get("calendar") == "working"
    try:
        roles = _values(ext.get("candidateGroups"), data)
        users = _values(ext.get("candidateUsers"), data)
        # A group written `user:<name>` is that person (a chain's added approver, 加签).
        users += [r[len(PERSON) :] for r in roles if r.startswith(PERSON)]
        roles = [r for r in roles if not r.startswith(PERSON)]
        assignees = _values(ext.get("assignee"), data)
        due = _when(ext.get("dueDate"), data, now, working)
        follow_up = _when(ext.get("followUpDate"), data, now, working)
    except (EngineError, ValueError, TypeError) as exc:
        raise EngineError(f"task '{spec.bpmn_id}': cannot resolve its assignment: {exc}") from exc
    assignee = assignees[0] if assignees else None
    if assignee is not None and session.scalar(select(User.id).where(User.username == assignee, User.active.is_(True))) is None:
        assignee = None  # an unknown or disabled user: leave the task to its candidates
    if not roles and not users:
        lane_role = _lane_role(session, getattr(spec, "lane", None))
        if lane_role:
            roles = [lane_role]
        elif assignee is None and initiator:
            users = [initiator]
    priority = _priority(ext.get("priority") or props.get("priority"), data, default_priority)
    return Assignment(roles, users, assignee, due, follow_up, max(0, min(priority, 100)))


def _priority(text: str | None, data: dict[str, Any], default: int) -> int:
    if not text:
        return default
    try:
        value = expressions.evaluate(text, data, EXPRESSION_FUNCTIONS) if expressions.is_expression(text) else text
        return int(value)
    except (EngineError, ValueError, TypeError, NameError):
        return default


def own_approver(session: Session, spiff_task: Any, who: Assignment, initiator: str | None) -> tuple[Assignment, Routing | None]:
    """A task with `approverFrom=initiator` offered by role goes to the nearest active superior of
    the initiator who holds one of its roles; the assignment unchanged, with a Routing that says
    so, when the line has none (or the task names people, or has its assignee already)."""
    props = (getattr(spiff_task.task_spec, "extensions", None) or {}).get("camundaProperties", {})
    if props.get(REPORTING_LINE) != "initiator" or not initiator or not who.candidate_roles or who.assignee or who.candidate_users:
        return who, None
    holders = set(
        session.scalars(
            select(User.id)
            .join(UserRole, UserRole.user_id == User.id)
            .join(Role, Role.id == UserRole.role_id)
            .where(Role.name.in_(who.candidate_roles), User.active.is_(True))
        )
    )
    line = select(User.superior_id).where(User.username == initiator).scalar_subquery()
    superior = session.execute(select(User.id, User.username, User.superior_id).where(User.id == line)).first()
    for _ in range(LINE_DEPTH):  # one primary-key read per level: lines are a few levels deep
        if superior is None:
            break
        if superior.id in holders:
            own = Assignment([], [superior.username], None, who.due_at, who.follow_up_at, who.priority)
            return own, Routing(who.candidate_roles, superior.username)
        superior = session.execute(select(User.id, User.username, User.superior_id).where(User.id == superior.superior_id)).first()
    return who, Routing(who.candidate_roles, None)


def four_eyes_names(spec: Any) -> list[str]:
    """The `fourEyes` property of a task spec: `initiator` and task ids, as written."""
    return listed_property(spec, FOUR_EYES)


def excluded_users(session: Session, spiff_task: Any, instance_id: int, initiator: str | None) -> list[str]:
    """Who may never perform this task (four-eyes); nobody when it names none."""
    names = four_eyes_names(spiff_task.task_spec)
    if not names:
        return []
    users = {initiator} if "initiator" in names and initiator else set()
    keys = [n for n in names if n != "initiator"]
    if keys:
        users |= set(
            session.scalars(
                select(Task.completed_by).where(
                    Task.instance_id == instance_id, Task.task_key.in_(keys), Task.status == "completed", Task.completed_by.is_not(None)
                )
            )
        )
    return sorted(u for u in users if u)


def without(session: Session, who: Assignment, excluded: list[str]) -> Assignment:
    """The assignment with the excluded people taken out; if nobody else holds the task, their
    direct superiors (not excluded themselves) receive it."""
    if not excluded:
        return who
    assignee = None if who.assignee in excluded else who.assignee
    users = [u for u in who.candidate_users if u not in excluded]
    by_role = select(UserRole.user_id).join(Role, Role.id == UserRole.role_id).where(Role.name.in_(who.candidate_roles))
    anyone = session.scalar(
        select(User.id)
        .where(User.active.is_(True), User.username.not_in(excluded), or_(User.id.in_(by_role), User.username.in_(users)))
        .limit(1)
    )
    if anyone is None and assignee is None:
        superior_ids = select(User.superior_id).where(User.username.in_(excluded))
        users += [
            u
            for u in session.scalars(select(User.username).where(User.id.in_(superior_ids), User.active.is_(True)).order_by(User.username))
            if u not in excluded and u not in users
        ]
    return Assignment(who.candidate_roles, users, assignee, who.due_at, who.follow_up_at, who.priority)


_COLUMN_LENGTH = Task.__table__.c.candidate_roles.type.length  # tasks.candidate_roles / candidate_users
_NAME_LENGTH = TaskCandidate.__table__.c.name.type.length


def candidate_text(names: list[str]) -> str:
    """A task's candidate column: the names that fit, each whole (the candidate rows keep them all),
    so that a name cut short can never match another role or user."""
    text = ""
    for name in names:
        joined = f"{text},{name}" if text else name
        if len(joined) > _COLUMN_LENGTH:
            break
        text = joined
    return text


def may_leave_out(text: str) -> bool:
    """Whether a candidate column is too full to be sure it names every candidate."""
    return len(text) + 1 + _NAME_LENGTH > _COLUMN_LENGTH
