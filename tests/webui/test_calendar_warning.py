"""healthz reports the years the working calendar's holiday data misses, and the monitor warns."""

from __future__ import annotations

from collections.abc import Callable

from engine import calendar
from engine.process_engine import ProcessEngine
from tests.webui.conftest import Page


def test_healthz_and_the_monitor_report_a_missing_year(
    fresh: Callable[[str], Page], ui: Callable[[str], Page], engine: ProcessEngine
) -> None:
    body = fresh("anyone").client.get("/healthz").get_json()
    assert body["status"] == "ok" and body["calendar"]["known"][-1] == calendar.known_years()[-1]
    missing = calendar.missing_years(engine.identity.today())
    assert body["calendar"]["missing"] == missing
    page = ui("admin").text("/monitor")
    assert ("data-calendar-missing" in page) == bool(missing)
