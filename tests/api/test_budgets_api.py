"""Department budgets (seed 000) over the API: finance sets a department's month; a department
expense that fits goes the usual chain (operations manager, gm), one that would take approved plus
pending over the budget follows the special-expense chain (finance, gm); a rejected or withdrawn
request frees its amount; the approvers see the figures on the card; two requests started at the
same moment that together exceed the budget are decided one after the other (no overspend from a
race); only finance and admins read or set budgets; bad input changes nothing."""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable
from typing import Any

import pytest

from engine.process_engine import ProcessEngine
from engine.services.identity import Actor
from tests.conftest import Api
from tests.data import approval_request
from tests.flow import Flow


@pytest.fixture
def department(engine: ProcessEngine, actors: Callable[[str], Actor], new_user: Callable[..., str]) -> dict[str, str]:
    """A department of the test's own, with one requester in it reporting to cs_sup."""
    code = f"dept_{secrets.token_hex(3)}"
    engine.admin.save_department(actors("admin"), code, {"name": f"测试部{code}"}, create=True)
    requester = new_user("req", ["cs_agent"], superior="cs_sup")
    engine.admin.update_user(actors("admin"), requester, {"department": code})
    month = engine.clock().astimezone(engine.settings.timezone).strftime("%Y-%m")
    return {"code": code, "requester": requester, "month": month, "path": f"/api/v1/admin/budgets/{code}/{month}"}


def _expense(flow: Flow, requester: str, amount: float) -> Any:
    return flow.start(requester, "approval_chain", approval_request("department_expense", amount))


def test_within_the_budget_the_usual_chain_over_it_the_special_one(api: Api, flow: Flow, department: dict[str, str]) -> None:
    assert api.call("PUT", "fin_mgr", department["path"], json={"amount": 10000}).get_json() == {
        "amount": 10000.0,
        "used": 0.0,
        "pending": 0.0,
        "remaining": 10000.0,
    }
    first = _expense(flow, department["requester"], 6000)
    assert flow.task(first.id, "approve").candidate_roles == "ops_manager"
    assert first.data["over_budget"] is False and first.data["budget_remaining"] == 10000
    second = _expense(flow, department["requester"], 5000)  # 6000 pending + 5000 > 10000
    step = flow.task(second.id, "approve")
    assert (step.candidate_roles, second.data["over_budget"]) == ("finance", True)
    assert second.data["budget_pending"] == 6000 and second.data["budget_remaining"] == 4000
    assert api.get("fin_mgr", department["path"]).get_json() == {"amount": 10000.0, "used": 0.0, "pending": 11000.0, "remaining": -1000.0}
    page = api.get("fin_mgr", f"/api/v1/process-instances/{second.id}").get_json()
    assert page["data"]["budget"] == 10000

    flow.complete("ops_mgr", first.id, "approve", {"decision": "approve"})
    flow.complete("gm", first.id, "approve", {"decision": "approve"})
    assert api.get("fin_mgr", department["path"]).get_json()["used"] == 6000.0  # approved counts as used
    flow.complete("fin_mgr", second.id, "approve", {"decision": "reject", "comment": "超预算"})
    assert api.get("fin_mgr", department["path"]).get_json() == {"amount": 10000.0, "used": 6000.0, "pending": 0.0, "remaining": 4000.0}
    third = _expense(flow, department["requester"], 4000)  # the rejected one freed its amount
    assert flow.task(third.id, "approve").candidate_roles == "ops_manager"


def test_a_withdrawn_request_frees_its_amount(api: Api, flow: Flow, department: dict[str, str]) -> None:
    api.call("PUT", "admin", department["path"], json={"amount": 1000})
    taken = _expense(flow, department["requester"], 900)
    flow.engine.requests.withdraw(flow.actor(department["requester"]), taken.id)
    assert api.get("admin", department["path"]).get_json()["pending"] == 0.0
    assert flow.task(_expense(flow, department["requester"], 900).id, "approve").candidate_roles == "ops_manager"


def test_without_a_budget_nothing_is_rerouted(flow: Flow, department: dict[str, str]) -> None:
    instance = _expense(flow, department["requester"], 9_000_000)
    assert flow.task(instance.id, "approve").candidate_roles == "ops_manager" and instance.data["over_budget"] is False


def test_two_requests_started_at_once_cannot_overspend_together(api: Api, flow: Flow, department: dict[str, str]) -> None:
    api.call("PUT", "fin_mgr", department["path"], json={"amount": 1000})
    barrier = threading.Barrier(2)
    started: list[Any] = []
    failures: list[BaseException] = []

    def start() -> None:
        try:
            barrier.wait(5)
            started.append(_expense(flow, department["requester"], 700))
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=start) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    if failures:  # SQLite may refuse the second writer outright (database is locked): then it started nothing
        assert len(started) == 1, failures
    else:
        assert len(started) == 2
        assert sorted(i.data["over_budget"] for i in started) == [False, True]  # the second one saw the first


def test_only_finance_and_admins_and_only_good_input(api: Api, department: dict[str, str]) -> None:
    assert api.call("PUT", "ops_mgr", department["path"], json={"amount": 5}).status_code == 403
    assert api.get("gm", department["path"]).status_code == 403
    for bad in ({}, {"amount": -1}, {"amount": "lots"}, {"amount": True}, {"amount": 1e30}, {"amount": "NaN"}):
        assert api.call("PUT", "fin_mgr", department["path"], json=bad).status_code == 422, bad
    for month in ("2026-13", "0000-01", "9999-12", "26-01"):  # not a month, or one whose next has no calendar
        assert api.call("PUT", "fin_mgr", f"/api/v1/admin/budgets/{department['code']}/{month}", json={"amount": 5}).status_code == 422
        assert api.get("fin_mgr", f"/api/v1/admin/budgets/{department['code']}/{month}").status_code == 422
    assert api.call("PUT", "fin_mgr", f"/api/v1/admin/budgets/no_such_dept/{department['month']}", json={"amount": 5}).status_code == 404
    assert api.get("fin_mgr", department["path"]).get_json()["amount"] is None  # nothing was set


def test_a_revised_request_is_checked_again_against_the_others(api: Api, flow: Flow, department: dict[str, str]) -> None:
    api.call("PUT", "fin_mgr", department["path"], json={"amount": 10000})
    instance = _expense(flow, department["requester"], 6000)
    flow.complete("ops_mgr", instance.id, "approve", {"decision": "return", "comment": "请拆分"})
    flow.complete(department["requester"], instance.id, "revise", approval_request("department_expense", 9000))
    step = flow.task(instance.id, "approve")  # 9000 of 10000: fits, its own earlier 6000 not counted twice
    assert step.candidate_roles == "ops_manager" and flow.instance(instance.id).data["budget_remaining"] == 10000
    flow.complete("ops_mgr", instance.id, "approve", {"decision": "return", "comment": "再改"})
    flow.complete(department["requester"], instance.id, "revise", approval_request("department_expense", 12000))
    assert flow.task(instance.id, "approve").candidate_roles == "finance"  # now over: the special chain
    assert flow.instance(instance.id).data["over_budget"] is True
