"""The monitor's pages and API: supervisors and admins open /monitor and a process's page with its
step table and waiting list; others get 403; the statistics API answers the contract's shape."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from store.models import Task
from tests.conftest import Api
from tests.data import COMPLAINT
from tests.flow import Flow
from tests.webui.conftest import Page


def test_supervisors_and_admins_monitor_and_others_may_not(ui: Callable[[str], Page], flow: Flow) -> None:
    instance = flow.start("cs_agent1", "complaint_handling", COMPLAINT)
    with flow.engine.db.transaction() as session:  # the oldest waiting at `assess`: on the list's first page
        session.query(Task).filter(Task.instance_id == instance.id).one().created_at = datetime.now(UTC) - timedelta(days=400)
    for who in ("admin", "cs_sup"):
        page = ui(who).text("/monitor")
        assert 'data-process="complaint_handling"' in page and "监控" in page
        detail = ui(who).text("/monitor/complaint_handling?step=assess")
        assert 'data-step="assess"' in detail and f'data-instance="{instance.id}"' in detail
    assert ui("cs_agent1").get("/monitor").status_code == 403
    assert ui("cs_agent1").get("/monitor/complaint_handling").status_code == 403
    assert ui("cs_agent1").get("/monitor/complaint_handling/diagram.bpmn").status_code == 403
    assert "监控" not in ui("cs_agent1").text("/tasks").split("</nav>")[0]
    assert ui("admin").get("/monitor/no_such_process").status_code == 404
    xml = ui("cs_sup").get("/monitor/complaint_handling/diagram.bpmn")
    assert xml.status_code == 200 and b'id="assess"' in xml.data


def test_the_statistics_api(api: Api) -> None:
    api.post("cs_agent1", "/api/v1/process-instances", json={"process_key": "complaint_handling", "data": COMPLAINT})
    answer = api.get("cs_sup", "/api/v1/process-definitions/complaint_handling/statistics")
    assert answer.status_code == 200
    body = answer.get_json()
    assert body["key"] == "complaint_handling" and set(body["instances"]) >= {"running", "suspended", "completed", "terminated", "error"}
    assess = next(a for a in body["activities"] if a["task_key"] == "assess")
    assert assess["open"] >= 1 and {"overdue", "completed", "late", "avg_seconds"} <= set(assess)
    assert api.get("cs_agent1", "/api/v1/process-definitions/complaint_handling/statistics").status_code == 403
    assert api.get("admin", "/api/v1/process-definitions/nothing_here/statistics").status_code == 404


def test_admins_set_how_long_finished_instances_are_kept_on_the_process_page(ui: Callable[[str], Page]) -> None:
    admin = ui("admin")
    try:
        assert 'data-ttl=""' in admin.text("/monitor/lead_qualification")
        saved = admin.post("/monitor/lead_qualification/history-ttl", {"days": "365"})
        assert saved.status_code == 302
        assert 'data-ttl="365"' in admin.text("/monitor/lead_qualification")
        refused = admin.post("/monitor/lead_qualification/history-ttl", {"days": "0"})
        assert refused.status_code == 302 and 'data-ttl="365"' in admin.text("/monitor/lead_qualification")
        supervisor = ui("sales_dir").text("/monitor/lead_qualification")
        assert 'data-ttl="365"' in supervisor and "/history-ttl" not in supervisor  # no form for them
        assert ui("sales_dir").post("/monitor/lead_qualification/history-ttl", {"days": "1"}).status_code == 403
        assert admin.post("/monitor/lead_qualification/history-ttl", {"days": "30"}, csrf=False).status_code == 400
    finally:
        admin.post("/monitor/lead_qualification/history-ttl", {"days": ""})
    assert 'data-ttl=""' in admin.text("/monitor/lead_qualification")


def test_the_reports_page_shows_each_chart_with_its_table(ui: Callable[[str], Page], flow: Flow) -> None:
    instance = flow.start("cs_agent1", "complaint_handling", {**COMPLAINT, "category": "quality"})
    flow.complete("cs_sup", instance.id, "assess", {"valid": True})
    page = ui("cs_sup").text("/monitor/reports")
    assert 'id="chart-sla-steps"' in page and 'data-step="complaint_handling:assess"' in page
    assert 'data-department="客服部"' in page
    assert 'id="chart-complaint_handling-category"' in page and 'data-value="quality"' in page and ">质量<" in page
    assert "每百单" not in page  # no order count entered: the rate per month only
    with_orders = ui("cs_sup").text("/monitor/reports?orders=400")
    assert "每百单" in with_orders
    assert ui("cs_agent1").get("/monitor/reports").status_code == 403
    for bad in ("from=yesterday", "from=2027-02-01&to=2027-01-01", "orders=0", "orders=-5", "from=2020-01-01&to=2027-01-01"):
        assert ui("cs_sup").get(f"/monitor/reports?{bad}").status_code == 422, bad
