"""The monitor's counters (engine.services.monitor_counters, migration 0018) always say what the
rows they count say: instance counts by version, status and starter and the open steps over the
whole database (every test's instances, however they were written), the starts/ends trend and the
report-field counts for the instances of a starter of the test's own; folding them changes no sum
and leaves one row per key; a report field not counted yet is built from the instances before it;
on PostgreSQL a delta committed during a fold is neither lost nor counted twice. The participant
links behind the instance lists name everyone who started, held or completed a task of an
instance."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from engine.clock import aware
from engine.process_engine import ProcessEngine
from engine.services import monitor_counters
from store.db import is_sqlite
from store.models import (
    CountedField,
    FieldCount,
    InstanceCount,
    InstanceField,
    InstancePerson,
    InstanceTrend,
    Job,
    OpenStep,
    ProcessInstance,
    Task,
)
from tests.data import COMPLAINT, approval_request
from tests.flow import Flow

KEY = ("definition_id", "process_key", "status", "started_by")


def grouped(session: Session, table: Any, total: Any) -> Counter[tuple]:
    """`total` per (version, process, status, starter) of a table's rows, keys with none left out."""
    keys = [getattr(table, k) for k in KEY]
    return Counter({tuple(k): n for *k, n in session.execute(select(*keys, total).group_by(*keys)) if n})


def instance_counts(engine: ProcessEngine) -> tuple[Counter[tuple], Counter[tuple]]:
    """(counted, live) per (version, process, status, starter)."""
    with engine.db.sessions() as session:
        return grouped(session, InstanceCount, func.sum(InstanceCount.n)), grouped(session, ProcessInstance, func.count())


def open_steps(engine: ProcessEngine) -> tuple[set[tuple], set[tuple]]:
    with engine.db.sessions() as session:
        copied = {
            tuple(r)
            for r in session.execute(
                select(OpenStep.task_id, OpenStep.instance_id, OpenStep.process_key, OpenStep.task_key, OpenStep.due_at, OpenStep.assignee)
            )
        }
        live = {
            tuple(r)
            for r in session.execute(
                select(Task.id, Task.instance_id, Task.process_key, Task.task_key, Task.due_at, Task.assignee).where(Task.status == "open")
            )
        }
    return copied, live


def participants(engine: ProcessEngine) -> tuple[set[tuple], set[tuple]]:
    """(linked, live): who took part in which instance, by the links and by the rows themselves."""
    with engine.db.sessions() as session:
        linked = {tuple(r) for r in session.execute(select(InstancePerson.username, InstancePerson.instance_id))}
        live = {
            tuple(r)
            for r in session.execute(select(ProcessInstance.started_by, ProcessInstance.id).where(ProcessInstance.started_by.is_not(None)))
        }
        for column in (Task.assignee, Task.completed_by):
            live |= {tuple(r) for r in session.execute(select(column, Task.instance_id).where(column.is_not(None)))}
    return linked, live


def hour(value: datetime) -> datetime:
    return aware(value).replace(minute=0, second=0, microsecond=0)  # type: ignore[union-attr]


def trend(engine: ProcessEngine, starter: str) -> tuple[Counter[tuple], Counter[tuple]]:
    """(counted, live) starts and ends per (process, UTC hour) of one starter's instances."""
    with engine.db.sessions() as session:
        counted: Counter[tuple] = Counter()
        for key, at, started, finished in session.execute(
            select(InstanceTrend.process_key, InstanceTrend.hour, InstanceTrend.started, InstanceTrend.finished).where(
                InstanceTrend.started_by == starter
            )
        ):
            counted[(key, hour(at), "started")] += started
            counted[(key, hour(at), "finished")] += finished
        live: Counter[tuple] = Counter()
        for key, started_at, ended_at in session.execute(
            select(ProcessInstance.process_key, ProcessInstance.started_at, ProcessInstance.ended_at).where(
                ProcessInstance.started_by == starter
            )
        ):
            live[(key, hour(started_at), "started")] += 1
            if ended_at is not None:
                live[(key, hour(ended_at), "finished")] += 1
    return +counted, live


