"""The customer file over the API: one authorization table for every demo user against a customer
of sales1 (sales1 -> sales_dir -> gm), the duplicate answer, the timeline and bad input."""

from __future__ import annotations

import secrets
from typing import Any

import pytest

from processes.demo import USERS as DEMO_USERS
from tests.conftest import Api
from tests.data import COMPLAINT
from tests.flow import Flow

# Who is special to sales1's customer; every other demo user is an outsider to it.
COLUMNS = ("admin", "gm", "sales_dir", "sales_asst", "sales1", "sales2", "outsider")
OUTSIDERS = tuple(u for u in DEMO_USERS if u not in COLUMNS)
MATRIX: dict[str, tuple[int, ...]] = {
    "list": (200, 200, 200, 200, 200, 200, 200),
    "create": (201, 201, 201, 201, 201, 201, 403),
    "read": (200, 200, 200, 200, 200, 404, 404),
    "change notes": (200, 403, 200, 200, 200, 404, 404),  # the gm is an indirect superior: views
    "give to sales2": (200, 403, 200, 403, 403, 404, 404),
    "add contact": (201, 403, 201, 201, 201, 404, 404),
    "log activity": (201, 201, 201, 201, 201, 404, 404),
}


def _customer(api: Api) -> tuple[int, str]:
    name = f"镇海{secrets.token_hex(3)}化工有限公司"
    made = api.post("sales1", "/api/v1/customers", json={"name": name})
    assert made.status_code == 201, made.get_json()
    return int(made.get_json()["id"]), name


def _call(api: Api, operation: str, user: str, customer: int, name: str) -> Any:
    path = f"/api/v1/customers/{customer}"
    calls = {
        "list": lambda: api.get(user, f"/api/v1/customers?q={name}"),
        "create": lambda: api.post(user, "/api/v1/customers", json={"name": f"{user}{secrets.token_hex(4)}贸易"}),
        "read": lambda: api.get(user, path),
        "change notes": lambda: api.call("PATCH", user, path, json={"notes": f"{user} 的备注"}),
        "give to sales2": lambda: api.call("PATCH", user, path, json={"owner": "sales2"}),
        "add contact": lambda: api.post(user, f"{path}/contacts", json={"name": "张三"}),
        "log activity": lambda: api.post(user, f"{path}/activities", json={"kind": "call", "summary": "电话回访"}),
    }
    return calls[operation]()


@pytest.mark.parametrize("operation", list(MATRIX))
def test_customer_authorization_matrix(api: Api, operation: str) -> None:
    expected = dict(zip(COLUMNS, MATRIX[operation], strict=True))
    actual = {}
    for user in (*COLUMNS[:-1], *OUTSIDERS):
        customer, name = _customer(api)  # a fresh customer per call: no call depends on another's effect
        response = _call(api, operation, user, customer, name)
        actual[user] = response.status_code
        if operation == "list":  # the list holds the customer exactly for those who may read it
            readers = dict(zip(COLUMNS, MATRIX["read"], strict=True))
            listed = [c["id"] for c in response.get_json()["items"]]
            assert listed == ([customer] if readers.get(user, readers["outsider"]) == 200 else []), user
    wanted = {user: expected.get(user, expected["outsider"]) for user in actual}
    assert actual == wanted
    assert len(actual) == len(DEMO_USERS)


def test_a_duplicate_answers_409_with_the_existing_id(api: Api) -> None:
    name = f"象山{secrets.token_hex(3)}水产有限公司"
    first = api.post("sales1", "/api/v1/customers", json={"name": name}).get_json()
    again = api.post("sales2", "/api/v1/customers", json={"name": f" {name} "})
    assert again.status_code == 409
    assert again.get_json()["error"] == "duplicate" and again.get_json()["existing_id"] == first["id"]


def test_the_customer_shows_contacts_and_a_timeline_across_processes(api: Api) -> None:
    name = f"鄞州{secrets.token_hex(3)}纺织有限公司"
    customer = api.post("sales1", "/api/v1/customers", json={"name": name, "industry": "纺织"}).get_json()
    complaint = api.post(
        "cs_agent1", "/api/v1/process-instances", json={"process_key": "complaint_handling", "data": {**COMPLAINT, "customer": name}}
    )
    assert complaint.status_code == 201
    assert (
        api.post("sales1", f"/api/v1/customers/{customer['id']}/contacts", json={"name": "陈经理", "birthday": "1975-03-02"}).status_code
        == 201
    )
    activity = api.post(
        "sales1",
        f"/api/v1/customers/{customer['id']}/activities",
        json={"kind": "visit", "summary": "上门拜访", "next_at": "2099-01-05", "next_step": "寄样品"},
    )
    assert activity.status_code == 201 and activity.get_json()["next_at"].startswith("2099-01-05T01:00:00")  # 09:00 in Shanghai
    body = api.get("sales1", f"/api/v1/customers/{customer['id']}").get_json()
    assert [c["name"] for c in body["contacts"]] == ["陈经理"] and body["contacts"][0]["birthday"] == "1975-03-02"
    assert [(e["kind"], e.get("instance_id")) for e in body["timeline"]] == [("activity", None), ("complaint", complaint.get_json()["id"])]
    assert api.get("cs_agent1", f"/api/v1/customers/{customer['id']}").status_code == 200  # their complaint's customer
    found = api.get("sales_dir", f"/api/v1/customers?q={name[:6]}&industry=纺织").get_json()
    assert [c["id"] for c in found["items"]] == [customer["id"]] and found["total"] == 1


