"""The monitor's statistics against instances with known durations: per step open, overdue,
completed and late, the average, p50 and p90 of the time a step took; instances by status and
version; the trend of today's starts and ends; the instances waiting at a step, oldest first; the
scope (a supervisor sees what their team touches, others may not monitor)."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from engine.errors import Forbidden, NotFound
from store.models import Task
from tests.flow import Flow

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "simple_review.bpmn"
HOUR = 3600.0


def _process(flow: Flow) -> str:
    """simple_review under a key of its own: no other test's instances in the figures."""
    key = f"review_{secrets.token_hex(3)}"
    xml = FIXTURE.read_bytes().replace(b'id="simple_review"', f'id="{key}"'.encode())
    flow.engine.repository.deploy([(f"{key}.bpmn", xml)], "admin")
    return key


def _shift(flow: Flow, task_id: str, created_hours_ago: float, due_hours_from_now: float) -> None:
    now = datetime.now(UTC)
    with flow.engine.db.transaction() as session:
        task = session.get(Task, task_id)
        task.created_at = now - timedelta(hours=created_hours_ago)
        task.due_at = now + timedelta(hours=due_hours_from_now)


def test_step_figures_from_known_durations(flow: Flow) -> None:
    key = _process(flow)
    instances = [flow.start("cs_agent1", key, {"title": f"第{n}单", "amount": 10}) for n in range(5)]
    tasks = [flow.task(i.id, "review") for i in instances]
    for task, hours, due in zip(tasks[:3], (1, 2, 10), (20, 20, -1), strict=True):  # the 10-hour one was late
        _shift(flow, task.id, hours, due)
        flow.engine.tasks.complete(flow.actor("cs_sup"), task.id, {"approved": True})
    _shift(flow, tasks[3].id, 30, -6)  # open and overdue, the oldest waiting
    _shift(flow, tasks[4].id, 1, 23)

    with flow.engine.db.sessions() as session:
        stats = flow.engine.statistics.process(session, flow.actor("admin"), key, 30)
        waiting, total = flow.engine.statistics.waiting(session, flow.actor("cs_sup"), key, "review")
        summary = next(p for p in flow.engine.statistics.processes(session, flow.actor("admin")) if p.key == key)
    (review,) = [s for s in stats.steps if s.task_key == "review"]
    assert (review.open, review.overdue, review.completed, review.late) == (2, 1, 3, 1)
    assert review.avg_seconds == pytest.approx(13 / 3 * HOUR, rel=0.01)
    assert review.p50_seconds == pytest.approx(2 * HOUR, rel=0.01)
    assert review.p90_seconds == pytest.approx(8.4 * HOUR, rel=0.01)  # interpolated between 2 h and 10 h
    assert stats.counts["running"] == 2 and stats.counts["completed"] == 3
    assert stats.as_dict()["activities"][0]["task_key"] == "review"
    assert [t.id for t in waiting] == [tasks[3].id, tasks[4].id] and total == 2
    assert [(v.version, v.counts["running"], v.counts["completed"]) for v in summary.versions] == [(1, 2, 3)]
    assert (summary.open_tasks, summary.overdue_tasks) == (2, 1)
    assert summary.started[-1] == 5 and summary.finished[-1] == 3 and len(summary.started) == 30


def test_a_supervisor_sees_their_teams_work_and_others_may_not_monitor(flow: Flow) -> None:
    key = _process(flow)
    flow.start("cs_agent1", key, {"title": "团队的", "amount": 1})
    with flow.engine.db.sessions() as session:
        assert flow.engine.statistics.process(session, flow.actor("cs_sup"), key).counts["running"] == 1
        assert flow.engine.statistics.process(session, flow.actor("sales_dir"), key).counts["running"] == 0  # not theirs
        for outsider in ("cs_agent1", "sales1"):  # no reports
            with pytest.raises(Forbidden):
                flow.engine.statistics.process(session, flow.actor(outsider), key)
        with pytest.raises(NotFound):
            flow.engine.statistics.process(session, flow.actor("admin"), "no_such_process")
