"""Timer cycles cannot hang a worker: a cycle repeats at most once a minute, occurrences are
computed rather than counted up to, and occurrences missed during an outage are skipped."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from engine.bpmn import timers
from engine.clock import aware
from engine.errors import InvalidDefinition
from store.models import Job, ProcessDefinition, Task
from tests.conftest import FIXTURES
from tests.flow import Flow

NOW = datetime(2026, 12, 6, 10, 0, 30, tzinfo=UTC)


@contextmanager
def at_most(seconds: int) -> Iterator[None]:
    """Fail instead of hanging: the old code looped for hours on these inputs."""

    def expired(*_args: object) -> None:
        raise TimeoutError(f"took longer than {seconds} s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def _start_cycle(cycle: str) -> bytes:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
    id="d" targetNamespace="http://crmflow.example/bpmn">
  <bpmn:process id="cycle_every" isExecutable="true">
    <bpmn:startEvent id="tick"><bpmn:outgoing>f1</bpmn:outgoing>
      <bpmn:timerEventDefinition><bpmn:timeCycle xsi:type="bpmn:tFormalExpression">{cycle}</bpmn:timeCycle></bpmn:timerEventDefinition>
    </bpmn:startEvent>
    <bpmn:endEvent id="end"><bpmn:incoming>f1</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="tick" targetRef="end" />
  </bpmn:process>
</bpmn:definitions>""".encode()


@pytest.mark.parametrize("cycle", ["R/2000-01-01T00:00:00Z/PT0S", "R/PT0S", "R5/PT30S", "R/2026-01-01T00:00:00Z/PT0.5S"])
def test_a_cycle_faster_than_once_a_minute_is_refused_at_deploy(flow: Flow, cycle: str) -> None:
    with flow.engine.db.sessions() as session:
        before = session.scalar(select(func.count()).select_from(ProcessDefinition).where(ProcessDefinition.key == "cycle_every"))
    with at_most(10), pytest.raises(InvalidDefinition) as refused:
        flow.engine.repository.deploy([("cycle.bpmn", _start_cycle(cycle))], "admin")
    assert [(p["element_id"], "once a minute" in p["message"]) for p in refused.value.problems] == [("tick", True)]
    with flow.engine.db.sessions() as session:
        after = session.scalar(select(func.count()).select_from(ProcessDefinition).where(ProcessDefinition.key == "cycle_every"))
    assert after == before


def test_a_cycle_that_started_long_ago_fires_next_from_now_on() -> None:
    with at_most(2):  # 14 million minutes since 2000 were counted one by one
        due, payload = timers.first_occurrence("timeCycle", "R/2000-01-01T00:00:00Z/PT1M", NOW)  # type: ignore[misc]
    assert due == datetime(2026, 12, 6, 10, 1, tzinfo=UTC)
    assert payload["cycles_left"] == -1 and payload["interval"] == 60
    bounded = timers.first_occurrence("timeCycle", "R3/2026-12-06T09:00:00Z/PT10M", NOW)
    assert bounded is None  # its three occurrences all passed
    left = timers.first_occurrence("timeCycle", "R10/2026-12-06T09:00:00Z/PT10M", NOW)
    assert left is not None and left[0] == datetime(2026, 12, 6, 10, 10, tzinfo=UTC) and left[1]["cycles_left"] == 3


def test_occurrences_missed_in_an_outage_are_skipped_not_fired_one_after_another() -> None:
    payload = {"kind": "timeCycle", "cycles_left": -1, "interval": 3600.0}
    due = NOW - timedelta(days=10)
    following = timers.next_cycle(payload, due, NOW)
    assert following == (NOW + timedelta(hours=1), payload)  # 240 missed hours fired once, when the worker came back
    assert timers.next_cycle(payload, NOW, NOW) == (NOW + timedelta(hours=1), payload)  # on time: the next interval
    assert timers.next_cycle({**payload, "cycles_left": 5}, due, NOW) is None  # five occurrences were all missed
    assert timers.next_cycle({**payload, "interval": 0.0}, NOW, NOW) == (NOW + timedelta(minutes=1), {**payload, "interval": 0.0})


def test_a_cycle_from_the_data_repeats_at_most_once_a_minute(flow: Flow) -> None:
    """`R/PT0S` reaching a boundary cycle at run time would fire on every pass of every worker."""
    flow.engine.repository.deploy([("timer_cycle_nudge.bpmn", (FIXTURES / "timer_cycle_nudge.bpmn").read_bytes())], "admin")
    instance = flow.start("cs_agent1", "timer_cycle_nudge", {"every": "R/PT0S"})
    with flow.engine.db.sessions() as session:
        job = session.scalar(select(Job).where(Job.instance_id == instance.id, Job.status == "pending"))
    assert job is not None
    armed = _chases(flow, instance.id)
    assert armed <= 5  # SpiffWorkflow fires an interval of zero once per pass before the engine holds it
    with at_most(20):
        flow.engine.jobs.run_due(flow.engine.clock() + timedelta(seconds=5))
    assert _chases(flow, instance.id) <= armed + 1
    with at_most(20):  # after an outage of three hours: once, and the next one a minute later
        flow.engine.jobs.run_due(later := flow.engine.clock() + timedelta(hours=3))
    assert _chases(flow, instance.id) <= armed + 2
    with flow.engine.db.sessions() as session:
        pending = session.scalar(select(Job).where(Job.instance_id == instance.id, Job.status == "pending"))
    assert pending is not None and later < aware(pending.due_at) <= later + timedelta(minutes=1)  # type: ignore[operator]
    flow.assert_rows_mirror_workflow(instance.id)


def _chases(flow: Flow, instance_id: int) -> int:
    with flow.engine.db.sessions() as session:
        return session.scalar(select(func.count()).where(Task.instance_id == instance_id, Task.task_key == "chase")) or 0


def test_a_boundary_cycle_fires_at_every_occurrence(flow: Flow) -> None:
    """The job that fires a cycle is finished and the next occurrence gets a job of its own (the
    timer fired once and then waited for ever without one)."""
    flow.engine.repository.deploy([("timer_cycle_nudge.bpmn", (FIXTURES / "timer_cycle_nudge.bpmn").read_bytes())], "admin")
    instance = flow.start("cs_agent1", "timer_cycle_nudge", {"every": "R/PT1H"})
    start = flow.engine.clock()
    for hour in (1, 2, 3):
        flow.engine.jobs.run_due(start + timedelta(hours=hour, seconds=5))
        assert _chases(flow, instance.id) == hour
    flow.assert_rows_mirror_workflow(instance.id)
