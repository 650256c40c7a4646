"""History cleanup: a version's retention comes from its BPMN (camunda:historyTimeToLive, days or
P<n>D) or an admin; the cleanup removes exactly the finished instances that ended longer ago than
that, with their history, worklist rows, jobs and business fields, and keeps the running, the
recent, those of processes that keep history for ever, the audit log and the step figures; it
works in batches and audits each; a job run that fills its batch runs again at once."""

from __future__ import annotations

import os
import secrets
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import delete, func, select, update

from engine.clock import aware
from engine.errors import Forbidden, InvalidDefinition, NotFound, ValidationFailed
from engine.services import history_cleanup
from engine.services.history_cleanup import CLEANUP_KIND
from store.models import HistoryEvent, InstanceField, Job, ProcessDefinition, ProcessInstance, StepRollup, Task
from tests.flow import Flow

FIXTURE = (Path(__file__).parents[2] / "fixtures" / "simple_review.bpmn").read_text()


def _deploy(flow: Flow, ttl: str | None) -> str:
    key = f"cleanup_{secrets.token_hex(4)}"
    xml = FIXTURE.replace("simple_review", key)
    if ttl is not None:
        xml = xml.replace(f'id="{key}" name="Simple review"', f'id="{key}" name="Simple review" camunda:historyTimeToLive="{ttl}"')
    flow.engine.repository.deploy([(f"{key}.bpmn", xml.encode())], "admin")
    return key


def _finished(flow: Flow, key: str, title: str) -> int:
    instance = flow.start("cs_agent1", key, {"title": title, "amount": 10})
    flow.complete("cs_sup", instance.id, "review", {"approved": True})
    assert flow.instance(instance.id).status == "completed"
    return instance.id


def _count(flow: Flow, model: type, ids: list[int]) -> int:
    with flow.engine.db.sessions() as session:
        return session.scalar(select(func.count()).select_from(model).where(model.instance_id.in_(ids))) or 0  # type: ignore[attr-defined]


def _ended(flow: Flow, instance_id: int, days_from_now: float) -> None:
    with flow.engine.db.transaction() as session:
        at = flow.engine.clock() + timedelta(days=days_from_now)
        session.execute(update(ProcessInstance).where(ProcessInstance.id == instance_id).values(ended_at=at))


def test_the_retention_comes_from_the_bpmn_in_days_or_as_a_duration(flow: Flow) -> None:
    for ttl, days in (("30", 30), ("P180D", 180), (None, None)):
        key = _deploy(flow, ttl)
        with flow.engine.db.sessions() as session:
            assert flow.engine.cleanup.ttl_of(session, key) == days
    for bad in ("forever", "0", "P1Y", "-5"):
        with pytest.raises(InvalidDefinition) as refused:
            _deploy(flow, bad)
        assert "history time to live" in str(refused.value.problems)


def test_the_cleanup_removes_exactly_what_is_old_and_finished(flow: Flow) -> None:
    key = _deploy(flow, "30")
    forever = _deploy(flow, None)
    old = _finished(flow, key, "old")
    recent = _finished(flow, key, "recent")
    _ended(flow, recent, 5)  # ends 5 days later than the others: not yet 30 days at the cleanup's time
    running = flow.start("cs_agent1", key, {"title": "running", "amount": 1}).id
    terminated = flow.start("cs_agent1", key, {"title": "stopped", "amount": 1}).id
    flow.engine.instances.terminate(flow.actor("admin"), terminated, {"reason": "entered twice"})
    kept_for_ever = _finished(flow, forever, "archive")
    with flow.engine.db.sessions() as session:
        rollups = session.scalar(select(func.sum(StepRollup.completed)).where(StepRollup.process_key == key))
    assert _count(flow, HistoryEvent, [old, terminated]) > 0 and _count(flow, Task, [old, terminated]) > 0
    assert _count(flow, InstanceField, [old]) > 0

    at = flow.engine.clock() + timedelta(days=31)
    with flow.engine.db.transaction() as session:
        cleaned = flow.engine.cleanup.clean(session, at)
    assert {old, terminated} <= set(cleaned.instance_ids)
    assert not {recent, running, kept_for_ever} & set(cleaned.instance_ids)
    gone = [old, terminated]
    with flow.engine.db.sessions() as session:
        left = set(session.scalars(select(ProcessInstance.id).where(ProcessInstance.id.in_([*gone, recent, running, kept_for_ever]))))
        audit = session.scalars(
            select(HistoryEvent).where(HistoryEvent.action == "history.cleanup").order_by(HistoryEvent.id.desc())
        ).first()
        assert session.scalar(select(func.sum(StepRollup.completed)).where(StepRollup.process_key == key)) == rollups
    assert left == {recent, running, kept_for_ever}
    for model in (HistoryEvent, Task, InstanceField, Job):
        assert _count(flow, model, gone) == 0, model
    assert audit is not None and audit.instance_id is None and set(gone) <= set(audit.data["instances"])
    assert audit.data["removed"][key] >= 2
    with flow.engine.db.transaction() as session:  # nothing more to do at that time
        assert not set(flow.engine.cleanup.clean(session, at).instance_ids) & {recent, running, kept_for_ever}


