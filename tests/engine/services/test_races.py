"""Eight OS processes racing on the same tasks, messages and timers (PostgreSQL): no lost update,
no double completion, every loser told 409 (or 404 when nothing waits any more), and every
instance's state agreeing with its history and its worklist rows. Plus a completion killed
mid-transaction: the instance stays at its previous wait state."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path
from uuid import UUID

import pytest
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select

from engine.process_engine import ProcessEngine
from store.models import HistoryEvent, Job, Task
from tests.conftest import FIXTURES
from tests.flow import Flow

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(autouse=True)
def postgres_only(database_url: str) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("the multi-process races run against PostgreSQL, the production database")


def _deploy(engine: ProcessEngine, *names: str) -> None:
    engine.repository.deploy([(n, (FIXTURES / n).read_bytes()) for n in names], "admin")


def _race(url: str, plans: list[tuple[str, list[list[object]]]]) -> list[list[str]]:
    """Start one OS process per plan, release them all at once, collect their outcomes."""
    gate = Path(tempfile.mkdtemp(prefix="race-"))
    clients = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.engine.services.race_client", url, user, str(gate), json.dumps(plan)],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        for user, plan in plans
    ]  # fmt: skip
    deadline = time.monotonic() + 120
    while len(list(gate.glob("ready-*"))) < len(clients) and time.monotonic() < deadline:
        time.sleep(0.02)
    (gate / "go").write_text("go")
    results = []
    for client in clients:
        out, err = client.communicate(timeout=300)
        assert client.returncode == 0, err[-3000:]
        results.append(json.loads(out.strip().splitlines()[-1]))
    return results


def _consistent(flow: Flow, instance_id: int) -> None:
    """The engine state, the worklist rows and the history tell the same story."""
    with flow.engine.db.sessions() as session:
        instance = flow.instance(instance_id)
        workflow = flow.engine.runtime.load(session, instance)
        ready = {str(t.id) for t in workflow.get_tasks(state=TaskState.READY, manual=True)}
        open_rows = set(session.scalars(select(Task.id).where(Task.instance_id == instance_id, Task.status == "open")))
        completed_rows = list(session.scalars(select(Task.id).where(Task.instance_id == instance_id, Task.status == "completed")))
        completions = list(
            session.scalars(select(HistoryEvent.task_id).where(HistoryEvent.instance_id == instance_id, HistoryEvent.action == "complete"))
        )
        for task_id in completed_rows:
            spiff = workflow.get_task_from_id(UUID(task_id))
            assert spiff is not None and spiff.state == TaskState.COMPLETED
    assert ready == open_rows
    assert sorted(completions) == sorted(completed_rows)
    assert len(completions) == len(set(completions))


def test_eight_clients_race_on_claims_and_completions(flow: Flow, database_url: str) -> None:
    _deploy(flow.engine, "race_review.bpmn")
    instances = [flow.start("sales1", "race_review", {}).id for _ in range(12)]
    for key in ("first", "second"):
        tasks = [flow.task(i, key).id for i in instances]
        plans = []
        for client in range(8):
            user = "sales1" if client % 2 else "sales2"
            action = "claim_complete" if client % 4 < 2 else "complete"
            order = tasks if client % 3 else list(reversed(tasks))
            plans.append((user, [[action, t, {("note" if key == "first" else "note2"): f"client {client}"}] for t in order]))
        outcomes = Counter(o for result in _race(database_url, plans) for o in result)
        assert outcomes["ok"] == len(tasks), outcomes
        assert set(outcomes) <= {"ok", "conflict"}, outcomes
        assert outcomes["conflict"] == 8 * len(tasks) - len(tasks)
    for instance_id in instances:
        assert flow.instance(instance_id).status == "completed"
        _consistent(flow, instance_id)


def test_eight_clients_send_the_same_message_only_one_is_delivered(flow: Flow, database_url: str) -> None:
    _deploy(flow.engine, "await_payment.bpmn")
    instances = [flow.start("sales1", "await_payment", {"invoice": f"R-{i}"}).id for i in range(6)]
    plans = [("sales1", [["message", i, {"name": "payment_received", "payload": {"paid_by": c}}] for i in instances]) for c in range(8)]
    outcomes = Counter(o for result in _race(database_url, plans) for o in result)
    assert outcomes == Counter({"ok": len(instances), "not_found": 7 * len(instances)})
    for instance_id in instances:
        assert flow.task_keys(instance_id) == ["confirm"]
        assert [e.action for e in flow.history(instance_id)].count("message") == 1
        _consistent(flow, instance_id)


def test_a_timer_firing_during_completions_never_loses_either(flow: Flow, database_url: str) -> None:
    _deploy(flow.engine, "simple_review.bpmn")
    instances = [flow.start("cs_agent1", "simple_review", {"title": f"t{i}", "amount": 10}).id for i in range(10)]
    tasks = [flow.task(i, "review").id for i in instances]
    later = (flow.engine.clock() + timedelta(hours=25)).isoformat()
    plans = [("cs_sup", [["complete", t, {"approved": True}] for t in tasks]) for _ in range(4)]
    plans += [("admin", [["run_due", later, None]]) for _ in range(4)]
    outcomes = Counter(o for result in _race(database_url, plans) for o in result)
    assert outcomes["ok"] == len(tasks) + 4 and set(outcomes) <= {"ok", "conflict"}, outcomes
    with flow.engine.db.sessions() as session:
        jobs = session.scalars(select(Job).where(Job.instance_id.in_(instances), Job.element_id == "review_late")).all()
    for instance_id in instances:
        instance = flow.instance(instance_id)
        assert instance.status == "completed" and instance.data["outcome"] == "approved"
        timers = [e for e in flow.history(instance_id) if e.action == "timer"]
        job_states = {j.status for j in jobs if j.instance_id == instance_id}
        assert len(timers) <= 1
        assert job_states <= {"done", "obsolete"} and ("done" in job_states) == (len(timers) == 1)
        _consistent(flow, instance_id)


def test_a_completion_killed_before_commit_leaves_the_previous_wait_state(flow: Flow, database_url: str, tmp_path: Path) -> None:
    _deploy(flow.engine, "race_review.bpmn")
    instance = flow.start("sales1", "race_review", {})
    task_id = flow.task(instance.id, "first").id
    before = flow.instance(instance.id)
    pause = tmp_path / "paused"
    script = (
        "import sys, time, pathlib\n"
        "from engine.process_engine import ProcessEngine\nfrom store.db import Database\n"
        "engine = ProcessEngine(Database(sys.argv[1]))\n"
        "engine.tasks.before_commit = lambda task: (pathlib.Path(sys.argv[3]).write_text('x'), time.sleep(60))\n"
        "with engine.db.sessions() as s: actor = engine.identity.actor(s, 'sales2')\n"
        "engine.tasks.complete(actor, sys.argv[2], {'note': 'never committed'})\n"
    )
    victim = subprocess.Popen(
        [sys.executable, "-c", script, database_url, task_id, str(pause)], cwd=ROOT, stderr=subprocess.PIPE, text=True
    )
    deadline = time.monotonic() + 60
    while not pause.exists() and time.monotonic() < deadline and victim.poll() is None:
        time.sleep(0.05)
    assert pause.exists(), victim.communicate()[1][-2000:]
    os.kill(victim.pid, signal.SIGKILL)
    victim.wait()
    after = flow.instance(instance.id)
    assert after.row_version == before.row_version and after.state == before.state
    assert flow.task_keys(instance.id) == ["first"] and flow.task(instance.id, "first").assignee is None
    _consistent(flow, instance.id)
    flow.complete("sales1", instance.id, "first", {"note": "after the crash"})
    assert flow.task_keys(instance.id) == ["second"]
    _consistent(flow, instance.id)
