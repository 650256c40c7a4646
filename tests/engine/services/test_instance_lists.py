"""An instance list (RuntimeService.query) shows exactly the instances the per-instance rule
(Authorization.visible_instances_clause) lets the caller see, in the asked order, page by page, with
the total of them all: the unfiltered list of a non-admin reads the newest ids of each visible set
(engine.authorization.visible_instance_sets), so these tests compare it with the rule over the
whole shared database, every other test's instances included."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from engine import config
from engine.process_engine import ProcessEngine
from engine.services import runtime
from engine.services.instance_search import InstanceSearch
from store.models import InstanceField, ProcessInstance, Task, TaskCandidate
from tests.data import COMPLAINT, approval_request
from tests.flow import Flow


def by_the_rule(engine: ProcessEngine, username: str, newest_first: bool = True) -> list[int]:
    with engine.db.sessions() as session:
        actor = engine.identity.actor(session, username)
        clause = engine.authorization.visible_instances_clause(session, actor)
        order = ProcessInstance.id.desc() if newest_first else ProcessInstance.id.asc()
        return list(session.scalars(select(ProcessInstance.id).where(clause).order_by(order)))


def listed(engine: ProcessEngine, username: str, page_size: int, sort: str = "-started") -> tuple[list[int], set[int]]:
    """Every page of the unfiltered list, concatenated, and the totals the pages gave."""
    ids: list[int] = []
    totals: set[int] = set()
    search = InstanceSearch.from_params({"sort": sort})
    with engine.db.sessions() as session:
        actor = engine.identity.actor(session, username)
        while True:
            rows, total = engine.runtime.query(session, actor, limit=page_size, offset=len(ids), search=search)
            totals.add(total)
            if not rows:
                return ids, totals
            ids += [r.id for r in rows]


@pytest.fixture
def team(flow: Flow, new_user: Callable[..., str]) -> dict[str, object]:
    """A supervisor of the test's own with two reports, and instances that reach them each way:
    started by the lead, started by a report, handled by a report, and offered to the lead's role
    without anyone of the team taking part; and one they must not see."""
    lead = new_user("lead", ["cs_agent"], superior="cs_sup")
    report = new_user("report", ["cs_agent", "store_staff"], superior=lead)
    other = new_user("report", ["cs_agent", "cs_supervisor"], superior=lead)
    outsider = new_user("outsider", ["cs_agent", "store_staff"])
    made = {
        "by_lead": flow.start(lead, "complaint_handling", COMPLAINT).id,
        "by_report": flow.start(report, "approval_chain", approval_request("store_expense", 120)).id,
        "handled": flow.start(outsider, "complaint_handling", COMPLAINT).id,
        "unseen": flow.start(outsider, "approval_chain", approval_request("store_expense", 90)).id,
        "twice": flow.start(report, "complaint_handling", COMPLAINT).id,
    }
    for amount in (10, 20, 30):  # one set longer than a page
        flow.start(report, "approval_chain", approval_request("store_expense", amount))
    flow.complete(other, made["handled"], "assess", {"valid": True})
    return {"lead": lead, "report": report, "other": other, "outsider": outsider, **made}


def test_a_team_leads_list_is_the_rule_page_by_page_newest_first(flow: Flow, team: dict[str, object]) -> None:
    ids, totals = listed(flow.engine, str(team["lead"]), page_size=2)
    expected = by_the_rule(flow.engine, str(team["lead"]))
    assert ids == expected
    assert totals == {len(expected)}  # the page past the end says it too
    assert {team["by_lead"], team["by_report"], team["handled"], team["twice"]} <= set(ids)
    assert team["unseen"] not in ids


def test_the_oldest_first_list_is_the_same_set_reversed(flow: Flow, team: dict[str, object]) -> None:
    ids, _ = listed(flow.engine, str(team["lead"]), page_size=3, sort="started")
    assert ids == by_the_rule(flow.engine, str(team["lead"]), newest_first=False)


def test_a_supervisors_list_counts_every_visible_instance_once(flow: Flow, team: dict[str, object]) -> None:
    # cs_sup: the whole customer-service team's instances over the shared database, and every
    # complaint waiting for assessment, offered to their role, whoever started it.
    offered = flow.start(str(team["outsider"]), "complaint_handling", COMPLAINT).id
    ids, totals = listed(flow.engine, "cs_sup", page_size=4)
    expected = by_the_rule(flow.engine, "cs_sup")
    assert ids == expected
    assert len(ids) == len(set(ids))
    assert max(totals) == len(expected)
    assert offered in ids  # offered to cs_supervisor, no one of the team took part yet


def test_a_page_past_the_end_is_empty_with_the_total(flow: Flow, team: dict[str, object]) -> None:
    engine = flow.engine
    expected = by_the_rule(engine, str(team["report"]))
    with engine.db.sessions() as session:
        actor = engine.identity.actor(session, str(team["report"]))
        rows, total = engine.runtime.query(session, actor, limit=10, offset=len(expected) + 10)
    assert rows == [] and total == len(expected)


def test_an_offered_step_names_its_instance(flow: Flow, team: dict[str, object]) -> None:
    # The candidate rows carry their task's instance (the insert trigger, migration 0019), for
    # every writer: the sets read it.
    with flow.engine.db.sessions() as session:
        pairs = session.execute(select(TaskCandidate.instance_id, Task.instance_id).join(Task, Task.id == TaskCandidate.task_id)).all()
    assert pairs and all(candidate == task for candidate, task in pairs)


def test_past_the_cap_the_total_says_so_and_the_pages_go_on(flow: Flow, team: dict[str, object], monkeypatch: pytest.MonkeyPatch) -> None:
    # The team lead sees more instances than a cap of 3: the total is the cap, marked inexact,
    # and paging on still gives every instance once.
    monkeypatch.setattr(runtime, "TOTAL_CAP", 3)
    ids, totals = listed(flow.engine, str(team["lead"]), page_size=2)
    expected = by_the_rule(flow.engine, str(team["lead"]))
    assert len(expected) > 3 and ids == expected
    assert totals == {3}
    with flow.engine.db.sessions() as session:
        actor = flow.engine.identity.actor(session, str(team["lead"]))
        _rows, total = flow.engine.runtime.query(session, actor, limit=2)
    assert total.exact is False


def test_under_the_cap_the_total_is_exact(flow: Flow, team: dict[str, object], monkeypatch: pytest.MonkeyPatch) -> None:
    expected = by_the_rule(flow.engine, str(team["lead"]))
    monkeypatch.setattr(runtime, "TOTAL_CAP", len(expected))
    with flow.engine.db.sessions() as session:
        actor = flow.engine.identity.actor(session, str(team["lead"]))
        _rows, total = flow.engine.runtime.query(session, actor, limit=2)
    assert total == len(expected) and total.exact is True


def searched(engine: ProcessEngine, username: str, params: dict[str, str], page_size: int) -> tuple[list[int], list[object]]:
    """Every page of a search, concatenated, and the totals the pages gave."""
    ids: list[int] = []
    totals: list[object] = []
    search = InstanceSearch.from_params(params)
    with engine.db.sessions() as session:
        actor = engine.identity.actor(session, username)
        while True:
            rows, total = engine.runtime.query(session, actor, params.get("process_key"), limit=page_size, offset=len(ids), search=search)
            totals.append((int(total), total.exact))
            if not rows:
                return ids, totals
            ids += [r.id for r in rows]


def test_a_field_search_of_one_process_is_the_rule_page_by_page(flow: Flow, team: dict[str, object]) -> None:
    # The team's approval requests of 10, 20 and 30 (and 120) by amount and type: field rows of
    # one process joined to each other, the visibility rule checked on each match.
    params = {"process_key": "approval_chain", "data.request_type": "store_expense", "data.amount.lte": "30"}
    visible = set(by_the_rule(flow.engine, str(team["lead"])))
    with flow.engine.db.sessions() as session:
        matching, _id = InstanceSearch.from_params(params).matching("approval_chain", None, config.current().timezone, datetime.now(UTC))
        everything = set(session.scalars(matching))
    ids, totals = searched(flow.engine, str(team["lead"]), params, page_size=2)
    assert len(ids) == 3 and ids == sorted(visible & everything, reverse=True)
    assert totals[0] == (3, True)
    admin_ids, admin_totals = searched(flow.engine, "admin", params, page_size=2)
    assert admin_ids == sorted(everything, reverse=True) and set(ids) <= set(admin_ids)
    assert admin_totals[0] == (len(everything), True)


def test_a_search_past_the_cap_says_so_for_admins_too(flow: Flow, team: dict[str, object], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runtime, "TOTAL_CAP", 2)
    params = {"process_key": "approval_chain", "data.request_type": "store_expense"}
    ids, totals = searched(flow.engine, "admin", params, page_size=2)
    assert len(ids) > 2 and totals[0] == (2, False)  # the first page: more than the cap matched
    if len(ids) % 2:  # a last page not full: the count is what came before it and on it
        assert totals[-2] == (len(ids), True)
    lead_ids, lead_totals = searched(flow.engine, str(team["lead"]), params, page_size=2)
    assert len(lead_ids) >= 4 and lead_totals[0] == (2, False) and set(lead_ids) <= set(ids)


def test_field_rows_name_their_process(flow: Flow, team: dict[str, object]) -> None:
    with flow.engine.db.sessions() as session:
        pairs = session.execute(
            select(InstanceField.process_key, ProcessInstance.process_key)
            .join(ProcessInstance, ProcessInstance.id == InstanceField.instance_id)
            .where(ProcessInstance.id.in_([int(team["by_lead"]), int(team["by_report"])]))  # type: ignore[call-overload]
        ).all()
    assert {p for p, _ in pairs} == {"complaint_handling", "approval_chain"} and all(a == b for a, b in pairs)
