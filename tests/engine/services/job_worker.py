"""A job worker in its own OS process, for the multi-process and crash tests.

    python -m tests.engine.services.job_worker URL AT WORKER [LEASE_SECONDS] [PAUSE_FILE]

Prints how many jobs it fired. With PAUSE_FILE it stops inside its first job's transaction,
writes the file and waits there to be killed.
"""

from __future__ import annotations

import os
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

from engine.process_engine import ProcessEngine
from engine.services.management import JobSettings
from store.db import Database


def main(argv: list[str]) -> None:
    url, at, worker = argv[0], datetime.fromisoformat(argv[1]), argv[2]
    lease = float(argv[3]) if len(argv) > 3 else 120.0
    engine = ProcessEngine(Database(url), job_settings=JobSettings(lease=timedelta(seconds=lease)))
    start_at = float(os.environ.get("JOB_WORKER_START_AT", "0"))
    time.sleep(max(0.0, start_at - time.time()))
    if len(argv) > 4:
        pause_file = Path(argv[4])

        def hold(job: object) -> None:
            pause_file.write_text(str(getattr(job, "id", "")))
            time.sleep(60)

        engine.jobs.before_commit = hold
    print(engine.jobs.run_due(at, worker), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
