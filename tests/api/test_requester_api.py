"""The requester's own actions on a running request over the API (API.md "Contract additions"):
withdraw (撤回) by the requester only, ending it `terminated` with outcome `withdrawn`, its steps
out of every worklist and its approver told; urge (催办) notifying whoever the request waits for,
once an hour (429 with Retry-After); 404 for those who may not see the request."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from engine.process_engine import ProcessEngine
from store.models import HistoryEvent, Notification, Task
from tests.conftest import Api
from tests.data import COMPLAINT, approval_request

WITHDRAW = "/api/v1/process-instances/{}/withdraw"
URGE = "/api/v1/process-instances/{}/urge"


def _request(api: Api, user: str = "store_staff", amount: float = 640) -> int:
    made = api.post(
        user, "/api/v1/process-instances", json={"process_key": "approval_chain", "data": approval_request("store_expense", amount)}
    )
    assert made.status_code == 201, made.get_json()
    return int(made.get_json()["id"])


def _notices(engine: ProcessEngine, instance_id: int, kind: str) -> list[str]:
    with engine.db.sessions() as session:
        return sorted(
            session.scalars(select(Notification.username).where(Notification.instance_id == instance_id, Notification.kind == kind))
        )


def test_the_requester_withdraws_a_running_request(api: Api, engine: ProcessEngine) -> None:
    instance_id = _request(api)
    task_id = api.get("region_mgr", f"/api/v1/process-instances/{instance_id}").get_json()["tasks"][0]["id"]
    answer = api.post("store_staff", WITHDRAW.format(instance_id), json={"reason": "填错了金额"})
    assert answer.status_code == 200, answer.get_json()
    body = answer.get_json()
    assert body["status"] == "terminated" and body["data"]["outcome"] == "withdrawn"
    assert body["tasks"] == []
    with engine.db.sessions() as session:
        assert session.get(Task, task_id).status == "cancelled"  # type: ignore[union-attr]
        line = session.scalars(select(HistoryEvent).where(HistoryEvent.instance_id == instance_id, HistoryEvent.action == "withdraw")).one()
    assert (line.user, line.comment) == ("store_staff", "填错了金额")
    assert _notices(engine, instance_id, "withdrawn") == ["region_mgr"]
    listed = api.get("region_mgr", "/api/v1/tasks?scope=available&process_key=approval_chain&limit=200").get_json()["items"]
    assert task_id not in {t["id"] for t in listed}
    again = api.post("store_staff", WITHDRAW.format(instance_id))
    assert again.status_code == 409


def test_only_the_requester_may_withdraw(api: Api) -> None:
    instance_id = _request(api)
    assert api.post("region_mgr", WITHDRAW.format(instance_id), json={}).status_code == 403  # sees it, not theirs
    assert api.post("admin", WITHDRAW.format(instance_id), json={}).status_code == 403  # admins terminate instead
    assert api.post("sales1", WITHDRAW.format(instance_id), json={}).status_code == 404  # may not see it
    assert api.get("store_staff", f"/api/v1/process-instances/{instance_id}").get_json()["status"] == "running"


def test_a_process_that_allows_no_withdrawal_refuses_it(api: Api) -> None:
    made = api.post("cs_agent1", "/api/v1/process-instances", json={"process_key": "complaint_handling", "data": COMPLAINT})
    assert api.post("cs_agent1", WITHDRAW.format(made.get_json()["id"]), json={}).status_code == 403


def test_a_bad_reason_changes_nothing(api: Api) -> None:
    instance_id = _request(api)
    assert api.post("store_staff", WITHDRAW.format(instance_id), json={"reason": 5}).status_code == 422
    assert api.post("store_staff", WITHDRAW.format(instance_id), json={"reason": "x" * 1001}).status_code == 422
    assert api.get("store_staff", f"/api/v1/process-instances/{instance_id}").get_json()["status"] == "running"


def test_urge_tells_the_approver_once_an_hour(api: Api, engine: ProcessEngine) -> None:
    instance_id = _request(api)
    first = api.post("store_staff", URGE.format(instance_id))
    assert first.status_code == 200 and first.get_json() == {"notified": ["region_mgr"]}
    assert _notices(engine, instance_id, "urge") == ["region_mgr"]
    again = api.post("store_staff", URGE.format(instance_id))
    assert again.status_code == 429 and again.get_json()["error"] == "too_soon"
    assert 3500 <= int(again.headers["Retry-After"]) <= 3601
    assert _notices(engine, instance_id, "urge") == ["region_mgr"]  # the refusal told no one
    with engine.db.transaction() as session:  # an hour goes by
        urged = session.scalars(select(HistoryEvent).where(HistoryEvent.instance_id == instance_id, HistoryEvent.action == "urge")).one()
        urged.at -= timedelta(hours=1, seconds=1)
    assert api.post("store_staff", URGE.format(instance_id)).status_code == 200
    assert _notices(engine, instance_id, "urge") == ["region_mgr", "region_mgr"]


def test_only_the_requester_may_urge_and_only_a_running_request(api: Api) -> None:
    instance_id = _request(api)
    assert api.post("region_mgr", URGE.format(instance_id)).status_code == 403
    assert api.post("sales1", URGE.format(instance_id)).status_code == 404
    assert api.post("store_staff", URGE.format(2147483647)).status_code == 404
    api.post("store_staff", WITHDRAW.format(instance_id), json={})
    assert api.post("store_staff", URGE.format(instance_id)).status_code == 409


COMMENTS = "/api/v1/process-instances/{}/comments"


def test_whoever_may_see_a_request_comments_on_it_and_the_others_are_told(api: Api, engine: ProcessEngine) -> None:
    instance_id = _request(api)
    added = api.post("region_mgr", COMMENTS.format(instance_id), json={"text": "  请补充发票照片  "})
    assert added.status_code == 201, added.get_json()
    assert added.get_json()["text"] == "请补充发票照片" and added.get_json()["user"] == "region_mgr"
    assert api.post("store_staff", COMMENTS.format(instance_id), json={"text": "已补充"}).status_code == 201
    listed = api.get("store_staff", COMMENTS.format(instance_id)).get_json()["items"]
    assert [(c["user"], c["text"]) for c in listed] == [("region_mgr", "请补充发票照片"), ("store_staff", "已补充")]
    history = api.get("store_staff", f"/api/v1/process-instances/{instance_id}").get_json()["history"]
    assert [h["user"] for h in history if h["action"] == "comment"] == ["region_mgr", "store_staff"]
    assert _notices(engine, instance_id, "comment") == ["region_mgr", "store_staff"]  # each told of the other's


def test_a_comment_needs_text_a_viewer_and_a_running_request(api: Api) -> None:
    instance_id = _request(api)
    for bad in ({}, {"text": "   "}, {"text": 7}, {"text": "长" * 2001}):
        assert api.post("store_staff", COMMENTS.format(instance_id), json=bad).status_code == 422
    assert api.post("sales1", COMMENTS.format(instance_id), json={"text": "x"}).status_code == 404
    assert api.get("sales1", COMMENTS.format(instance_id)).status_code == 404
    assert api.get("store_staff", COMMENTS.format(instance_id)).get_json()["items"] == []
    api.post("store_staff", WITHDRAW.format(instance_id), json={})
    assert api.post("store_staff", COMMENTS.format(instance_id), json={"text": "x"}).status_code == 409


def test_a_request_copies_people_who_may_read_it_and_are_told_its_outcome(api: Api, engine: ProcessEngine) -> None:
    # sales1 could not see a store's expense; copied, they find it in their list and are told.
    data = {**approval_request("store_expense", 210), "cc": "sales1、 mkt_mgr,store_staff"}
    made = api.post("store_staff", "/api/v1/process-instances", json={"process_key": "approval_chain", "data": data})
    assert made.status_code == 201, made.get_json()
    instance_id = made.get_json()["id"]
    assert made.get_json()["data"]["cc"] == "sales1,mkt_mgr"  # the requester left out, the separators made one
    assert api.get("sales1", f"/api/v1/process-instances/{instance_id}").status_code == 200
    assert instance_id in {i["id"] for i in api.get("sales1", "/api/v1/process-instances?limit=200").get_json()["items"]}
    for approver in ("region_mgr", "ops_mgr"):
        task_id = api.get(approver, f"/api/v1/process-instances/{instance_id}").get_json()["tasks"][0]["id"]
        done = api.post(approver, f"/api/v1/tasks/{task_id}/complete", json={"data": {"decision": "approve"}})
        assert done.status_code == 200, done.get_json()
    assert _notices(engine, instance_id, "cc") == ["mkt_mgr", "sales1"]


def test_copying_an_unknown_user_is_refused_and_starts_nothing(api: Api) -> None:
    before = api.get("store_staff", "/api/v1/process-instances?limit=1").get_json()["total"]
    data = {**approval_request("store_expense", 211), "cc": "sales1, nobody_here"}
    refused = api.post("store_staff", "/api/v1/process-instances", json={"process_key": "approval_chain", "data": data})
    assert refused.status_code == 422 and "nobody_here" in refused.get_json()["fields"]["cc"]
    assert api.get("store_staff", "/api/v1/process-instances?limit=1").get_json()["total"] == before


def test_the_copied_are_told_of_a_withdrawal(api: Api, engine: ProcessEngine) -> None:
    data = {**approval_request("store_expense", 212), "cc": "fin_mgr"}
    instance_id = api.post("store_staff", "/api/v1/process-instances", json={"process_key": "approval_chain", "data": data}).get_json()[
        "id"
    ]
    api.post("store_staff", WITHDRAW.format(instance_id), json={})
    assert _notices(engine, instance_id, "cc") == ["fin_mgr"]
