"""Jobs: fire the timers that are due. Each job runs in its own transaction under the instance lock.

Spiff decides whether a timer has fired by comparing its target with the wall clock; to fire at
a given moment (`jobs run-due --now`), the target is moved back by the difference between that
moment and the wall clock, so a timer fires exactly when `--now` has reached it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID

from SpiffWorkflow.bpmn.specs.event_definitions.timer import CycleTimerEventDefinition, TimerEventDefinition
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select

from engine.clock import utcnow
from store.models import Job

if TYPE_CHECKING:
    from engine.process_engine import ProcessEngine


def _shift(value: Any, delta: Any) -> Any:
    if isinstance(value, dict) and value.get("next"):
        return {**value, "next": (datetime.fromisoformat(value["next"]) - delta).isoformat()}
    if isinstance(value, str):
        return (datetime.fromisoformat(value) - delta).isoformat()
    return value


def run_due_jobs(engine: ProcessEngine, at: datetime | None = None) -> int:
    """Fire every pending timer job due at or before `at`; returns how many fired."""
    at = at or engine.clock()
    at = at.astimezone(UTC) if at.tzinfo else at.replace(tzinfo=UTC)
    with engine.db.sessions() as session:
        due = session.execute(
            select(Job.id, Job.instance_id)
            .where(Job.status == "pending", Job.kind == "timer", Job.due_at <= at)
            .order_by(Job.due_at, Job.id)
        ).all()
    fired = 0
    for job_id, instance_id in due:
        with engine.db.transaction() as session:
            instance = engine.runtime.lock(session, instance_id)
            job = session.get(Job, job_id)
            if job is None or job.status != "pending" or instance.status != "running":
                continue
            workflow = engine.runtime.load(session, instance)
            task = workflow.get_task_from_id(UUID(job.task_id)) if job.task_id else None
            definition = getattr(getattr(task, "task_spec", None), "event_definition", None)
            if task is None or task.state != TaskState.WAITING or not isinstance(definition, TimerEventDefinition):
                job.status = "obsolete"
                continue
            delta = at - utcnow()
            if delta.total_seconds() > 0:
                task._set_internal_data(event_value=_shift(task._get_internal_data("event_value"), delta))
            workflow.refresh_waiting_tasks()
            engine.history.record(
                session,
                None,
                "timer",
                instance_id=instance.id,
                task_id=job.task_id,
                task_key=job.element_id,
                data={"due_at": job.due_at.isoformat(), "cycle": isinstance(definition, CycleTimerEventDefinition)},
            )
            engine.runtime.advance(session, instance, workflow, None)
            fired += 1
    return fired
