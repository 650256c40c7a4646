"""Instance operations over the API: admins suspend, resume and terminate (200, the instance
back); everyone else who sees the instance gets 403, the rest 404; a reason is required (422); a
suspended instance's task answers claim and completion with 409 `suspended`."""

from __future__ import annotations

from typing import Any

from processes.demo import USERS as DEMO_USERS
from tests.conftest import Api
from tests.data import COMPLAINT


def _complaint(api: Api) -> dict[str, Any]:
    made = api.post("cs_agent1", "/api/v1/process-instances", json={"process_key": "complaint_handling", "data": COMPLAINT})
    assert made.status_code == 201, made.get_json()
    return made.get_json()


def test_only_admins_operate_and_the_others_get_403_or_404(api: Api) -> None:
    for operation in ("suspend", "terminate"):
        for user in DEMO_USERS:
            if user == "admin":
                continue
            case = _complaint(api)
            sees = api.get(user, f"/api/v1/process-instances/{case['id']}").status_code == 200
            answer = api.post(user, f"/api/v1/process-instances/{case['id']}/{operation}", json={"reason": "x"})
            assert answer.status_code == (403 if sees else 404), (operation, user, answer.get_json())
        case = _complaint(api)
        done = api.post("admin", f"/api/v1/process-instances/{case['id']}/{operation}", json={"reason": "管理员操作"})
        assert done.status_code == 200 and done.get_json()["status"] == ("suspended" if operation == "suspend" else "terminated")


def test_a_suspended_instances_task_answers_409_suspended_until_resumed(api: Api) -> None:
    case = _complaint(api)
    task = case["tasks"][0]["id"]
    assert api.post("admin", f"/api/v1/process-instances/{case['id']}/suspend", json={}).status_code == 422  # no reason
    assert api.post("admin", f"/api/v1/process-instances/{case['id']}/suspend", json={"reason": "核实中"}).status_code == 200
    for path, body in ((f"/api/v1/tasks/{task}/claim", None), (f"/api/v1/tasks/{task}/complete", {"data": {"valid": True}})):
        answer = api.post("cs_sup", path, json=body)
        assert answer.status_code == 409 and answer.get_json()["error"] == "suspended", answer.get_json()
    again = api.post("admin", f"/api/v1/process-instances/{case['id']}/suspend", json={"reason": "再次"})
    assert again.status_code == 409
    resumed = api.post("admin", f"/api/v1/process-instances/{case['id']}/resume")  # no body: no reason needed
    assert resumed.status_code == 200 and resumed.get_json()["status"] == "running"
    assert api.post("cs_sup", f"/api/v1/tasks/{task}/complete", json={"data": {"valid": True}}).status_code == 200
    history = [(h["action"], h["user"]) for h in api.get("admin", f"/api/v1/process-instances/{case['id']}").get_json()["history"]]
    assert ("suspend", "admin") in history and ("resume", "admin") in history
    assert api.post("admin", "/api/v1/process-instances/2147483647/terminate", json={"reason": "x"}).status_code == 404


def test_admins_operate_in_bulk_over_the_api(api: Api) -> None:
    running, other = _complaint(api), _complaint(api)
    api.post("admin", f"/api/v1/process-instances/{other['id']}/terminate", json={"reason": "重复"})
    answer = api.post(
        "admin", "/api/v1/process-instances/bulk", json={"action": "suspend", "instances": [running["id"], other["id"]], "reason": "核查"}
    )
    assert answer.status_code == 200
    body = answer.get_json()
    assert body["done"] == [running["id"]] and list(body["skipped"]) == [str(other["id"])]
    assert api.get("admin", f"/api/v1/process-instances/{running['id']}").get_json()["status"] == "suspended"
    assert api.post("cs_sup", "/api/v1/process-instances/bulk", json={"action": "resume", "instances": [running["id"]]}).status_code == 403
    refused = api.post("admin", "/api/v1/process-instances/bulk", json={"action": "terminate", "instances": [running["id"]]})
    assert refused.status_code == 422 and "reason" in refused.get_json()["fields"]
