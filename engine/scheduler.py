"""The ticker every app process runs: APScheduler calls the job runner every few seconds.

Any number of processes on any number of hosts may tick at once; the database decides which
of them runs each job (engine.jobs), so nothing here needs to coordinate.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from apscheduler.schedulers.background import BackgroundScheduler

from engine.services.management import default_worker_id

if TYPE_CHECKING:
    from engine.process_engine import ProcessEngine

log = logging.getLogger(__name__)


class JobTicker:
    def __init__(self, engine: ProcessEngine, interval: float = 5.0) -> None:
        self.engine = engine
        self.interval = interval
        self.worker = default_worker_id()
        self.scheduler = BackgroundScheduler(daemon=True)

    def tick(self) -> int:
        try:
            return self.engine.jobs.run_due(worker=self.worker)
        except Exception:  # a database outage must not kill the ticker; the next tick retries
            log.exception("job ticker failed")
            return 0

    def start(self) -> None:
        self.scheduler.add_job(self.tick, "interval", seconds=self.interval, max_instances=1, coalesce=True, id="crmflow-jobs")
        self.scheduler.start()

    def shutdown(self) -> None:
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