def test_bad_input_is_refused_and_changes_nothing(api: Api) -> None:
    assert api.post("sales1", "/api/v1/customers", json={"name": ""}).status_code == 422
    assert api.post("sales1", "/api/v1/customers", json={"name": "x" * 301}).status_code == 422
    assert api.post("sales1", "/api/v1/customers", data="[]", content_type="application/json").status_code == 400
    customer, _name = _customer(api)
    bad = api.call("PATCH", "sales1", f"/api/v1/customers/{customer}", json={"status": "vip", "grade": "Z"})
    assert bad.status_code == 422 and set(bad.get_json()["fields"]) == {"status", "grade"}
    assert api.get("sales1", f"/api/v1/customers/{customer}").get_json()["status"] == "potential"
    assert api.get("sales1", "/api/v1/customers/2147483647").status_code == 404
    assert api.get("sales1", "/api/v1/customers?limit=0").status_code == 400
    late = api.post("sales1", f"/api/v1/customers/{customer}/activities", json={"kind": "call", "summary": "x", "next_at": "tomorrow"})
    assert late.status_code == 422 and "next_at" in late.get_json()["fields"]
    edge = api.post(
        "sales1", f"/api/v1/customers/{customer}/activities", json={"kind": "call", "summary": "x", "at": "9999-12-31T23:59:59-08:00"}
    )
    assert edge.status_code == 422 and "at" in edge.get_json()["fields"]  # past the last representable instant in UTC


def test_opportunities_over_the_api(api: Api, flow: Flow) -> None:
    from tests.data import lead

    instance = flow.start("sales1", "lead_qualification", lead(estimated_value=300_000))
    flow.complete("sales1", instance.id, "verify_lead", {"outcome": "qualified", "grade": "A"})
    flow.complete("sales_dir", instance.id, "director_review", {"decision": "approve"})
    opportunity = flow.instance(instance.id).data["opportunity_id"]
    mine = {o["id"]: o for o in api.get("sales1", "/api/v1/opportunities?owner=sales1").get_json()["items"]}
    assert opportunity in mine and mine[opportunity]["untouched_days"] == 0 and mine[opportunity]["flagged"] is False
    assert opportunity not in {o["id"] for o in api.get("sales2", "/api/v1/opportunities").get_json()["items"]}
    path = f"/api/v1/opportunities/{opportunity}"
    assert api.call("PATCH", "sales2", path, json={"stage": "won"}).status_code == 404
    assert api.call("PATCH", "sales1", path, json={"stage": "sideways"}).status_code == 422
    assert api.call("PATCH", "sales1", path, json={"stage": "negotiation", "estimated_value": 250000}).get_json()["stage"] == "negotiation"
    assert api.post("sales1", f"{path}/assign", json={"username": "sales2"}).status_code == 403
    assert api.post("sales_dir", f"{path}/assign", json={"username": "sales2"}).get_json()["owner"] == "sales2"
    assert api.get("sales1", "/api/v1/opportunities?untouched_days=-1").status_code == 400


def test_merging_a_duplicate_over_the_api(api: Api) -> None:
    tag = secrets.token_hex(3)
    keep = api.post("sales1", "/api/v1/customers", json={"name": f"宁波{tag}联合物流有限公司"}).get_json()
    twin = api.post("sales1", "/api/v1/customers", json={"name": f"联合{tag}物流（宁波）", "industry": "物流"}).get_json()
    api.post("sales1", f"/api/v1/customers/{twin['id']}/contacts", json={"name": "孙经理"})
    path = f"/api/v1/customers/{keep['id']}/merge"
    assert api.post("sales1", path, json={"duplicate_id": twin["id"]}).status_code == 403
    preview = api.post("sales_dir", path, json={"duplicate_id": twin["id"]}).get_json()
    assert preview["dry_run"] is True and preview["moves"]["contacts"] == 1 and "industry" in preview["fills"]
    assert api.get("sales1", f"/api/v1/customers/{twin['id']}").status_code == 200  # nothing moved yet
    assert api.post("sales_dir", path, json={"duplicate_id": twin["id"], "dry_run": "no"}).status_code == 422
    assert api.post("sales_dir", path, json={"duplicate_id": keep["id"], "dry_run": False}).status_code == 422
    done = api.post("sales_dir", path, json={"duplicate_id": twin["id"], "dry_run": False}).get_json()
    assert done["dry_run"] is False
    assert api.get("sales1", f"/api/v1/customers/{twin['id']}").status_code == 404
    kept = api.get("sales1", f"/api/v1/customers/{keep['id']}").get_json()
    assert [c["name"] for c in kept["contacts"]] == ["孙经理"]
