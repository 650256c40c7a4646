"""Worklist counts from the small open-task tables instead of `tasks` itself.

Counting a scope over `tasks` visits one heap page per open task in it (thousands at 1M rows, and
index-only scans do not help: the pages of open tasks are the ones that change). The database keeps
two tables that hold open tasks only (migration 0006's triggers): `task_candidates` (with
`claimed`) and `task_assignments`. Unfiltered counts of 'available', 'mine' and 'team' read those,
and so does the unfiltered 'available' page (available_page); anything filtered by task columns is
counted and paged over `tasks` by the caller.
"""

from __future__ import annotations

import functools
from collections.abc import Collection
from typing import Any

from sqlalchemy import ColumnElement, Integer, Select, and_, bindparam, exists, func, literal, or_, select, union
from sqlalchemy.orm import Session

from engine.services.identity import Actor
from store.models import Task, TaskAssignment, TaskCandidate


def candidate_clause(actor: Actor) -> ColumnElement[bool]:
    """Candidate rows offering a task to this actor, by one of their roles or by name."""
    return or_(
        and_(TaskCandidate.kind == "role", TaskCandidate.name.in_(sorted(actor.roles))),
        and_(TaskCandidate.kind == "user", TaskCandidate.name == actor.username),
    )


def candidate_keys(actor: Actor) -> list[tuple[str, str]]:
    """The (kind, name) candidate keys that offer a task to this actor."""
    return [("role", role) for role in sorted(actor.roles)] + [("user", actor.username)]


def _worklist_order(due_at: Any, priority: Any, created_at: Any, task_id: Any) -> list[Any]:
    """The worklist order (ix_task_candidates_unclaimed_order; engine.tasks.TaskService.query)."""
    return [due_at.is_(None), due_at, priority.desc(), created_at, task_id]


def _key_params(actor: Actor) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for i, (kind, name) in enumerate(candidate_keys(actor)):
        params[f"kind{i}"], params[f"name{i}"] = kind, name
    return params


def _key_match(row: Any, i: int) -> ColumnElement[bool]:
    return and_(row.c.kind == bindparam(f"kind{i}"), row.c.name == bindparam(f"name{i}"))


# The statements below depend only on how many candidate keys the actor has, so they are built once
# per count (with bound parameters) and reuse SQLAlchemy's compiled cache: building them per call
# costs more than running them.


@functools.cache
def _available_page_statement(keys: int) -> Select[tuple[Task]]:
    candidates = TaskCandidate.__table__
    parts = []
    for i in range(keys):
        row = candidates.alias(f"key{i}")
        first = (
            select(row.c.task_id, row.c.due_at, row.c.priority, row.c.created_at)
            .where(~row.c.claimed, _key_match(row, i))
            .order_by(*_worklist_order(row.c.due_at, row.c.priority, row.c.created_at, row.c.task_id))
            .limit(bindparam("wanted", type_=Integer))
            .subquery(f"first{i}")
        )
        parts.append(select(*first.c))
    merged = (parts[0] if keys == 1 else union(*parts)).subquery("merged")
    m = merged.c
    page = (
        select(*m)
        .order_by(*_worklist_order(m.due_at, m.priority, m.created_at, m.task_id))
        .limit(bindparam("limit", type_=Integer))
        .offset(bindparam("offset", type_=Integer))
        .subquery("page")
    )
    p = page.c
    return (
        select(Task)
        .join(page, Task.id == p.task_id)
        .where(Task.status == "open", Task.assignee.is_(None))
        .order_by(*_worklist_order(p.due_at, p.priority, p.created_at, p.task_id))
    )


