"""Message correlation: by business key or instance id; 404 when nothing waits or may be seen."""

from __future__ import annotations

import secrets

import pytest

from tests.conftest import FIXTURES, Api


@pytest.fixture
def waiting(api: Api) -> dict:
    deployed = api.post(
        "admin", "/api/v1/process-definitions", data=(FIXTURES / "await_payment.bpmn").read_bytes(), content_type="application/xml"
    )
    assert deployed.status_code == 201, deployed.get_json()
    business_key = f"INV-{secrets.token_hex(4)}"
    started = api.post(
        "sales1",
        "/api/v1/process-instances",
        json={"process_key": "await_payment", "data": {"invoice": "A-1"}, "business_key": business_key},
    )
    assert started.status_code == 201 and started.get_json()["tasks"] == []
    return started.get_json()


def test_a_message_by_business_key_moves_the_instance_on_with_its_data(api: Api, waiting: dict) -> None:
    response = api.post(
        "sales1",
        "/api/v1/messages",
        json={"name": "payment_received", "business_key": waiting["business_key"], "data": {"amount_paid": 1200}},
    )
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["id"] == waiting["id"]
    assert [t["task_key"] for t in body["tasks"]] == ["confirm"]
    assert body["data"]["amount_paid"] == 1200
    assert ("message", None) in [(h["action"], h["task_key"]) for h in body["history"]]
    again = api.post("sales1", "/api/v1/messages", json={"name": "payment_received", "instance_id": waiting["id"]})
    assert again.status_code == 404


def test_a_message_nobody_waits_for_is_404(api: Api, waiting: dict) -> None:
    assert api.post("sales1", "/api/v1/messages", json={"name": "refund_received", "instance_id": waiting["id"]}).status_code == 404
    assert api.post("sales1", "/api/v1/messages", json={"name": "payment_received", "business_key": "no-such-key"}).status_code == 404


def test_a_message_to_an_instance_the_caller_cannot_see_is_404(api: Api, waiting: dict) -> None:
    response = api.post("cs_agent1", "/api/v1/messages", json={"name": "payment_received", "instance_id": waiting["id"]})
    assert response.status_code == 404


def test_message_data_must_be_plain_variables(api: Api, waiting: dict) -> None:
    response = api.post(
        "sales1", "/api/v1/messages", json={"name": "payment_received", "instance_id": waiting["id"], "data": {"__class__": 1}}
    )
    assert response.status_code == 422 and "__class__" in response.get_json()["fields"]
