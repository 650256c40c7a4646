"""Loops run as long as the process says: the engine prunes the history it no longer needs, so a
long-running instance neither slows down nor outgrows what SpiffWorkflow can follow. A loop that
never waits, or one that cannot be pruned, stops with a readable error and changes nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from engine.bpmn import pruning, stepping
from engine.clock import aware
from engine.errors import ProcessError
from store.models import Job, ProcessInstance
from tests.conftest import FIXTURES
from tests.flow import Flow


def deploy(flow: Flow, *names: str) -> None:
    flow.engine.repository.deploy([(name, (FIXTURES / name).read_bytes()) for name in names], "admin")


def workflow_of(flow: Flow, instance_id: int):  # type: ignore[no-untyped-def]
    with flow.engine.db.sessions() as session:
        instance = session.get(ProcessInstance, instance_id)
        assert instance is not None
        return flow.engine.runtime.load(session, instance), len(instance.state)


def test_a_script_loop_of_two_thousand_rounds_reaches_its_task(flow: Flow) -> None:
    deploy(flow, "long_loop.bpmn")
    instance = flow.start("cs_agent1", "long_loop", {"rounds": 2000})
    assert instance.status == "running" and flow.task_keys(instance.id) == ["check"]
    assert instance.data["count"] == 2000
    workflow, _ = workflow_of(flow, instance.id)
    assert pruning.deepest_level(workflow) < 2 * pruning.PRUNE_DEPTH


def test_every_round_of_a_long_user_task_loop_is_counted_and_the_state_stays_flat(flow: Flow) -> None:
    """Each round forks into a reviewed branch with a deadline and an embedded subprocess. Without
    pruning the tree passes SpiffWorkflow's reach after about 140 rounds."""
    deploy(flow, "loop_rounds.bpmn")
    rounds = 200
    instance = flow.start("cs_agent1", "loop_rounds", {"rounds": rounds})
    sizes: list[int] = []
    for done in range(1, rounds + 1):
        instance = flow.complete("cs_agent1", instance.id, "review", {})
        assert instance.data["count"] == done
        workflow, size = workflow_of(flow, instance.id)
        sizes.append(size)
        assert pruning.deepest_level(workflow) < 2 * pruning.PRUNE_DEPTH
        assert len(workflow.subprocesses) < 10  # not one per round: those of pruned rounds are gone
    assert flow.task_keys(instance.id) == ["finish"]
    # The state saws between prunings; its peaks late in the loop are those of the first rounds.
    assert max(sizes[150:]) <= 1.2 * max(sizes[10:60])
    instance = flow.complete("cs_agent1", instance.id, "finish", {})
    assert instance.status == "completed" and instance.data["count"] == rounds


def test_a_deadline_late_in_a_long_loop_fires_on_the_current_round_only(flow: Flow) -> None:
    deploy(flow, "loop_rounds.bpmn")
    instance = flow.start("cs_agent1", "loop_rounds", {"rounds": 120})
    for _ in range(100):
        instance = flow.complete("cs_agent1", instance.id, "review", {})
    with flow.engine.db.sessions() as session:
        pending = list(session.scalars(select(Job).where(Job.instance_id == instance.id, Job.status == "pending")))
    assert len(pending) == 1 and pending[0].element_id == "too_late"
    flow.engine.jobs.run_due(aware(pending[0].due_at) + timedelta(seconds=1), limit=1)  # not the next round's too
    instance = flow.instance(instance.id)
    assert instance.data["late"] == 1 and instance.data["count"] == 101
    assert flow.task_keys(instance.id) == ["review"]  # the next round began with a new deadline
    with flow.engine.db.sessions() as session:
        assert session.scalar(select(func.count()).where(Job.instance_id == instance.id, Job.status == "pending")) == 1


def test_a_loop_that_never_waits_is_stopped_and_nothing_is_written(flow: Flow, monkeypatch: pytest.MonkeyPatch) -> None:
    deploy(flow, "long_loop.bpmn")
    monkeypatch.setattr(stepping, "MAX_ENGINE_ROUNDS", 500)
    with flow.engine.db.sessions() as session:
        before = session.scalar(select(func.count()).select_from(ProcessInstance))
    with pytest.raises(ProcessError, match="without reaching a wait state; a loop does not end"):
        flow.start("cs_agent1", "long_loop", {"rounds": 10**9})
    with flow.engine.db.sessions() as session:
        assert session.scalar(select(func.count()).select_from(ProcessInstance)) == before


def test_a_loop_beside_a_waiting_branch_is_refused_before_the_engine_loses_sight(flow: Flow) -> None:
    """The waiting branch keeps the fork alive, so the loop's rounds cannot be pruned; rather than
    let SpiffWorkflow stop seeing tasks (and call the instance completed), the action fails."""
    deploy(flow, "loop_beside_wait.bpmn")
    short = flow.start("cs_agent1", "loop_beside_wait", {"rounds": 50})
    assert short.status == "running" and flow.task_keys(short.id) == []
    with pytest.raises(ProcessError, match="beside a branch that is still open"):
        flow.start("cs_agent1", "loop_beside_wait", {"rounds": 400})
