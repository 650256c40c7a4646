"""The job runner: many OS processes fire each job exactly once; a killed worker's job is taken
over; a failing job is retried, then becomes an incident an admin can retry; BPMN timer kinds."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.exc import OperationalError

from engine import operations
from engine.clock import aware
from engine.errors import EngineError
from engine.process_engine import ProcessEngine
from engine.services.management import JobSettings
from store.models import HistoryEvent, Job, ProcessInstance, Task
from tests.conftest import FIXTURES, Api
from tests.data import approval_request
from tests.flow import Flow

ROOT = Path(__file__).resolve().parents[3]
FLAKY = {"fail": True}


@operations.operation("test.flaky")
def _flaky(data: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    if FLAKY["fail"]:
        raise EngineError("the partner system is down")
    return {"partner_called": True}


def _deploy(engine: ProcessEngine, name: str) -> None:
    engine.repository.deploy([(name, (FIXTURES / name).read_bytes())], "admin")


def _clone_waiting_instances(flow: Flow, count: int) -> list[int]:
    """Start one `timer_wait` instance and copy its state into `count - 1` more (fast set-up)."""
    first = flow.start("admin", "timer_wait", {})
    with flow.engine.db.transaction() as session:
        row = session.get(ProcessInstance, first.id)
        job = session.scalar(select(Job).where(Job.instance_id == first.id, Job.status == "pending"))
        assert row is not None and job is not None
        copies = [
            {
                k: getattr(row, k)
                for k in (
                    "definition_id",
                    "process_key",
                    "status",
                    "started_by",
                    "state",
                    "serializer_version",
                    "data",
                    "started_at",
                    "updated_at",
                )
            }
            for _ in range(count - 1)
        ]
        ids = list(session.scalars(insert(ProcessInstance).returning(ProcessInstance.id, sort_by_parameter_order=True), copies))
        session.execute(
            insert(Job),
            [
                {k: getattr(job, k) for k in ("kind", "task_id", "element_id", "due_at", "run_at", "status", "payload", "created_at")}
                | {"instance_id": i}
                for i in ids
            ],
        )
    return [first.id, *ids]


def _timer_events(flow: Flow, instance_ids: list[int]) -> dict[int, int]:
    with flow.engine.db.sessions() as session:
        rows = session.execute(
            select(HistoryEvent.instance_id, func.count())
            .where(HistoryEvent.action == "timer", HistoryEvent.instance_id.in_(instance_ids))
            .group_by(HistoryEvent.instance_id)
        ).all()
    return dict(rows)  # type: ignore[arg-type]


def _worker(url: str, at: str, name: str, *extra: str, start_at: float | None = None) -> subprocess.Popen[str]:
    """`start_at` (a time.time() value): the worker waits for it after starting up, so that
    several workers begin together rather than in the order their imports finish."""
    return subprocess.Popen(
        [sys.executable, "-m", "tests.engine.services.job_worker", url, at, name, *extra],
        cwd=ROOT,
        env={**os.environ, "JOB_WORKER_START_AT": str(start_at)} if start_at is not None else None,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_four_worker_processes_fire_every_job_exactly_once(flow: Flow, database_url: str) -> None:
    _deploy(flow.engine, "timer_wait.bpmn")
    count = 2000 if database_url.startswith("postgresql") else 300
    ids = _clone_waiting_instances(flow, count)
    at = (flow.engine.clock() + timedelta(minutes=2)).isoformat()
    start_at = time.time() + 5  # every worker has imported and connected by then
    workers = [_worker(database_url, at, f"w{i}", start_at=start_at) for i in range(4)]
    outputs = [w.communicate(timeout=300) for w in workers]
    assert all(w.returncode == 0 for w in workers), [o[1][-2000:] for o in outputs]
    fired = [int(out.strip().splitlines()[-1]) for out, _err in outputs]
    assert sum(fired) >= count
    assert sum(1 for f in fired if f > 0) >= 2  # the work really was shared
    events = _timer_events(flow, ids)
    assert len(events) == count and set(events.values()) == {1}
    with flow.engine.db.sessions() as session:
        statuses = dict(
            session.execute(
                select(ProcessInstance.status, func.count()).where(ProcessInstance.id.in_(ids)).group_by(ProcessInstance.status)
            ).all()
        )
        left = session.scalar(select(func.count()).where(Job.instance_id.in_(ids), Job.status.in_(("pending", "running"))))
    assert statuses == {"completed": count}
    assert left == 0


def test_a_worker_killed_mid_job_is_taken_over_after_its_lease(flow: Flow, database_url: str, tmp_path: Path) -> None:
    _deploy(flow.engine, "timer_wait.bpmn")
    instance = flow.start("admin", "timer_wait", {})
    at = (flow.engine.clock() + timedelta(minutes=2)).isoformat()
    pause = tmp_path / "paused"
    victim = _worker(database_url, at, "victim", "1", str(pause))
    deadline = time.monotonic() + 60
    while not pause.exists() and time.monotonic() < deadline and victim.poll() is None:
        time.sleep(0.05)
    assert pause.exists(), victim.communicate()[1][-2000:]
    os.kill(victim.pid, signal.SIGKILL)
    victim.wait()
    assert flow.instance(instance.id).status == "running"  # its transaction never committed
    time.sleep(1.2)  # the victim's one-second lease runs out
    rescuer = _worker(database_url, at, "rescuer")
    _out, err = rescuer.communicate(timeout=120)
    assert rescuer.returncode == 0, err[-2000:]
    assert flow.instance(instance.id).status == "completed"
    assert _timer_events(flow, [instance.id]) == {instance.id: 1}


def test_a_failing_job_is_retried_with_backoff_then_an_incident_an_admin_retries(flow: Flow, api: Api) -> None:
    FLAKY["fail"] = True
    _deploy(flow.engine, "timer_explode.bpmn")
    instance = flow.start("admin", "timer_explode", {})
    with flow.engine.db.sessions() as session:
        job = session.scalar(select(Job).where(Job.instance_id == instance.id, Job.status == "pending"))
    assert job is not None
    at = aware(job.due_at) + timedelta(seconds=1)  # type: ignore[operator]

    def attempts_after(when: Any) -> Job:
        flow.engine.jobs.run_due(when)
        with flow.engine.db.sessions() as session:
            current = session.get(Job, job.id)
        assert current is not None
        return current

    assert attempts_after(at).attempts == 1
    assert attempts_after(at + timedelta(seconds=20)).attempts == 1  # backing off: 30 s
    assert attempts_after(at + timedelta(seconds=31)).attempts == 2
    assert attempts_after(at + timedelta(seconds=80)).attempts == 2  # backing off: 60 s more
    current = attempts_after(at + timedelta(seconds=92))
    assert current.attempts == 3
    assert current.status == "incident" and "the partner system is down" in (current.last_error or "")
    assert flow.instance(instance.id).status == "running"
    assert api.get("cs_sup", "/api/v1/incidents").status_code == 403
    listed = api.get("admin", "/api/v1/incidents").get_json()["items"]
    assert any(i["id"] == job.id and i["instance_id"] == instance.id and i["element_id"] == "wait" for i in listed)
    FLAKY["fail"] = False
    assert api.post("cs_sup", f"/api/v1/incidents/{job.id}/retry").status_code == 403
    retried = api.post("admin", f"/api/v1/incidents/{job.id}/retry")
    assert retried.status_code == 200 and retried.get_json()["status"] == "pending"
    assert api.post("admin", f"/api/v1/incidents/{job.id}/retry").status_code == 409
    flow.engine.jobs.run_due(flow.engine.clock() + timedelta(seconds=1))
    done = flow.instance(instance.id)
    assert done.status == "completed" and done.data["partner_called"] is True
    assert [e.action for e in flow.history(instance.id)].count("timer") == 1


def test_a_job_that_met_a_lock_timeout_or_a_lost_connection_is_not_charged_an_attempt(flow: Flow, monkeypatch: pytest.MonkeyPatch) -> None:
    """A lock held by a host that vanished, or a database restart, is no fault of the job's: it
    goes back to waiting as it was, with the error noted, and fires on the next run; three such
    outages in a row do not make it an incident."""
    _deploy(flow.engine, "timer_wait.bpmn")
    instance = flow.start("admin", "timer_wait", {})
    with flow.engine.db.sessions() as session:
        job = session.scalars(select(Job).where(Job.instance_id == instance.id)).one()
    at = aware(job.due_at) + timedelta(seconds=1)  # type: ignore[operator]
    locked = OperationalError("SELECT ... FOR UPDATE", {}, sqlite3.OperationalError("database is locked"))
    real = flow.engine.runtime.lock_for_job

    def waits_too_long(session: Any, job_id: int) -> Any:
        if job_id == job.id:
            raise locked
        return real(session, job_id)

    monkeypatch.setattr(flow.engine.runtime, "lock_for_job", waits_too_long)
    for n in range(4):
        flow.engine.jobs.run_due(at + timedelta(seconds=6 * n), instances=[instance.id])  # once each: then 5 s later
    with flow.engine.db.sessions() as session:
        waiting = session.get(Job, job.id)
    assert waiting is not None and (waiting.status, waiting.attempts) == ("pending", 0)
    assert aware(waiting.run_at) == at + timedelta(seconds=18 + 5)  # type: ignore[arg-type]
    assert "database is locked" in (waiting.last_error or "")
    monkeypatch.setattr(flow.engine.runtime, "lock_for_job", real)
    flow.engine.jobs.run_due(at + timedelta(seconds=24), instances=[instance.id])
    assert flow.instance(instance.id).status == "completed"


def test_timers_fired_together_are_not_held_back_by_one_that_fails(flow: Flow, monkeypatch: pytest.MonkeyPatch) -> None:
    """Due timers fire in batches of one transaction; a failing one rolls its batch back, then each
    runs alone: the others fire exactly once, the failing one alone waits for its retry."""
    FLAKY["fail"] = True
    _deploy(flow.engine, "timer_wait.bpmn")
    _deploy(flow.engine, "timer_explode.bpmn")
    good = [flow.start("admin", "timer_wait", {}).id for _ in range(3)]
    bad = flow.start("admin", "timer_explode", {}).id
    good.append(flow.start("admin", "timer_wait", {}).id)
    monkeypatch.setattr(flow.engine.jobs, "settings", JobSettings(batch=500))  # all in one batch
    with flow.engine.db.sessions() as session:
        due = max(aware(d) for d in session.scalars(select(Job.due_at).where(Job.instance_id.in_([*good, bad]))))  # type: ignore[type-var]
    try:
        flow.engine.jobs.run_due(due + timedelta(seconds=1))
    finally:
        FLAKY["fail"] = False
    for instance_id in good:
        assert flow.instance(instance_id).status == "completed"
        assert [e.action for e in flow.history(instance_id)].count("timer") == 1
    with flow.engine.db.sessions() as session:
        failed = session.scalars(select(Job).where(Job.instance_id == bad)).one()
    assert failed.status == "pending" and failed.attempts == 1 and "partner system is down" in (failed.last_error or "")
    assert flow.instance(bad).status == "running" and "timer" not in [e.action for e in flow.history(bad)]


def test_an_interrupting_boundary_timer_with_an_expression_cancels_the_task(flow: Flow) -> None:
    _deploy(flow.engine, "timer_boundary.bpmn")
    instance = flow.start("cs_agent1", "timer_boundary", {"wait_for": "PT3H"})
    work = flow.task(instance.id, "work")
    with flow.engine.db.sessions() as session:
        job = session.scalar(select(Job).where(Job.instance_id == instance.id, Job.status == "pending"))
    assert job is not None and abs(aware(job.due_at) - (aware(flow.instance(instance.id).updated_at) + timedelta(hours=3))) < timedelta(
        minutes=1
    )  # type: ignore[operator]
    flow.engine.jobs.run_due(aware(job.due_at) + timedelta(seconds=1))  # type: ignore[operator]
    assert flow.task_keys(instance.id) == ["handle_late"]
    with flow.engine.db.sessions() as session:
        assert session.get(Task, work.id).status == "cancelled"  # type: ignore[union-attr]


def test_a_timer_start_event_with_a_cycle_starts_one_instance_per_occurrence(flow: Flow) -> None:
    _deploy(flow.engine, "timer_cycle_start.bpmn")
    with flow.engine.db.sessions() as session:
        definition = flow.engine.repository.latest(session, "timer_cycle_start")
        assert flow.engine.authorization.may_start(definition, flow.actor("admin")) is False
        job = session.scalar(select(Job).where(Job.definition_id == definition.id, Job.status == "pending"))
    assert job is not None
    first = aware(job.due_at)
    assert first is not None and abs(first - (flow.engine.clock() + timedelta(hours=1))) < timedelta(minutes=1)

    def started() -> int:
        with flow.engine.db.sessions() as session:
            return session.scalar(select(func.count()).where(ProcessInstance.definition_id == definition.id)) or 0

    flow.engine.jobs.run_due(first - timedelta(minutes=1))
    assert started() == 0
    for occurrence in range(3):
        flow.engine.jobs.run_due(first + timedelta(hours=occurrence, seconds=1))
        assert started() == occurrence + 1
    flow.engine.jobs.run_due(first + timedelta(hours=10))
    assert started() == 3
    with flow.engine.db.sessions() as session:
        instances = session.scalars(select(ProcessInstance).where(ProcessInstance.definition_id == definition.id)).all()
        open_checks = session.scalar(
            select(func.count()).where(Task.instance_id.in_([i.id for i in instances]), Task.task_key == "check", Task.status == "open")
        )
    assert open_checks == 3


@pytest.mark.parametrize("bad_now", ["yesterday", "2026-13-01"])
def test_run_due_refuses_a_malformed_time(app: Any, bad_now: str) -> None:
    result = app.test_cli_runner().invoke(args=["jobs", "run-due", "--now", bad_now])
    assert result.exit_code != 0 and "ISO 8601" in result.output


def test_moving_one_instances_time_on_leaves_the_others_timers(flow: Flow) -> None:
    moved, left = (flow.start("store_staff", "approval_chain", approval_request("store_expense", n)) for n in (31, 32))

    def pending(instance_id: int) -> set[str]:
        with flow.engine.db.sessions() as session:
            rows = session.scalars(
                select(Job.element_id).where(Job.instance_id == instance_id, Job.kind == "timer", Job.status == "pending")
            )
            return set(rows)  # type: ignore[arg-type]

    assert pending(moved.id) == pending(left.id) == {"approve_reminder", "approve_escalation"}
    flow.engine.jobs.run_due(flow.engine.clock() + timedelta(days=10), instances=[moved.id])
    assert pending(moved.id) == set() and pending(left.id) == {"approve_reminder", "approve_escalation"}
