"""The JSON shapes of the API's objects (docs/api.md): definitions, tasks, history lines, instances,
built from rows without a query per item."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from engine.clock import iso
from store.models import ProcessDefinition, ProcessInstance
from webui.extensions import engine


def definition_view(d: ProcessDefinition) -> dict[str, Any]:
    return {
        "id": d.id,
        "key": d.key,
        "name": d.name,
        "version": d.version,
        "deployed_at": iso(d.deployed_at),
        "deployed_by": d.deployed_by,
    }


def task_view(t: Any) -> dict[str, Any]:
    """A task row (ORM object or plain row) as the API shows it."""
    return {
        "id": t.id,
        "task_key": t.task_key,
        "name": t.name,
        "process_key": t.process_key,
        "instance_id": t.instance_id,
        "status": t.status,
        "suspended": bool(t.suspended),
        "assignee": t.assignee,
        "candidate_roles": [r for r in t.candidate_roles.split(",") if r],
        "candidate_users": [u for u in t.candidate_users.split(",") if u],
        "excluded_users": [u for u in t.excluded_users.split(",") if u],
        "created_at": iso(t.created_at),
        "claimed_at": iso(t.claimed_at),
        "completed_at": iso(t.completed_at),
        "completed_by": t.completed_by,
        "due_at": iso(t.due_at),
        "follow_up_at": iso(t.follow_up_at),
        "priority": t.priority,
        "business_key": t.business_key,
        "customer": t.customer,
        "title": t.title,
        "amount": float(t.amount) if t.amount is not None else None,
    }


def history_view(e: Any) -> dict[str, Any]:
    return {
        "at": iso(e.at),
        "user": e.user,
        "on_behalf_of": e.on_behalf_of,
        "action": e.action,
        "task_key": e.task_key,
        "task_id": e.task_id,
        "comment": e.comment,
        "data": e.data,
    }


def instance_view(session: Session, i: ProcessInstance, full: bool = True) -> dict[str, Any]:
    view: dict[str, Any] = {
        "id": i.id,
        "process_key": i.process_key,
        "definition_id": i.definition_id,
        "version": engine().repository.version_of(session, i.definition_id),
        "status": i.status,
        "business_key": i.business_key,
        "started_by": i.started_by,
        "started_at": iso(i.started_at),
        "ended_at": iso(i.ended_at),
        "data": i.data,
    }
    if full:
        session.flush()  # inside an action (TaskService.complete_then): its own changes first
        eng = engine()
        tasks = eng.runtime.open_task_rows(session, i.id)  # plain rows: the shapes only read attributes
        history = eng.history.rows_for_instance(session, i.id)
        view["tasks"] = [task_view(t) for t in tasks]
        view["history"] = [history_view(e) for e in history]
    return view
