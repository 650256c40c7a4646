"""How many SQL statements the hot paths send: each one is a round trip to the database, the largest
cost of an action (bench/ measures the time; this keeps the count from creeping back up)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

from sqlalchemy import event, select

from engine.clock import aware
from store.db import is_sqlite
from store.models import Job
from tests.flow import Flow

BENCH = Path(__file__).parents[2] / "bench"


@contextmanager
def statements(flow: Flow) -> Iterator[list[str]]:
    sent: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany) -> None:  # type: ignore[no-untyped-def]
        sent.append(statement)

    event.listen(flow.engine.db.engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(flow.engine.db.engine, "before_cursor_execute", record)


def sqlite_lock(flow: Flow) -> int:
    """SQLite takes its write lock with one extra no-op UPDATE per action."""
    return 1 if is_sqlite(flow.engine.db.engine) else 0


def deploy_bench(flow: Flow) -> None:
    names = ("five_steps.bpmn", "timer_process.bpmn")
    flow.engine.repository.deploy([(name, (BENCH / name).read_bytes()) for name in names], "admin")


def test_completing_a_task_that_opens_the_next_takes_seven_statements(flow: Flow) -> None:
    """Lock the instance, read the task, then write: the history line, the completed task, the
    next task, its candidates, the instance state. Nothing is read back."""
    deploy_bench(flow)
    instance = flow.start("cs_agent1", "bench_five_steps", {})
    task_id = flow.open_tasks(instance.id)[0].id
    with statements(flow) as sent:
        flow.engine.tasks.complete(flow.actor("cs_agent1"), task_id, {})
    assert [s.split()[0] for s in sent].count("SELECT") == 2
    assert len(sent) == 7 + sqlite_lock(flow), sent


def test_firing_a_timer_takes_five_statements_after_the_claim(flow: Flow) -> None:
    deploy_bench(flow)
    instance = flow.start("cs_agent1", "bench_timer", {})
    with flow.engine.db.sessions() as session:
        job = session.scalars(select(Job).where(Job.instance_id == instance.id)).one()
    with statements(flow) as sent:
        fired = flow.engine.jobs.run_due(aware(job.due_at) + timedelta(seconds=1), limit=1)  # type: ignore[operator]
    assert fired == 1 and flow.instance(instance.id).status == "completed"
    # claim (one UPDATE ... RETURNING), then: lock the instance, read the job, the history lines
    # (timer and end, one multi-row INSERT; SQLite sends each row alone), the job done, the state.
    assert len(sent) == 1 + 5 + 2 * sqlite_lock(flow), "\n".join(s.split("\n")[0][:90] for s in sent)


def test_an_api_token_is_checked_in_one_statement_then_remembered(flow: Flow) -> None:
    with flow.engine.db.transaction() as session:
        user = flow.engine.identity.user(session, "cs_agent1")
        token = flow.engine.identity.issue_token(session, user)
    with flow.engine.db.sessions() as session, statements(flow) as sent:
        found = flow.engine.identity.actor_for_token(session, token)
        again = flow.engine.identity.actor_for_token(session, token)  # within TOKEN_CACHE_SECONDS
        assert flow.engine.identity.actor_for_token(session, token + "x") is None
    assert found is not None and found.username == "cs_agent1" and "cs_agent" in found.roles and again == found
    assert len(sent) == 2  # the token once, the unknown one once