def field_counts(engine: ProcessEngine, starter: str, process_key: str, name: str) -> tuple[Counter[str], Counter[str]]:
    """(counted, live) instances per value of a report field, of one starter's instances."""
    with engine.db.sessions() as session:
        counted = Counter(
            {
                text: n
                for text, n in session.execute(
                    select(FieldCount.text, func.sum(FieldCount.n))
                    .where(FieldCount.process_key == process_key, FieldCount.name == name, FieldCount.started_by == starter)
                    .group_by(FieldCount.text)
                )
                if n
            }
        )
        live = Counter(
            text or monitor_counters.NOT_SET
            for (text,) in session.execute(
                select(InstanceField.text)
                .select_from(ProcessInstance)
                .outerjoin(InstanceField, (InstanceField.instance_id == ProcessInstance.id) & (InstanceField.name == name))
                .where(ProcessInstance.process_key == process_key, ProcessInstance.started_by == starter)
            )
        )
    return counted, live


@pytest.fixture
def starter(new_user: Callable[..., str]) -> str:
    return new_user("counted", ["cs_agent", "store_staff"], superior="cs_sup")


def work(flow: Flow, starter: str) -> dict[str, Any]:
    """A starter's instances through every kind of change: started, a field set by a later step,
    completed, suspended, terminated, removed."""
    engine = flow.engine
    made = {name: flow.start(starter, "complaint_handling", COMPLAINT).id for name in ("assigned", "suspended", "terminated", "removed")}
    made["approved"] = flow.start(starter, "approval_chain", approval_request("store_expense", 300)).id
    flow.complete("cs_sup", made["assigned"], "assess", {"valid": True})
    flow.complete("cs_sup", made["assigned"], "assign_department", {"department": "quality"})
    engine.instances.suspend(flow.actor("admin"), made["suspended"], {"reason": "checking the customer's claim"})
    engine.instances.terminate(flow.actor("admin"), made["terminated"], {"reason": "entered twice"})
    with engine.db.transaction() as session:
        removed = session.get(ProcessInstance, made["removed"])
        made["removed_hour"] = hour(removed.started_at)  # type: ignore[union-attr]
        session.execute(delete(ProcessInstance).where(ProcessInstance.id == made["removed"]))
    return made


def catch_up(engine: ProcessEngine) -> None:
    with engine.db.transaction() as session:
        engine.counters.catch_up(session)


def test_the_counters_say_what_the_rows_say_before_and_after_a_fold(flow: Flow, starter: str) -> None:
    catch_up(flow.engine)  # the report fields counted (built once, the first time)
    made = work(flow, starter)
    for _fold in (False, True):
        counted, live = instance_counts(flow.engine)
        assert counted == live
        copied, open_live = open_steps(flow.engine)
        assert copied == open_live
        linked, took_part = participants(flow.engine)
        assert took_part <= linked  # everyone who took part can find the instance in their lists
        assert {p for p in linked if p[0] == starter} == {p for p in took_part if p[0] == starter}
        counted_trend, live_trend = trend(flow.engine, starter)
        # the removed instance's start stays in the trend (a past day's figure does not change)
        assert counted_trend - live_trend == Counter({("complaint_handling", made["removed_hour"], "started"): 1})
        assert live_trend - counted_trend == Counter()
        category, category_live = field_counts(flow.engine, starter, "complaint_handling", "category")
        assert category == Counter({"quality": 4}) and category_live == Counter({"quality": 3})  # the removed one counted
        department, _ = field_counts(flow.engine, starter, "complaint_handling", "department")
        assert department == Counter({"quality": 1, monitor_counters.NOT_SET: 3})
        request_type, request_type_live = field_counts(flow.engine, starter, "approval_chain", "request_type")
        assert request_type == request_type_live == Counter({"store_expense": 1})
        catch_up(flow.engine)


