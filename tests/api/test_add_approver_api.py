"""加签 over the API: the approver of a chain step adds someone after themself (they approve next,
then the chain goes on) or before themself (the step goes to them now and comes back); the added
person decides with the step's form; the history says who added whom where; never the requester,
never by someone who may not decide the step, never on a step of another kind."""

from __future__ import annotations

from typing import Any

from tests.conftest import Api
from tests.data import COMPLAINT, approval_request

ADD = "/api/v1/tasks/{}/add-approver"


def _request(api: Api) -> int:
    made = api.post(
        "store_staff", "/api/v1/process-instances", json={"process_key": "approval_chain", "data": approval_request("store_expense", 520)}
    )
    return int(made.get_json()["id"])


def _step(api: Api, user: str, instance_id: int) -> dict[str, Any]:
    tasks = api.get(user, f"/api/v1/process-instances/{instance_id}").get_json()["tasks"]
    assert len(tasks) == 1, tasks
    return tasks[0]  # type: ignore[no-any-return]


def _approve(api: Api, user: str, instance_id: int) -> None:
    done = api.post(user, f"/api/v1/tasks/{_step(api, user, instance_id)['id']}/complete", json={"data": {"decision": "approve"}})
    assert done.status_code == 200, (user, done.get_json())


def test_an_approver_added_after_oneself_approves_next(api: Api) -> None:
    instance_id = _request(api)
    step = _step(api, "region_mgr", instance_id)
    added = api.post("region_mgr", ADD.format(step["id"]), json={"username": "fin_mgr", "position": "after"})
    assert added.status_code == 200, added.get_json()
    assert added.get_json()["approvers"] == ["region_manager", "user:fin_mgr", "ops_manager"]
    _approve(api, "region_mgr", instance_id)
    assert _step(api, "fin_mgr", instance_id)["candidate_users"] == ["fin_mgr"]  # theirs alone
    _approve(api, "fin_mgr", instance_id)
    _approve(api, "ops_mgr", instance_id)  # then the chain goes on
    instance = api.get("store_staff", f"/api/v1/process-instances/{instance_id}").get_json()
    assert instance["status"] == "completed" and instance["data"]["outcome"] == "approved"
    lines = [(h["user"], h["action"]) for h in instance["history"] if h["action"] in ("add_approver", "complete")]
    assert lines == [("region_mgr", "add_approver"), ("region_mgr", "complete"), ("fin_mgr", "complete"), ("ops_mgr", "complete")]


def test_an_approver_added_before_oneself_decides_first_and_the_step_comes_back(api: Api) -> None:
    instance_id = _request(api)
    step = _step(api, "region_mgr", instance_id)
    added = api.post("region_mgr", ADD.format(step["id"]), json={"username": "qa_lead", "position": "before"})
    assert added.get_json()["approvers"] == ["region_manager", "user:region_mgr", "ops_manager"]
    assert _step(api, "qa_lead", instance_id)["assignee"] == "qa_lead"  # theirs now
    _approve(api, "qa_lead", instance_id)
    assert _step(api, "region_mgr", instance_id)["candidate_users"] == ["region_mgr"]  # back to the approver
    _approve(api, "region_mgr", instance_id)
    assert _step(api, "ops_mgr", instance_id)["candidate_users"] == ["ops_mgr"]


def test_who_may_add_and_whom(api: Api) -> None:
    instance_id = _request(api)
    step = _step(api, "region_mgr", instance_id)["id"]
    assert (
        api.post("ops_mgr", ADD.format(step), json={"username": "fin_mgr", "position": "after"}).status_code == 403
    )  # sees, may not decide
    assert api.post("sales1", ADD.format(step), json={"username": "fin_mgr", "position": "after"}).status_code == 404
    for bad in (
        {"username": "store_staff", "position": "after"},  # the requester
        {"username": "region_mgr", "position": "after"},  # oneself
        {"username": "nobody_at_all", "position": "after"},
        {"username": "fin_mgr", "position": "sideways"},
        {},
    ):
        assert api.post("region_mgr", ADD.format(step), json=bad).status_code == 422, bad
    assert _step(api, "region_mgr", instance_id)["assignee"] is None  # nothing changed
    made = api.post("cs_agent1", "/api/v1/process-instances", json={"process_key": "complaint_handling", "data": COMPLAINT}).get_json()
    assess = _step(api, "cs_sup", made["id"])["id"]
    assert api.post("cs_sup", ADD.format(assess), json={"username": "qa_lead", "position": "after"}).status_code == 409


def test_an_unknown_or_malformed_task_is_404(api: Api) -> None:
    for task_id in ("00000000-0000-4000-8000-000000000000", "not-a-task", "x" * 300):
        assert api.post("region_mgr", ADD.format(task_id), json={"username": "fin_mgr", "position": "after"}).status_code == 404
    assert (
        api.post("region_mgr", ADD.format("%00"), json={"username": "fin_mgr", "position": "after"}).status_code == 400
    )  # refused on the way in