def available_page(session: Session, actor: Actor, limit: int, offset: int = 0) -> list[Task]:
    """A page of 'available' (open, unclaimed, offered to the actor) in worklist order.

    Walking the tasks in worklist order and keeping those offered to the actor reads most of the
    open tasks when the actor's roles match few of them; joining all their candidates and sorting
    does too. Instead each of the actor's candidate keys reads its first offset+limit entries of
    ix_task_candidates_unclaimed_order (which holds the task's order columns), those are merged
    (UNION drops a task offered by two keys: its rows are equal), and only the page's tasks are
    read, by primary key. Any task in the first N of the merge is in the first N of each key
    offering it, since every entry before it there is a distinct, earlier task.
    """
    limit, offset = max(0, limit), max(0, offset)
    if not limit:
        return []
    params = _key_params(actor)
    stmt = _available_page_statement(len(params) // 2)
    return list(session.scalars(stmt, {**params, "wanted": offset + limit, "limit": limit, "offset": offset}))


@functools.cache
def _held_page_statement(people: int) -> Select[tuple[Task]]:
    parts = []
    for i in range(people):
        row = Task.__table__.alias(f"held{i}")
        parts.append(
            select(row.c.id)
            .where(row.c.status == "open", row.c.assignee == bindparam(f"person{i}"))
            .order_by(*_worklist_order(row.c.due_at, row.c.priority, row.c.created_at, row.c.id))
            .limit(bindparam("wanted", type_=Integer))
            .subquery(f"first{i}")
        )
    merged = union(*(select(p.c.id) for p in parts)).subquery("merged") if people > 1 else parts[0]
    return (
        select(Task)
        .where(Task.id.in_(select(merged.c.id)))
        .order_by(*_worklist_order(Task.due_at, Task.priority, Task.created_at, Task.id))
        .limit(bindparam("limit", type_=Integer))
        .offset(bindparam("offset", type_=Integer))
    )


def held_page(session: Session, people: Collection[str], limit: int, offset: int = 0) -> list[Task]:
    """A page of the open tasks these people hold, in worklist order (a supervisor's team tab).

    All of them filtered by assignee and sorted is a sort of every held task (41k for a gm whom
    the whole company reports to: 210 ms); instead each person's first offset+limit tasks come
    from ix_tasks_open_assignee_order (already in that order), and only those are merged: any
    task in the first N of all is in the first N of its holder's.
    """
    names = sorted(people)
    limit, offset = max(0, limit), max(0, offset)
    if not names or not limit:
        return []
    params: dict[str, Any] = {f"person{i}": name for i, name in enumerate(names)}
    stmt = _held_page_statement(len(names))
    return list(session.scalars(stmt, {**params, "wanted": offset + limit, "limit": limit, "offset": offset}))


@functools.cache
def _available_count_statement(keys: int) -> Select[tuple[int]]:
    candidates = TaskCandidate.__table__
    parts = []
    for i in range(keys):
        row = candidates.alias(f"key{i}")
        where = [~row.c.claimed, _key_match(row, i)]
        if i:
            seen = candidates.alias(f"seen{i}")
            earlier = or_(*(_key_match(seen, j) for j in range(i)))
            where.append(~exists().where(seen.c.task_id == row.c.task_id, ~seen.c.claimed, earlier))
        parts.append(select(func.count()).select_from(row).where(*where).scalar_subquery())
    return select(sum(parts[1:], parts[0]))


def available_count_of(actor: Actor) -> ColumnElement[int]:
    """How many open unclaimed tasks are offered to the actor, each once although it may name
    several of the actor's roles and the actor too: an expression, selected with the other counts
    in one statement (TaskService.scope_count_of).

    One sum of a count per candidate key, each key skipping the tasks an earlier key already
    counted: every part reads one range of ix_task_candidates_unclaimed_order, and the overlap
    checks (primary-key probes) only run for the second and later keys, usually the user's own few
    rows. A COUNT(DISTINCT task_id) over all keys would sort or hash every row instead, which costs
    as much again as reading them.
    """
    params = _key_params(actor)
    return _available_count_statement(len(params) // 2).params(params).scalar_subquery()


def assigned_count_of(assignees: Collection[str]) -> ColumnElement[int]:
    """How many open tasks any of these users holds, as an expression (a constant 0 for nobody)."""
    if not assignees:
        return literal(0)
    names = sorted(assignees)
    where = TaskAssignment.assignee == names[0] if len(names) == 1 else TaskAssignment.assignee.in_(names)
    return select(func.count()).select_from(TaskAssignment).where(where).scalar_subquery()
