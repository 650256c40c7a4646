"""The background ticker fires due jobs by itself, without anyone calling `jobs run-due`."""

from __future__ import annotations

import time
from datetime import timedelta

from engine.process_engine import ProcessEngine
from engine.scheduler import JobTicker
from store.db import Database
from tests.conftest import FIXTURES
from tests.flow import Flow


def test_the_ticker_fires_a_due_timer_in_the_background(engine: ProcessEngine, flow: Flow) -> None:
    engine.repository.deploy([("timer_wait.bpmn", (FIXTURES / "timer_wait.bpmn").read_bytes())], "admin")
    instance = flow.start("admin", "timer_wait", {})
    later = ProcessEngine(Database(engine.db.url), clock=lambda: engine.clock() + timedelta(minutes=2))
    ticker = JobTicker(later, interval=0.2)
    ticker.start()
    try:
        deadline = time.monotonic() + 20
        while flow.instance(instance.id).status != "completed" and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        ticker.shutdown()
        later.db.dispose()
    assert flow.instance(instance.id).status == "completed"
    assert [e.action for e in flow.history(instance.id)].count("timer") == 1
