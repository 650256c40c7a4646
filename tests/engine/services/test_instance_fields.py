"""An instance's business fields are kept for search with its state, in the same transaction: a
start writes them, a step writes what it changed (one more statement in the step's pipeline, no
more waits), a field that disappears goes; the search finds instances by each kind of field
(text in any case, options, numbers in any spelling, number and date ranges, containing, any field),
by their open step and by overdue steps."""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event, select

from engine import config
from engine.clock import aware
from engine.errors import ValidationFailed
from engine.services import instance_fields
from engine.services.instance_search import InstanceSearch
from store.db import is_sqlite
from store.models import InstanceField, Task
from tests.data import COMPLAINT
from tests.flow import Flow


def _fields(flow: Flow, instance_id: int) -> dict[str, tuple[str, float | None]]:
    with flow.engine.db.sessions() as session:
        rows = session.scalars(select(InstanceField).where(InstanceField.instance_id == instance_id))
        return {r.name: (r.text, r.number) for r in rows}


def _found(flow: Flow, user: str, **params: Any) -> set[int]:
    search = InstanceSearch.from_params(params)
    with flow.engine.db.sessions() as session:
        rows, _total = flow.engine.runtime.query(session, flow.actor(user), limit=200, search=search)
        return {r.id for r in rows}


def test_the_stored_text_of_a_value() -> None:
    assert instance_fields.text_of("  Quality ") == "quality"
    assert instance_fields.text_of(500.0) == instance_fields.text_of(500) == "500"
    assert instance_fields.text_of(12.5) == "12.5"
    assert instance_fields.text_of(True) == "true"
    assert instance_fields.text_of(["a"]) is None and instance_fields.text_of("   ") is None
    found = instance_fields.fields_of({"b": 1, "a": "x", "_hidden": "y", "bad name": "z", "nested": {"k": 1}})
    assert found == {"a": ("x", None), "b": ("1", 1.0)}
    assert len(instance_fields.fields_of({f"f{i:03}": i for i in range(500)})) == instance_fields.MAX_FIELDS


def test_a_start_writes_the_fields_and_a_step_writes_what_it_changed(flow: Flow) -> None:
    instance = flow.start("cs_agent1", "complaint_handling", {**COMPLAINT, "severity": "high"})
    stored = _fields(flow, instance.id)
    assert stored["customer"] == (COMPLAINT["customer"].lower(), None)
    assert stored["category"] == ("quality", None) and stored["severity"] == ("high", None)
    assert "valid" not in stored
    flow.complete("cs_sup", instance.id, "assess", {"valid": True, "note": "属实"})
    stored = _fields(flow, instance.id)
    assert stored["valid"] == ("true", None) and stored["note"] == ("属实", None)
    # The rows agree with the data the instance holds (nothing missed, nothing left over).
    assert stored == instance_fields.fields_of(flow.instance(instance.id).data)


def test_a_step_that_changes_data_adds_one_statement_to_its_pipeline_and_no_wait(flow: Flow) -> None:
    instance = flow.start("cs_agent1", "complaint_handling", COMPLAINT)
    task_id = flow.task(instance.id, "assess").id
    sent: list[tuple[str, Any]] = []  # (statement, the psycopg pipeline it streamed in)

    def record(conn, _cursor, statement, *_args) -> None:  # type: ignore[no-untyped-def]
        sent.append((statement, getattr(conn.connection.dbapi_connection, "_pipeline", None)))

    event.listen(flow.engine.db.engine, "before_cursor_execute", record)
    try:
        flow.engine.tasks.complete(flow.actor("cs_sup"), task_id, {"valid": True, "note": "属实"})
    finally:
        event.remove(flow.engine.db.engine, "before_cursor_execute", record)
    at = [i for i, (statement, _pipeline) in enumerate(sent) if "instance_fields" in statement]
    assert len(at) == 1 and sent[at[0]][0].lstrip().upper().startswith("INSERT"), sent
    if not is_sqlite(flow.engine.db.engine):
        # It streams in one pipeline with the step's other writes: no wait of its own.
        pipeline = sent[at[0]][1]
        assert pipeline is not None and sum(1 for _statement, p in sent if p is pipeline) > 1


def test_search_by_each_kind_of_field(flow: Flow) -> None:
    tag = secrets.token_hex(4)
    customer = f"余姚{tag}塑料制品有限公司"
    high = flow.start("cs_agent1", "complaint_handling", {**COMPLAINT, "customer": customer, "severity": "high", "category": "quality"})
    low = flow.start("cs_agent1", "complaint_handling", {**COMPLAINT, "customer": customer, "severity": "low", "category": "transport"})
    due = flow.start(
        "sales_asst",
        "receivable_collection",
        {"customer": customer, "contract_no": f"HT-{tag}", "amount": 12500.0, "due_date": "2027-03-15", "owner": "sales1"},
    )
    mine_ids = {high.id, low.id, due.id}
    assert _found(flow, "admin", **{"data.customer": customer.upper()}) == mine_ids  # text, any case
    assert _found(flow, "admin", **{"data.customer": customer, "data.severity": "high"}) == {high.id}  # an option
    assert _found(flow, "admin", **{"data.contract_no.like": tag.upper()}) == {due.id}  # containing
    assert _found(flow, "admin", q=f"ht-{tag}") == {due.id}  # any field containing the text
    assert _found(flow, "admin", **{"data.customer": customer, "data.amount": "12500.00"}) == {due.id}  # a number, any spelling
    assert _found(flow, "admin", **{"data.customer": customer, "data.amount.gte": "12000", "data.amount.lte": "13000"}) == {due.id}
    assert _found(flow, "admin", **{"data.customer": customer, "data.amount.gte": "12501"}) == set()
    assert _found(flow, "admin", **{"data.customer": customer, "data.due_date.gte": "2027-03-15"}) == {due.id}  # ISO dates
    assert _found(flow, "admin", **{"data.customer": customer, "data.due_date.lte": "2027-03-14"}) == set()
    assert _found(flow, "admin", **{"data.customer": customer, "step": "assess"}) == {high.id, low.id}  # an open step


def test_overdue_finds_the_instances_with_an_open_step_past_its_due_time(flow: Flow) -> None:
    tag = secrets.token_hex(4)
    instance = flow.start("cs_agent1", "complaint_handling", {**COMPLAINT, "customer": f"北仑{tag}五金厂"})
    search = InstanceSearch.from_params({"data.customer": f"北仑{tag}五金厂", "overdue": "1"})
    zone = config.current().timezone
    with flow.engine.db.sessions() as session:
        due = aware(session.scalars(select(Task.due_at).where(Task.instance_id == instance.id, Task.status == "open")).one())
        found = {
            when: set(session.scalars(search.matching(None, None, zone, when)[0]))
            for when in (due - timedelta(minutes=1), due + timedelta(minutes=1))  # type: ignore[operator]
        }
    assert found == {due - timedelta(minutes=1): set(), due + timedelta(minutes=1): {instance.id}}  # type: ignore[operator]


@pytest.mark.parametrize(
    ("params", "name"),
    [
        ({"data.amount.gte": "soon"}, "data.amount.gte"),
        ({"data.x.between": "1"}, "data.x.between"),
        ({"step": "bad step!"}, "step"),
        ({"overdue": "perhaps"}, "overdue"),
        ({"sort": "customer"}, "sort"),
        ({"started_to": "2027-13-01"}, "started_to"),
    ],
)
def test_a_bad_parameter_is_refused_by_name(params: dict[str, str], name: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        InstanceSearch.from_params(params)
    assert name in refused.value.fields
