"""The process engine: one object holding the database and the services, like Camunda's."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from engine import calendar, config
from engine.authorization import Authorization
from engine.bpmn import sandbox
from engine.clock import utcnow
from engine.config import MailSettings, Settings
from engine.operations import ActionContext
from engine.services.activities import REMINDER_KIND, ActivityService
from engine.services.admin import AdminService
from engine.services.attachments import AttachmentService
from engine.services.budgets import BudgetService
from engine.services.bulk_operations import BulkOperationService
from engine.services.calendar_years import CalendarYearService
from engine.services.chain_steps import ChainStepService
from engine.services.channels import JOB_KIND as CHANNEL_JOB
from engine.services.channels import ChannelService
from engine.services.comments import CommentService
from engine.services.customer_merge import CustomerMergeService
from engine.services.customers import CustomerService
from engine.services.handover import HandoverService
from engine.services.history import HistoryService
from engine.services.history_cleanup import CLEANUP_KIND, HistoryCleanupService
from engine.services.identity import IdentityService
from engine.services.imports import ImportService
from engine.services.inbox import InboxService
from engine.services.instance_control import InstanceControlService
from engine.services.management import JobService, JobSettings
from engine.services.migration import MigrationService
from engine.services.monitor_counters import COUNTERS_KIND, MonitorCounterService
from engine.services.opportunities import OpportunityService
from engine.services.receivables import ReceivableService
from engine.services.reports import ReportService
from engine.services.repository import RepositoryService
from engine.services.requester import RequesterService
from engine.services.runtime import RuntimeService
from engine.services.statistics import StatisticsService
from engine.services.substitutes import SubstituteService
from engine.services.sweeps import SWEEP_KIND, SweepService
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
        sandbox.configure(self.settings.sandbox_workers)
        # Each service is given exactly what it uses, in the order they depend on each other.
        self.history = HistoryService(clock=clock)
        self.identity = IdentityService(clock=clock, settings=self.settings)
        self.authorization = Authorization(identity=self.identity)
        self.repository = RepositoryService(clock=clock, db=db, history=self.history)
        self.runtime = RuntimeService(
            authorization=self.authorization, clock=clock, context=self.context, db=db, history=self.history, repository=self.repository
        )
        self.tasks = TaskService(
            authorization=self.authorization,
            clock=clock,
            context=self.context,
            db=db,
            history=self.history,
            identity=self.identity,
            runtime=self.runtime,
        )
        self.jobs = JobService(
            authorization=self.authorization,
            clock=clock,
            db=db,
            history=self.history,
            mail=mail,
            repository=self.repository,
            runtime=self.runtime,
            settings=job_settings or JobSettings(lease=timedelta(seconds=self.settings.job_lease)),
        )
        self.repository.use_jobs(self.jobs)
        self.channels = ChannelService(
            authorization=self.authorization, base_url=lambda: self.settings.base_url, clock=clock, db=db, history=self.history
        )
        self.jobs.use_channels(self.channels.enqueue)
        self.jobs.handle(CHANNEL_JOB, self.channels.run_job)
        self.instances = InstanceControlService(
            authorization=self.authorization, clock=clock, db=db, history=self.history, runtime=self.runtime
        )
        self.requests = RequesterService(
            authorization=self.authorization, clock=clock, context=self.context, db=db, history=self.history, runtime=self.runtime
        )
        self.comments = CommentService(clock=clock, context=self.context, db=db, history=self.history, runtime=self.runtime)
        self.attachments = AttachmentService(
            clock=clock,
            db=db,
            history=self.history,
            max_bytes=lambda: self.settings.attachment_max_bytes,
            runtime=self.runtime,
            directory=lambda: self.settings.attachment_dir,
        )
        self.runtime.use_files(self.attachments.add_in, self.attachments.of)
        self.calendar = CalendarYearService(authorization=self.authorization, clock=clock, db=db, history=self.history)
        calendar.use_entered_years(str(db.engine.url), self.calendar.load)
        self.chains = ChainStepService(
            authorization=self.authorization, clock=clock, context=self.context, db=db, history=self.history, runtime=self.runtime
        )
        self.budgets = BudgetService(authorization=self.authorization, clock=clock, db=db, history=self.history)
        self.bulk = BulkOperationService(
            authorization=self.authorization, db=db, history=self.history, instances=self.instances, runtime=self.runtime
        )
        self.migration = MigrationService(
            authorization=self.authorization, db=db, history=self.history, repository=self.repository, runtime=self.runtime
        )
        self.admin = AdminService(authorization=self.authorization, clock=clock, db=db, history=self.history, identity=self.identity)
        self.worklist = WorklistService(clock=clock, db=db, identity=self.identity, settings=self.settings, tasks=self.tasks)
        self.inbox = InboxService(db=db)
        self.customers = CustomerService(authorization=self.authorization, clock=clock, db=db, history=self.history, identity=self.identity)
        self.merges = CustomerMergeService(authorization=self.authorization, clock=clock, db=db, history=self.history)
        self.sweeps = SweepService(clock=clock, settings=self.settings)
        self.jobs.handle(SWEEP_KIND, self.sweeps.run)
        self.cleanup = HistoryCleanupService(
            authorization=self.authorization,
            clock=clock,
            db=db,
            history=self.history,
            settings=self.settings,
            sweep_files=self.attachments.sweep,
        )
        self.jobs.handle(CLEANUP_KIND, self.cleanup.run)
        self.counters = MonitorCounterService(clock=clock, settings=self.settings)
        self.jobs.handle(COUNTERS_KIND, self.counters.run)
        self.opportunities = OpportunityService(authorization=self.authorization, clock=clock, db=db, history=self.history)
        self.activities = ActivityService(
            authorization=self.authorization,
            clock=clock,
            db=db,
            history=self.history,
            identity=self.identity,
            opportunities=self.opportunities,
        )
        self.jobs.handle(REMINDER_KIND, self.activities.remind)
        self.imports = ImportService(
            authorization=self.authorization,
            customers=self.customers,
            db=db,
            identity=self.identity,
            repository=self.repository,
            runtime=self.runtime,
        )
        self.handover = HandoverService(authorization=self.authorization, clock=clock, db=db, history=self.history, runtime=self.runtime)
        self.statistics = StatisticsService(authorization=self.authorization, clock=clock, settings=self.settings)
        self.reports = ReportService(authorization=self.authorization, clock=clock, settings=self.settings)
        self.receivables = ReceivableService(authorization=self.authorization, clock=clock, settings=self.settings)
        self.substitutes = SubstituteService(
            authorization=self.authorization, clock=clock, context=self.context, db=db, history=self.history, identity=self.identity
        )

    def context(self, session: Session, actor: str | None, instance: ProcessInstance | None = None) -> ActionContext:
        """What invoked operations and notifications of one action need to know."""
        return ActionContext(session=session, actor=actor, now=self.clock(), instance=instance, jobs=self.jobs)
