"""The process engine: one object holding the database and the services, like Camunda's."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy.orm import Session

from engine import config
from engine.authorization import Authorization
from engine.clock import utcnow
from engine.config import MailSettings, Settings
from engine.operations import ActionContext
from engine.services.admin import AdminService
from engine.services.history import HistoryService
from engine.services.identity import IdentityService
from engine.services.inbox import InboxService
from engine.services.management import JobService, JobSettings
from engine.services.migration import MigrationService
from engine.services.repository import RepositoryService
from engine.services.runtime import RuntimeService
from engine.services.tasks import TaskService
from engine.services.worklist import WorklistService
from store.db import Database
from store.models import ProcessInstance


class ProcessEngine:
    def __init__(
        self,
        db: Database,
        clock: Callable[[], datetime] = utcnow,
        mail: MailSettings | None = None,
        job_settings: JobSettings | None = None,
        settings: Settings | None = None,
    ) -> None:
        self.db = db
        self.clock = clock
        self.settings = settings or config.current()
        self.mail = mail
        self.authorization = Authorization(self)
        self.history = HistoryService(self)
        self.identity = IdentityService(self)
        self.repository = RepositoryService(self)
        self.runtime = RuntimeService(self)
        self.tasks = TaskService(self)
        self.jobs = JobService(self, job_settings)
        self.migration = MigrationService(self)
        self.admin = AdminService(self)
        self.worklist = WorklistService(self)
        self.inbox = InboxService(self)

    def context(self, session: Session, actor: str | None, instance: ProcessInstance | None = None) -> ActionContext:
        """What invoked operations and notifications of one action need to know."""
        return ActionContext(session=session, actor=actor, now=self.clock(), instance=instance, jobs=self.jobs)
