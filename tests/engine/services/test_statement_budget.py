"""How many SQL statements the hot paths send, and how many times they wait for the database: each
wait is a network round trip, the largest cost of an action (bench/ measures the time; this keeps
the counts from creeping back up). BEGIN and COMMIT are not counted."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import event, select

from engine.clock import aware
from store.db import is_sqlite
from store.models import Job
from tests.flow import Flow

BENCH = Path(__file__).parents[3] / "bench"


@dataclass
class Sent:
    """The statements sent, and how many times the client waited for their answers: once per
    statement sent alone, once per pipeline (its statements stream together)."""

    statements: list[str] = field(default_factory=list)
    round_trips: int = 0
    _pipeline: Any = None

    def __len__(self) -> int:
        return len(self.statements)

    def __iter__(self) -> Iterator[str]:
        return iter(self.statements)


@contextmanager
def statements(flow: Flow) -> Iterator[Sent]:
    sent = Sent()

    def record(conn, cursor, statement, parameters, context, executemany) -> None:  # type: ignore[no-untyped-def]
        pipeline = getattr(conn.connection.dbapi_connection, "_pipeline", None)  # psycopg's, while store.writes sends
        if pipeline is None or pipeline is not sent._pipeline:
            sent.round_trips += 1
        sent._pipeline = pipeline
        sent.statements.append(statement)

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


def test_completing_a_task_that_opens_the_next_takes_eight_statements_and_three_waits(flow: Flow) -> None:
    """Lock the instance, read the task, then write: the completed task, the monitor's roll-up of
    the step, the history line, the next task, its candidates, the instance state. Nothing is read
    back, so on PostgreSQL the six writes stream to the server as one pipeline, right before COMMIT."""
    deploy_bench(flow)
    instance = flow.start("cs_agent1", "bench_five_steps", {})
    task_id = flow.open_tasks(instance.id)[0].id
    with statements(flow) as sent:
        flow.engine.tasks.complete(flow.actor("cs_agent1"), task_id, {})
    assert [s.split()[0] for s in sent].count("SELECT") == 2
    assert len(sent) == 8 + sqlite_lock(flow), list(sent)
    assert sent.round_trips == (9 if is_sqlite(flow.engine.db.engine) else 3)


def test_firing_a_timer_takes_seven_statements_and_four_waits_with_the_claim(flow: Flow) -> None:
    deploy_bench(flow)
    instance = flow.start("cs_agent1", "bench_timer", {})
    with flow.engine.db.sessions() as session:
        job = session.scalars(select(Job).where(Job.instance_id == instance.id)).one()
    flow.engine.jobs.run_due(aware(job.due_at) - timedelta(seconds=1))  # what falls due before it (the daily check) first  # type: ignore[operator]
    with statements(flow) as sent:
        fired = flow.engine.jobs.run_due(aware(job.due_at) + timedelta(seconds=1), limit=1)  # type: ignore[operator]
    assert fired == 1 and flow.instance(instance.id).status == "completed"
    # claim (one UPDATE ... RETURNING), then: lock the instance, read the job, then the writes: the
    # history lines (timer and end), the state, and the job done. On PostgreSQL the four writes
    # stream as one pipeline.
    assert len(sent) == 1 + 6 + sqlite_lock(flow), "\n".join(s.split("\n")[0][:90] for s in sent)
    assert sent.round_trips == (8 if is_sqlite(flow.engine.db.engine) else 4)


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
