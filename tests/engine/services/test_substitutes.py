"""Out of office (代理人): while someone is away their substitute sees and may act on the work
assigned or offered to them, the history says whom they acted for, four-eyes still holds, and the
arrangement starts and ends with its dates."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import select

from engine.errors import Forbidden, NotFound, ValidationFailed
from store.models import HistoryEvent, Notification, Substitute
from tests.data import approval_request
from tests.flow import Flow


@pytest.fixture
def away(new_user: Callable[..., str]) -> str:
    """A region manager of their own, reporting to ops_mgr (other tests' substitutes stay out)."""
    return new_user("mgr", ["region_manager"], superior="ops_mgr", display_name="休假经理")


@pytest.fixture
def requester(new_user: Callable[..., str], away: str) -> str:
    """Store staff of the absent manager's own region: their requests go to that manager."""
    return new_user("req", ["store_staff"], superior=away)


@pytest.fixture
def stand_in(new_user: Callable[..., str]) -> str:
    """Someone without the region manager's role, who will stand in for them."""
    return new_user("sub", ["cs_agent"], display_name="代理人")


def _days(flow: Flow, start: int, end: int) -> dict[str, str]:
    today = flow.engine.identity.today()
    return {"from": (today + timedelta(days=start)).isoformat(), "until": (today + timedelta(days=end)).isoformat()}


def _scope_ids(flow: Flow, username: str, scope: str, instance_id: int) -> set[str]:
    with flow.engine.db.sessions() as session:
        rows, _ = flow.engine.tasks.query(session, flow.actor(username), scope, instance_id=instance_id)
    return {t.id for t in rows}


def _tabs(flow: Flow, username: str) -> list[str]:
    with flow.engine.db.sessions() as session:
        return flow.engine.worklist.tabs(session, flow.actor(username))


def test_the_substitute_sees_and_completes_the_pool_work_of_the_absent_person_for_them(
    flow: Flow, away: str, stand_in: str, requester: str
) -> None:
    instance = flow.start(requester, "approval_chain", approval_request("store_expense", 900))
    step = flow.task(instance.id, "approve")  # offered to the requester's own region manager
    with pytest.raises(NotFound):  # not offered to them: they do not even see it
        flow.engine.tasks.claim(flow.actor(stand_in), step.id)
    assert "substitute" not in _tabs(flow, stand_in)

    arrangement = flow.engine.substitutes.name(flow.actor(away), away, {"username": stand_in, **_days(flow, 0, 3)})
    assert arrangement.active

    assert "substitute" in _tabs(flow, stand_in)
    assert step.id in _scope_ids(flow, stand_in, "substitute", instance.id)
    assert step.id not in _scope_ids(flow, stand_in, "available", instance.id)  # not theirs: it is for whom they stand in
    with flow.engine.db.sessions() as session:
        assert flow.engine.authorization.task_actions(session, flow.actor(stand_in), flow.task(instance.id, "approve")).claim
        assert flow.engine.tasks.scope_count(session, flow.actor(stand_in), "substitute") >= 1
        note = session.scalar(select(Notification).where(Notification.username == stand_in, Notification.kind == "substitute"))
    assert note is not None and "休假经理" in note.message  # the substitute is told

    flow.complete(stand_in, instance.id, "approve", {"decision": "approve", "comment": "代为审批"})
    done = [e for e in flow.history(instance.id) if e.action == "complete" and e.task_id == step.id]
    assert [(e.user, e.on_behalf_of) for e in done] == [(stand_in, away)]
    with flow.engine.db.sessions() as session:
        assert flow.engine.tasks.get(session, flow.actor(stand_in), step.id).completed_by == stand_in  # still theirs to look at


def test_work_assigned_to_the_absent_person_is_the_substitutes_to_finish(flow: Flow, away: str, stand_in: str, requester: str) -> None:
    instance = flow.start(requester, "approval_chain", approval_request("store_expense", 800))
    step = flow.task(instance.id, "approve")
    flow.engine.tasks.claim(flow.actor(away), step.id)  # taken before leaving
    flow.engine.substitutes.name(flow.actor("ops_mgr"), away, {"username": stand_in, **_days(flow, 0, 0)})  # by their superior

    assert step.id in _scope_ids(flow, stand_in, "substitute", instance.id)
    with flow.engine.db.sessions() as session:
        assert flow.engine.authorization.may_view_instance(session, flow.actor(stand_in), flow.instance(instance.id))
    flow.engine.tasks.unclaim(flow.actor(stand_in), step.id)  # back to the pool, for the absent person
    flow.engine.tasks.claim(flow.actor(stand_in), step.id)
    claims = [e for e in flow.history(instance.id) if e.action in ("unclaim", "claim") and e.user == stand_in]
    assert [(e.action, e.on_behalf_of) for e in claims] == [("unclaim", away), ("claim", away)]
    flow.complete(stand_in, instance.id, "approve", {"decision": "approve"})
    assert flow.instance(instance.id).status == "running"  # on to the next step of the chain


def test_four_eyes_holds_for_the_substitute_too(flow: Flow, away: str, requester: str) -> None:
    """The requester never decides their own request, not even for someone away."""
    flow.engine.substitutes.name(flow.actor(away), away, {"username": requester, **_days(flow, 0, 1)})
    instance = flow.start(requester, "approval_chain", approval_request("store_expense", 700))
    step = flow.task(instance.id, "approve")
    assert step.candidate_users == away  # theirs, and the requester stands in for them
    with flow.engine.db.sessions() as session:
        assert not flow.engine.authorization.stands_in_for(session, flow.actor(requester), step)
    with pytest.raises((Forbidden, NotFound)):
        flow.engine.tasks.claim(flow.actor(requester), step.id)
    with pytest.raises((Forbidden, NotFound)):
        flow.engine.tasks.complete(flow.actor(requester), step.id, {"decision": "approve"})
    assert flow.task(instance.id, "approve").assignee is None


def test_it_starts_and_ends_with_its_dates(flow: Flow, away: str, stand_in: str, requester: str) -> None:
    instance = flow.start(requester, "approval_chain", approval_request("store_expense", 600))
    step = flow.task(instance.id, "approve")

    flow.engine.substitutes.name(flow.actor(away), away, {"username": stand_in, **_days(flow, 1, 5)})  # from tomorrow
    with flow.engine.db.sessions() as session:
        assert not flow.engine.substitutes.get(session, flow.actor(away), away).active
    assert "substitute" not in _tabs(flow, stand_in)
    with pytest.raises(NotFound):
        flow.engine.tasks.claim(flow.actor(stand_in), step.id)

    with flow.engine.db.transaction() as session:  # as if named last week, for days now past
        row = session.get(Substitute, away)
        row.starts_on, row.ends_on = flow.engine.identity.today() - timedelta(days=7), flow.engine.identity.today() - timedelta(days=1)
    assert "substitute" not in _tabs(flow, stand_in)
    with pytest.raises(NotFound):
        flow.engine.tasks.claim(flow.actor(stand_in), step.id)
    with flow.engine.db.sessions() as session:
        assert flow.engine.substitutes.get(session, flow.actor(away), away) is None  # over: nothing to show
        assert not flow.engine.authorization.may_view_task(session, flow.actor(stand_in), step)


def test_who_may_name_a_substitute_and_what_is_refused(flow: Flow, away: str, stand_in: str) -> None:
    days = _days(flow, 0, 2)
    with pytest.raises(Forbidden):  # a colleague may not
        flow.engine.substitutes.name(flow.actor("sales2"), away, {"username": stand_in, **days})
    with pytest.raises(NotFound):
        flow.engine.substitutes.name(flow.actor("admin"), "nobody_here", {"username": stand_in, **days})
    refused = [
        ({"username": away, **days}, "username"),  # oneself
        ({"username": "nobody_here", **days}, "username"),
        ({"username": stand_in, **_days(flow, 3, 1)}, "until"),  # ends before it starts
        ({"username": stand_in, **_days(flow, -9, -2)}, "until"),  # over already
        ({"username": stand_in, **_days(flow, 0, 400)}, "until"),  # a handover, not an absence
        ({"username": stand_in, "from": "next monday", "until": days["until"]}, "from"),
        ({"username": stand_in}, "from"),
    ]
    for body, field in refused:
        with pytest.raises(ValidationFailed) as caught:
            flow.engine.substitutes.name(flow.actor("admin"), away, body)
        assert field in caught.value.fields, body
    with flow.engine.db.sessions() as session:
        assert session.get(Substitute, away) is None  # nothing half-written

    flow.engine.substitutes.name(flow.actor("admin"), away, {"username": stand_in, **days})
    with flow.engine.db.sessions() as session:
        covering = flow.engine.substitutes.covering(session, flow.actor(stand_in))
        audit = session.scalars(select(HistoryEvent).where(HistoryEvent.action == "substitute.set", HistoryEvent.user == "admin")).all()
    assert [a.username for a in covering] == [away]
    assert any((e.data or {}).get("username") == away for e in audit)
    assert flow.engine.substitutes.clear(flow.actor(away), away) is True
    assert flow.engine.substitutes.clear(flow.actor(away), away) is False
