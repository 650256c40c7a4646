"""Worklist counts from the small open-task tables instead of `tasks` itself.

Counting a scope over `tasks` visits one heap page per open task in it (thousands at 1M rows, and
index-only scans do not help: the pages of open tasks are the ones that change). The database keeps
two tables that hold open tasks only (migration 0006's triggers): `task_candidates` (with
`claimed`) and `task_assignments`. Unfiltered counts of 'available', 'mine' and 'team' read those;
anything filtered by task columns is counted over `tasks` by the caller.
"""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import ColumnElement, and_, exists, func, or_, select
from sqlalchemy.orm import Session, aliased

from engine.identity import Actor
from store.models import TaskAssignment, TaskCandidate


def candidate_clause(actor: Actor) -> ColumnElement[bool]:
    """Candidate rows offering a task to this actor, by one of their roles or by name."""
    return or_(
        and_(TaskCandidate.kind == "role", TaskCandidate.name.in_(sorted(actor.roles))),
        and_(TaskCandidate.kind == "user", TaskCandidate.name == actor.username),
    )


def available_count(session: Session, actor: Actor) -> int:
    """Open unclaimed tasks offered to the actor, each once although it may name several of the
    actor's roles and the actor too.

    One statement summing a count per candidate key, each key skipping the tasks an earlier key
    already counted: every part reads one range of ix_task_candidates_unclaimed, and the overlap
    checks (primary-key probes) only run for the second and later keys, usually the user's own few
    rows. A COUNT(DISTINCT task_id) over all keys would sort or hash every row instead, which
    costs as much again as reading them.
    """
    keys = [("role", role) for role in sorted(actor.roles)] + [("user", actor.username)]
    parts = []
    for i, (kind, name) in enumerate(keys):
        row = aliased(TaskCandidate)
        where = [~row.claimed, row.kind == kind, row.name == name]
        if i:
            seen = aliased(TaskCandidate)
            earlier = or_(*(and_(seen.kind == k, seen.name == n) for k, n in keys[:i]))
            where.append(~exists().where(seen.task_id == row.task_id, ~seen.claimed, earlier))
        parts.append(select(func.count()).select_from(row).where(*where).scalar_subquery())
    return session.scalar(select(sum(parts[1:], parts[0]))) or 0


def assigned_count(session: Session, assignees: Collection[str]) -> int:
    """Open tasks claimed by any of these users."""
    if not assignees:
        return 0
    names = sorted(assignees)
    where = TaskAssignment.assignee == names[0] if len(names) == 1 else TaskAssignment.assignee.in_(names)
    return session.scalar(select(func.count()).select_from(TaskAssignment).where(where)) or 0
