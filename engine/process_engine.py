"""The process engine: one object holding the database and the services, like Camunda's."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from engine.clock import utcnow
from engine.definitions import RepositoryService
from engine.history import HistoryService
from engine.identity import IdentityService
from engine.runtime import RuntimeService
from engine.tasks import TaskService
from store.db import Database


class ProcessEngine:
    def __init__(self, db: Database, clock: Callable[[], datetime] = utcnow) -> None:
        self.db = db
        self.clock = clock
        self.history = HistoryService(self)
        self.identity = IdentityService(self)
        self.repository = RepositoryService(self)
        self.runtime = RuntimeService(self)
        self.tasks = TaskService(self)
