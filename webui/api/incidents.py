"""Incidents: jobs that failed every attempt. Admins list them and retry them."""

from __future__ import annotations

from typing import Any

from flask.typing import ResponseReturnValue

from engine.clock import iso
from store.models import Job
from webui.api import actor, bp, engine


def incident_view(job: Job) -> dict[str, Any]:
    return {
        "id": job.id,
        "kind": job.kind,
        "status": job.status,
        "instance_id": job.instance_id,
        "task_id": job.task_id,
        "element_id": job.element_id,
        "due_at": iso(job.due_at),
        "attempts": job.attempts,
        "last_error": job.last_error,
    }


@bp.get("/incidents")
def list_incidents() -> ResponseReturnValue:
    eng = engine()
    with eng.db.sessions() as session:
        return {"items": [incident_view(j) for j in eng.jobs.incidents(session, actor())]}


@bp.post("/incidents/<int(min=1, max=2147483647):job_id>/retry")
def retry_incident(job_id: int) -> ResponseReturnValue:
    return incident_view(engine().jobs.retry(actor(), job_id))
