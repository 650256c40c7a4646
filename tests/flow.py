"""Drive processes through the engine services the way users do, task by task."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import select

from engine.bpmn.wait_state import WaitState
from engine.process_engine import ProcessEngine
from engine.services.identity import Actor
from store.models import HistoryEvent, Job, Notification, ProcessInstance, Task


class Flow:
    def __init__(self, engine: ProcessEngine, actors: Callable[[str], Actor]) -> None:
        self.engine = engine
        self.actor = actors

    def start(self, username: str, key: str, data: dict[str, Any], business_key: str | None = None) -> ProcessInstance:
        instance = self.engine.runtime.start(self.actor(username), key, data, business_key)
        self.assert_rows_mirror_workflow(instance.id)
        return instance

    def assert_rows_mirror_workflow(self, instance_id: int) -> None:
        """The invariant actions rely on instead of reading rows back (engine.wait_state): the open
        task rows are the workflow's ready user tasks, the live timer jobs its waiting timers."""
        with self.engine.db.sessions() as session:
            instance = session.get(ProcessInstance, instance_id)
            assert instance is not None
            expected = WaitState.of(self.engine.runtime.load(session, instance))
            open_rows = set(session.scalars(select(Task.id).where(Task.instance_id == instance_id, Task.status == "open")))
            timer_jobs = set(
                session.scalars(
                    select(Job.task_id).where(Job.instance_id == instance_id, Job.kind == "timer", Job.status.in_(("pending", "running")))
                )
            )
        assert open_rows == expected.open_tasks
        assert timer_jobs <= expected.timers  # a timer without a due date (none here) has no job
        assert len(timer_jobs) == len(expected.timers) or instance.status != "running"

    def open_tasks(self, instance_id: int) -> list[Task]:
        with self.engine.db.sessions() as session:
            return list(
                session.scalars(select(Task).where(Task.instance_id == instance_id, Task.status == "open").order_by(Task.created_at))
            )

    def task(self, instance_id: int, task_key: str) -> Task:
        tasks = [t for t in self.open_tasks(instance_id) if t.task_key == task_key]
        assert tasks, f"no open {task_key} in instance {instance_id}: {[t.task_key for t in self.open_tasks(instance_id)]}"
        assert len(tasks) == 1
        return tasks[0]

    def task_keys(self, instance_id: int) -> list[str]:
        return [t.task_key for t in self.open_tasks(instance_id)]

    def complete(self, username: str, instance_id: int, task_key: str, data: dict[str, Any]) -> ProcessInstance:
        instance = self.engine.tasks.complete(self.actor(username), self.task(instance_id, task_key).id, data)
        self.assert_rows_mirror_workflow(instance_id)
        return instance

    def instance(self, instance_id: int) -> ProcessInstance:
        with self.engine.db.sessions() as session:
            instance = session.get(ProcessInstance, instance_id)
            assert instance is not None
            return instance

    def available_ids(self, username: str, instance_id: int) -> set[str]:
        with self.engine.db.sessions() as session:
            rows, _ = self.engine.tasks.query(session, self.actor(username), "available", instance_id=instance_id)
        return {t.id for t in rows}

    def mine_ids(self, username: str, instance_id: int) -> set[str]:
        with self.engine.db.sessions() as session:
            rows, _ = self.engine.tasks.query(session, self.actor(username), "mine", instance_id=instance_id)
        return {t.id for t in rows}

    def history(self, instance_id: int) -> list[HistoryEvent]:
        with self.engine.db.sessions() as session:
            return self.engine.history.for_instance(session, instance_id)

    def notifications(self, instance_id: int) -> list[Notification]:
        with self.engine.db.sessions() as session:
            return list(session.scalars(select(Notification).where(Notification.instance_id == instance_id).order_by(Notification.id)))
