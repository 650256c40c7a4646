"""The monitor's reports: on time and late per step and per department from the completions of a
period (a step completed after its due time is late), and a process's instances by a business
field, each over the caller's scope; a backwards or over-long period is refused; only those who
may monitor read them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from engine.errors import Forbidden, ValidationFailed
from engine.services.reports import NOT_SET
from processes.demo import USERS
from store.models import Customer, Task
from tests.data import COMPLAINT, approval_request, lead
from tests.flow import Flow


def _sla(flow: Flow, user: str) -> tuple[tuple[int, int], tuple[int, int]]:
    reports = flow.engine.reports
    with flow.engine.db.sessions() as session:
        sla = reports.sla(session, flow.actor(user), reports.period(None, None))
    step = next((s for s in sla.steps if s.key == ("complaint_handling", "assess")), None)
    department = next((d for d in sla.departments if d.key == ("客服部",)), None)
    return ((step.completed, step.late) if step else (0, 0)), ((department.completed, department.late) if department else (0, 0))


def _by(flow: Flow, user: str, field: str) -> dict[str, int]:
    reports = flow.engine.reports
    with flow.engine.db.sessions() as session:
        return dict(reports.counts_by_field(session, flow.actor(user), "complaint_handling", field, reports.period(None, None)).counts)


def test_on_time_and_late_per_step_and_department(flow: Flow) -> None:
    before = _sla(flow, "cs_sup")
    on_time = flow.start("cs_agent1", "complaint_handling", COMPLAINT)
    late = flow.start("cs_agent1", "complaint_handling", COMPLAINT)
    with flow.engine.db.transaction() as session:  # its 24-hour answer deadline passed an hour ago
        session.query(Task).filter(Task.instance_id == late.id, Task.task_key == "assess").one().due_at = datetime.now(UTC) - timedelta(
            hours=1
        )
    flow.complete("cs_sup", on_time.id, "assess", {"valid": True})
    flow.complete("cs_sup", late.id, "assess", {"valid": True})
    (step, department) = _sla(flow, "cs_sup")
    assert (step[0] - before[0][0], step[1] - before[0][1]) == (2, 1)
    assert (department[0] - before[1][0], department[1] - before[1][1]) == (2, 1)  # cs_sup works in 客服部
    assert _sla(flow, "sales_dir")[0] == (0, 0)  # a supervisor of another team: none of theirs


def test_a_process_by_a_business_field_over_the_scope(flow: Flow) -> None:
    before, everyone_before = _by(flow, "cs_sup", "category"), _by(flow, "admin", "department")
    theirs_before = _by(flow, "sales_dir", "category")
    for category in ("quality", "quality", "transport"):
        flow.start("cs_agent1", "complaint_handling", {**COMPLAINT, "category": category})
    after = _by(flow, "cs_sup", "category")
    assert after.get("quality", 0) - before.get("quality", 0) == 2
    assert after.get("transport", 0) - before.get("transport", 0) == 1
    assert _by(flow, "admin", "department").get(NOT_SET, 0) - everyone_before.get(NOT_SET, 0) == 3  # not yet assigned
    assert _by(flow, "sales_dir", "category") == theirs_before


def test_the_period_is_checked_and_only_monitors_read(flow: Flow) -> None:
    reports = flow.engine.reports
    today = reports.period(None, None).last
    assert reports.period(None, None).days == 30
    with pytest.raises(ValidationFailed):
        reports.period(today, today - timedelta(days=1))
    with pytest.raises(ValidationFailed):
        reports.period(today - timedelta(days=800), today)
    with flow.engine.db.sessions() as session, pytest.raises(Forbidden):
        reports.sla(session, flow.actor("cs_agent1"), reports.period(None, None))


def _approvals(flow: Flow, user: str) -> tuple[dict[str, int], dict[str, int]]:
    reports = flow.engine.reports
    with flow.engine.db.sessions() as session:
        found = reports.approvals(session, flow.actor(user), reports.period(None, None))
    return {c.key: c.count for c in found.by_type}, {c.key: c.count for c in found.by_approver}


def test_approval_cycle_time_per_request_type_and_per_approver(flow: Flow) -> None:
    before_types, before_approvers = _approvals(flow, "admin")
    instance = flow.start("store_staff", "approval_chain", approval_request("store_expense", 300))
    approved_by = []
    while flow.instance(instance.id).status == "running" and len(approved_by) < 5:  # each step of its chain
        step = flow.task(instance.id, "approve")  # the requester's own approver, or a holder of its role
        approver = step.candidate_users or next(u for u, (_n, _d, roles, _s) in USERS.items() if step.candidate_roles in roles)
        flow.complete(approver, instance.id, "approve", {"decision": "approve"})
        approved_by.append(approver)
    assert flow.instance(instance.id).status == "completed" and "region_mgr" in approved_by
    types, approvers = _approvals(flow, "admin")
    assert types.get("store_expense", 0) - before_types.get("store_expense", 0) == 1
    assert approvers.get("region_mgr", 0) - before_approvers.get("region_mgr", 0) == 1
    with flow.engine.db.sessions() as session:
        found = flow.engine.reports.approvals(session, flow.actor("admin"), flow.engine.reports.period(None, None))
    average = next(c for c in found.by_type if c.key == "store_expense").average_seconds
    assert average is not None and average >= 0


def _conversion(flow: Flow, user: str) -> dict[tuple[str, str], tuple[int, int, int]]:
    reports = flow.engine.reports
    with flow.engine.db.sessions() as session:
        rows = reports.lead_conversion(session, flow.actor(user), reports.period(None, None))
    return {(c.source, c.owner): (c.captured, c.qualified, c.trading) for c in rows}


def test_lead_conversion_per_source_and_owner(flow: Flow) -> None:
    before = _conversion(flow, "sales_dir").get(("web", "sales2"), (0, 0, 0))
    qualified = flow.start("sales2", "lead_qualification", lead(source="web"))
    flow.start("sales2", "lead_qualification", lead(source="web"))  # captured, not yet verified
    done = flow.complete("sales2", qualified.id, "verify_lead", {"outcome": "qualified", "grade": "B"})
    with flow.engine.db.transaction() as session:  # the customer starts trading
        session.get(Customer, done.data["customer_id"]).status = "trading"  # type: ignore[union-attr]
    after = _conversion(flow, "sales_dir")[("web", "sales2")]
    assert tuple(a - b for a, b in zip(after, before, strict=True)) == (2, 1, 1)
    assert ("web", "sales2") not in _conversion(flow, "cs_sup")  # not their team's leads
