"""The due-jobs and incidents page (admins): an incident shows its error and step and is retried
from the page (then pending again); the jobs due next are listed soonest first with their kinds
counted; others get 403."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from store.models import Job
from tests.data import COMPLAINT
from tests.flow import Flow
from tests.webui.conftest import Page


def _incident(flow: Flow, instance_id: int, error: str) -> int:
    """The complaint's answer deadline as a timer that failed three times."""
    now = datetime.now(UTC)
    with flow.engine.db.transaction() as session:
        job = Job(
            kind="timer", instance_id=instance_id, element_id="assess_reply_deadline", due_at=now, run_at=now,
            status="incident", attempts=3, last_error=error, payload={}, created_at=now,
        )  # fmt: skip
        session.add(job)
        session.flush()
        return job.id


def test_an_admin_sees_the_incident_and_retries_it_and_the_jobs_due_next(ui: Callable[[str], Page], flow: Flow) -> None:
    instance = flow.start("cs_agent1", "complaint_handling", COMPLAINT)
    job_id = _incident(flow, instance.id, "ProcessError: 邮件服务器拒绝连接")
    page = ui("admin").text("/monitor/jobs")
    assert f'data-job="{job_id}"' in page and "邮件服务器拒绝连接" in page and "assess_reply_deadline" in page
    assert 'data-kind-count="timer"' in page and 'id="job-list"' in page
    assert "data-jobs-link" in ui("admin").text("/monitor")
    assert ui("admin").post(f"/monitor/jobs/{job_id}/retry", {}).status_code == 302
    with flow.engine.db.sessions() as session:
        assert session.get(Job, job_id).status == "pending"
    again = ui("admin").post(f"/monitor/jobs/{job_id}/retry", {})
    assert again.status_code == 302  # no longer an incident: said so, nothing changed
    for who in ("cs_sup", "cs_agent1"):
        assert ui(who).get("/monitor/jobs").status_code == 403
        assert ui(who).post(f"/monitor/jobs/{job_id}/retry", {}).status_code == 403
    assert ui("admin").post(f"/monitor/jobs/{job_id}/retry", {}, csrf=False).status_code == 400


def test_the_instance_page_shows_an_admin_where_it_failed(ui: Callable[[str], Page], flow: Flow) -> None:
    instance = flow.start("cs_agent1", "complaint_handling", COMPLAINT)
    job_id = _incident(flow, instance.id, "ProcessError: 短信网关超时")
    page = ui("admin").text(f"/instances/{instance.id}")
    assert f'data-job="{job_id}"' in page and "短信网关超时" in page and f"/monitor/jobs/{job_id}/retry" in page
    assert '"incidents": ["assess_reply_deadline"]' in page.replace("&#34;", '"')  # marked on the diagram
    supervisor = ui("cs_sup").text(f"/instances/{instance.id}")
    assert "短信网关超时" not in supervisor and 'id="incidents"' not in supervisor