def _run_job(flow: Flow, at: datetime) -> datetime:
    """Run the cleanup job once at `at` (as the runner does, in its transaction); the next run's time."""
    with flow.engine.db.transaction() as session:
        session.execute(delete(Job).where(Job.kind == CLEANUP_KIND, Job.status == "pending"))
        job = Job(kind=CLEANUP_KIND, due_at=at, run_at=at, payload={}, created_at=at, status="running")
        session.add(job)
        session.flush()
        flow.engine.cleanup.run(session, job, at)
        job.status = "done"
        session.flush()
        upcoming = session.scalars(select(Job).where(Job.kind == CLEANUP_KIND, Job.status == "pending")).one()
        return aware(upcoming.due_at)  # type: ignore[return-value]


def test_the_job_works_in_batches_and_runs_again_at_once_while_they_are_full(flow: Flow, monkeypatch: pytest.MonkeyPatch) -> None:
    key = _deploy(flow, "1")
    ids = [_finished(flow, key, f"t{i}") for i in range(3)]
    at = flow.engine.clock() + timedelta(days=2)
    monkeypatch.setattr(history_cleanup, "BATCH", 1)
    assert _run_job(flow, at) == at and _count_instances(flow, ids) == 2  # a full batch: again at once
    for _run in range(50):  # what other tests left expired goes too, one a run
        if not _count_instances(flow, ids):
            break
        _run_job(flow, at)
    assert _count_instances(flow, ids) == 0
    monkeypatch.setattr(history_cleanup, "BATCH", 500)
    assert _run_job(flow, at) == flow.engine.cleanup.next_run(at) > at  # nothing left: tomorrow at 03:00


def test_the_cleanup_runs_at_three_in_the_night_in_the_organisations_zone(flow: Flow) -> None:
    cleanup = flow.engine.cleanup
    assert cleanup.next_run(datetime(2027, 3, 1, 18, 0, tzinfo=UTC)) == datetime(2027, 3, 1, 19, 0, tzinfo=UTC)  # 03:00 Shanghai
    assert cleanup.next_run(datetime(2027, 3, 1, 19, 0, tzinfo=UTC)) == datetime(2027, 3, 2, 19, 0, tzinfo=UTC)  # strictly after


def _count_instances(flow: Flow, ids: list[int]) -> int:
    with flow.engine.db.sessions() as session:
        return session.scalar(select(func.count()).select_from(ProcessInstance).where(ProcessInstance.id.in_(ids))) or 0


def test_only_admins_change_the_retention_and_it_is_audited(flow: Flow) -> None:
    key = _deploy(flow, None)
    with pytest.raises(Forbidden):
        flow.engine.cleanup.set_ttl(flow.actor("cs_sup"), key, 30)
    for bad in (0, -1, 36_501, "30", True, 1.5):
        with pytest.raises(ValidationFailed):
            flow.engine.cleanup.set_ttl(flow.actor("admin"), key, bad)
    with pytest.raises(NotFound):
        flow.engine.cleanup.set_ttl(flow.actor("admin"), "no_such_process", 30)
    assert flow.engine.cleanup.set_ttl(flow.actor("admin"), key, 90) == 90
    with flow.engine.db.sessions() as session:
        assert set(session.scalars(select(ProcessDefinition.history_ttl_days).where(ProcessDefinition.key == key))) == {90}
        audit = session.scalars(
            select(HistoryEvent).where(HistoryEvent.action == "admin.history_ttl").order_by(HistoryEvent.id.desc())
        ).first()
    assert audit is not None and audit.data == {"key": key, "days": 90} and audit.user == "admin"
    assert flow.engine.cleanup.set_ttl(flow.actor("admin"), key, None) is None


def test_the_last_batch_sweeps_the_attachment_directory(flow: Flow, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # A file left in the directory by a removed instance (or a crashed upload) goes with the run
    # that finds no full batch; one a row still names stays.
    root = tmp_path / "files"
    monkeypatch.setattr(flow.engine, "settings", flow.engine.settings.but(attachment_dir=str(root)))
    orphan = root / "ef" / ("ef" + "2" * 62)
    orphan.parent.mkdir(parents=True)
    orphan.write_bytes(b"of a removed instance")
    old = time.time() - 2 * 24 * 3600
    os.utime(orphan, (old, old))
    _run_job(flow, flow.engine.clock() + timedelta(days=1))
    assert not orphan.exists()
