"""Drive processes through the engine services the way users do, task by task."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import select

from engine.identity import Actor
from engine.process_engine import ProcessEngine
from store.models import HistoryEvent, Notification, ProcessInstance, Task


class Flow:
    def __init__(self, engine: ProcessEngine, actors: Callable[[str], Actor]) -> None:
        self.engine = engine
        self.actor = actors

    def start(self, username: str, key: str, data: dict[str, Any], business_key: str | None = None) -> ProcessInstance:
        return self.engine.runtime.start(self.actor(username), key, data, business_key)

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
        return self.engine.tasks.complete(self.actor(username), self.task(instance_id, task_key).id, data)

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