def test_a_fold_leaves_one_row_per_key(flow: Flow, starter: str) -> None:
    work(flow, starter)
    catch_up(flow.engine)
    with flow.engine.db.sessions() as session:
        keys = select(InstanceCount.definition_id, InstanceCount.status, InstanceCount.started_by).where(
            InstanceCount.started_by == starter
        )
        rows = session.execute(keys).all()
        assert rows and len(rows) == len(set(rows))
        zero = session.scalar(select(func.count()).select_from(InstanceCount).where(InstanceCount.n == 0))
        assert zero == 0  # a key whose instances all moved on leaves no row


def test_a_report_field_not_counted_yet_is_built_from_the_instances_before_it(flow: Flow, starter: str) -> None:
    work(flow, starter)
    with flow.engine.db.transaction() as session:  # as if the package had just added the field
        session.execute(delete(CountedField).where(CountedField.process_key == "complaint_handling", CountedField.name == "department"))
        session.execute(delete(FieldCount).where(FieldCount.process_key == "complaint_handling", FieldCount.name == "department"))
    assert field_counts(flow.engine, starter, "complaint_handling", "department")[0] == Counter()
    catch_up(flow.engine)
    counted, live = field_counts(flow.engine, starter, "complaint_handling", "department")
    assert counted == live == Counter({"quality": 1, monitor_counters.NOT_SET: 2})  # from what is there now
    with flow.engine.db.sessions() as session:
        assert session.get(CountedField, ("complaint_handling", "department")) is not None


def test_the_job_folds_and_comes_back(flow: Flow, starter: str) -> None:
    work(flow, starter)
    engine = flow.engine
    with engine.db.transaction() as session:
        session.execute(delete(Job).where(Job.kind == monitor_counters.COUNTERS_KIND))
        job = Job(
            kind=monitor_counters.COUNTERS_KIND,
            due_at=datetime.now(UTC),
            run_at=datetime.now(UTC),
            payload={},
            created_at=datetime.now(UTC),
        )
        session.add(job)
        session.flush()
        before = session.scalar(select(func.count()).select_from(InstanceCount))
        assert engine.counters.run(session, job, datetime.now(UTC)) == "fired"
        after = session.scalar(select(func.count()).select_from(InstanceCount))
        assert after < before  # the starter's four complaint starts, one row per key now
        following = session.scalars(select(Job.due_at).where(Job.kind == monitor_counters.COUNTERS_KIND, Job.id != job.id)).all()
    assert len(following) == 1 and aware(following[0]) > datetime.now(UTC)
    counted, live = instance_counts(engine)
    assert counted == live


def test_a_delta_committed_during_a_fold_is_kept_once(engine: ProcessEngine) -> None:
    if is_sqlite(engine.db.engine):
        pytest.skip("SQLite has one writer at a time: a fold and a delta cannot overlap")
    key = {"definition_id": 0, "process_key": "fold_race", "status": "running", "started_by": None}
    try:
        with engine.db.transaction() as session:
            session.execute(insert(InstanceCount), [{**key, "n": 1}] * 3)
        writer = engine.db.engine.connect()
        writer.begin()
        writer.execute(insert(InstanceCount), [{**key, "n": 1}] * 2)  # not committed while the fold runs
        folded = threading.Event()

        def fold() -> None:
            with engine.db.transaction() as session:
                monitor_counters.fold(session, monitor_counters.DELTAS[0])
            folded.set()

        thread = threading.Thread(target=fold)
        thread.start()
        thread.join(timeout=30)
        assert folded.is_set()  # the fold does not wait for the writer
        writer.commit()
        writer.close()
        with engine.db.sessions() as session:
            rows = session.scalars(select(InstanceCount.n).where(InstanceCount.process_key == "fold_race")).all()
        assert sorted(rows) == [1, 1, 3]  # the three folded, the two committed meanwhile left for the next fold
        with engine.db.transaction() as session:
            monitor_counters.fold(session, monitor_counters.DELTAS[0])
            assert session.scalars(select(InstanceCount.n).where(InstanceCount.process_key == "fold_race")).all() == [5]
    finally:
        with engine.db.transaction() as session:
            session.execute(delete(InstanceCount).where(InstanceCount.process_key == "fold_race"))
