"""The three processes driven through the REST API by the demo users."""

from __future__ import annotations

from typing import Any

from tests.conftest import FIXTURES, Api
from tests.data import COMPLAINT


def _task(api: Api, user: str, instance_id: int, key: str, scope: str = "available") -> dict[str, Any]:
    body = api.get(user, f"/api/v1/tasks?scope={scope}&instance_id={instance_id}").get_json()
    matches = [t for t in body["items"] if t["task_key"] == key]
    assert len(matches) == 1, (user, scope, key, body)
    return matches[0]


def _complete(api: Api, user: str, task_id: str, data: dict[str, Any]) -> dict[str, Any]:
    response = api.post(user, f"/api/v1/tasks/{task_id}/complete", json={"data": data})
    assert response.status_code == 200, response.get_json()
    return response.get_json()["instance"]


def test_completing_a_finished_task_again_is_a_conflict(api: Api) -> None:
    started = api.post(
        "store_staff",
        "/api/v1/process-instances",
        json={"process_key": "approval_chain", "data": {"request_type": "store_expense", "title": "灯箱维修", "amount": 800}},
    ).get_json()
    step = started["tasks"][0]
    _complete(api, "region_mgr", step["id"], {"decision": "approve"})
    again = api.post("region_mgr", f"/api/v1/tasks/{step['id']}/complete", json={"data": {"decision": "approve"}})
    assert again.status_code == 409 and again.get_json()["error"] == "conflict"
    claim = api.post("region_mgr", f"/api/v1/tasks/{step['id']}/claim")
    assert claim.status_code == 409


def test_start_validation_and_permission_errors(api: Api) -> None:
    bad = api.post(
        "cs_agent1",
        "/api/v1/process-instances",
        json={"process_key": "complaint_handling", "data": {"customer": "x", "category": "nope", "injected": 1}},
    )
    assert bad.status_code == 422
    assert set(bad.get_json()["fields"]) == {"category", "description", "injected"}
    assert api.post("sales1", "/api/v1/process-instances", json={"process_key": "complaint_handling", "data": COMPLAINT}).status_code == 403
    assert api.post("sales1", "/api/v1/process-instances", json={"process_key": "unknown_process", "data": {}}).status_code == 404


def test_definitions_list_read_and_xml(api: Api) -> None:
    listed = api.get("sales1", "/api/v1/process-definitions").get_json()
    keys = {d["key"] for d in listed}
    assert {"complaint_handling", "lead_qualification", "approval_chain"} <= keys
    one = api.get("sales1", "/api/v1/process-definitions/lead_qualification").get_json()
    assert one["may_start"] is True and one["versions"][0]["version"] == 1
    xml = api.get("sales1", "/api/v1/process-definitions/lead_qualification/xml")
    assert xml.status_code == 200 and xml.mimetype == "application/xml" and b"verify_lead" in xml.data


def test_only_admins_deploy_and_problems_come_per_element(api: Api) -> None:
    simple = (FIXTURES / "simple_review.bpmn").read_bytes().replace(b'id="simple_review"', b'id="api_deployed"')
    assert api.post("cs_sup", "/api/v1/process-definitions", data=simple, content_type="application/xml").status_code == 403
    created = api.post("admin", "/api/v1/process-definitions", data=simple, content_type="application/xml")
    assert created.status_code == 201 and created.get_json()["deployed"][0]["key"] == "api_deployed"
    broken = simple.replace(b'id="api_deployed"', b'id="api_broken"').replace(b"outcome = 'approved'", b"__import__('os').system('id')")
    refused = api.post(
        "admin",
        "/api/v1/process-definitions",
        data={"file": (__import__("io").BytesIO(broken), "b.bpmn")},
        content_type="multipart/form-data",
    )
    assert refused.status_code == 422
    body = refused.get_json()
    assert body["error"] == "invalid_definition" and any(p["element_id"] == "set_approved" for p in body["problems"])
    assert api.get("admin", "/api/v1/process-definitions/api_broken").status_code == 404
    huge = api.post(
        "admin", "/api/v1/process-definitions", data=b"<x>" + b" " * (11 * 1024 * 1024) + b"</x>", content_type="application/xml"
    )
    assert huge.status_code == 413 and huge.get_json()["error"] == "too_large"
