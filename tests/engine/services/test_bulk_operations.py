"""Bulk operations over a search (admins): the preview splits the result into what will change and
what will not; the run changes exactly the previewed instances, skipping (and reporting) one that
changed meanwhile; a reason is required to suspend or terminate; others may not; one audit line
sums it up and each instance's history has its own."""

from __future__ import annotations

import secrets

import pytest
from sqlalchemy import select

from engine.errors import Forbidden, ValidationFailed
from engine.services.instance_search import InstanceSearch
from store.models import HistoryEvent
from tests.data import COMPLAINT
from tests.flow import Flow


def _complaints(flow: Flow, tag: str, n: int) -> list[int]:
    return [flow.start("cs_agent1", "complaint_handling", {**COMPLAINT, "customer": f"镇海{tag}石化有限公司"}).id for _ in range(n)]


def _search(tag: str) -> InstanceSearch:
    return InstanceSearch.from_params({"data.customer.like": tag})


def test_preview_then_suspend_exactly_the_previewed_instances(flow: Flow) -> None:
    tag = secrets.token_hex(4)
    first, second, third = _complaints(flow, tag, 3)
    admin = flow.actor("admin")
    flow.engine.instances.suspend(admin, third, {"reason": "已暂停"})
    with flow.engine.db.sessions() as session:
        plan = flow.engine.bulk.plan(session, admin, "suspend", "complaint_handling", None, _search(tag))
    assert {i.id for i in plan.changes} == {first, second} and {i.id for i in plan.skipped} == {third}
    assert plan.total == 3 and not plan.truncated
    flow.engine.instances.terminate(admin, second, {"reason": "重复登记"})  # changes between preview and run
    result = flow.engine.bulk.run(admin, "suspend", [str(i.id) for i in plan.changes], {"reason": "客户要求暂缓"})
    assert result.done == [first] and set(result.skipped) == {second} and "terminated" in result.skipped[second]
    assert flow.instance(first).status == "suspended" and flow.instance(second).status == "terminated"
    with flow.engine.db.sessions() as session:
        audit = session.scalars(select(HistoryEvent).where(HistoryEvent.action == "bulk.suspend").order_by(HistoryEvent.id.desc())).first()
        own = session.scalars(select(HistoryEvent).where(HistoryEvent.instance_id == first, HistoryEvent.action == "suspend")).one()
    assert audit is not None and audit.data["done"] == [first] and audit.comment == "客户要求暂缓"
    assert own.comment == "客户要求暂缓" and own.user == "admin"
    resumed = flow.engine.bulk.run(admin, "resume", [first, third], {})
    assert sorted(resumed.done) == sorted([first, third])
    assert flow.instance(third).status == "running"


def test_bad_requests_change_nothing(flow: Flow) -> None:
    tag = secrets.token_hex(4)
    (one,) = _complaints(flow, tag, 1)
    admin = flow.actor("admin")
    for action, ids, data, field in (
        ("suspend", [one], {}, "reason"),
        ("terminate", [one], {"reason": " "}, "reason"),
        ("delete", [one], {"reason": "x"}, "action"),
        ("suspend", [], {"reason": "x"}, "instances"),
        ("suspend", ["1; DROP TABLE"], {"reason": "x"}, "instances"),
        ("suspend", list(range(1, 502)), {"reason": "x"}, "instances"),
    ):
        with pytest.raises(ValidationFailed) as refused:
            flow.engine.bulk.run(admin, action, ids, data)
        assert field in refused.value.fields, (action, ids)
    assert flow.instance(one).status == "running"
    with pytest.raises(Forbidden):
        flow.engine.bulk.run(flow.actor("cs_sup"), "suspend", [one], {"reason": "x"})
    with flow.engine.db.sessions() as session, pytest.raises(Forbidden):
        flow.engine.bulk.plan(session, flow.actor("cs_sup"), "suspend", None, None, _search(tag))
    assert flow.instance(one).status == "running"
