"""Who may deliver a message, and what it may set, is part of the definition (#18.10): the catch
event's `messageFrom` (roles and/or `initiator`) and `messageVariables`. Seeing an instance is no
longer enough; admins may always deliver; an event that names nobody takes messages from admins only."""

from __future__ import annotations

import secrets

import pytest

from tests.conftest import FIXTURES, Api


def _definition(message_from: str | None, variables: str | None) -> bytes:
    xml = (FIXTURES / "await_payment.bpmn").read_text()
    props = "".join(
        f'<camunda:property name="{name}" value="{value}" />'
        for name, value in (("messageFrom", message_from), ("messageVariables", variables))
        if value is not None
    )
    block = f"<bpmn:extensionElements><camunda:properties>{props}</camunda:properties></bpmn:extensionElements>" if props else ""
    start = xml.index('<bpmn:intermediateCatchEvent id="wait_payment"')
    head_end = xml.index(">", start) + 1
    body_start = xml.index("<bpmn:incoming>", head_end)
    return (xml[:head_end] + block + xml[body_start:]).encode()


def _waiting(api: Api, message_from: str | None, variables: str | None) -> dict:
    deployed = api.post("admin", "/api/v1/process-definitions", data=_definition(message_from, variables), content_type="application/xml")
    assert deployed.status_code == 201, deployed.get_json()
    started = api.post(
        "sales1",
        "/api/v1/process-instances",
        json={"process_key": "await_payment", "data": {"invoice": "A-1"}, "business_key": f"INV-{secrets.token_hex(4)}"},
    )
    assert started.status_code == 201
    return started.get_json()


def _deliver(api: Api, who: str, instance: dict, **data: object):  # type: ignore[no-untyped-def]
    return api.post(who, "/api/v1/messages", json={"name": "payment_received", "instance_id": instance["id"], "data": data})


def _still_waiting(api: Api, instance: dict) -> bool:
    body = api.get("admin", f"/api/v1/process-instances/{instance['id']}").get_json()
    return body["tasks"] == [] and body["status"] == "running"


def test_the_initiator_named_as_sender_delivers_but_their_superior_who_sees_the_instance_may_not(api: Api) -> None:
    instance = _waiting(api, "initiator", "amount_paid")
    refused = _deliver(api, "sales_dir", instance, amount_paid=1)
    assert refused.status_code == 403 and "payment_received" in refused.get_json()["message"]
    assert _still_waiting(api, instance)
    delivered = _deliver(api, "sales1", instance, amount_paid=1200)
    assert delivered.status_code == 200 and delivered.get_json()["data"]["amount_paid"] == 1200


def test_a_role_named_as_sender_delivers(api: Api) -> None:
    instance = _waiting(api, "initiator, sales_director", "amount_paid")
    assert _deliver(api, "gm", instance).status_code == 403  # sees the instance, holds no named role
    assert _deliver(api, "sales_dir", instance).status_code == 200


def test_a_message_may_set_only_its_declared_variables(api: Api) -> None:
    instance = _waiting(api, "initiator", "amount_paid")
    response = _deliver(api, "sales1", instance, amount_paid=5, approved=True, outcome="approved")
    assert response.status_code == 422
    assert set(response.get_json()["fields"]) == {"approved", "outcome"}
    assert _still_waiting(api, instance)


def test_an_event_that_names_no_sender_takes_messages_from_admins_only(api: Api) -> None:
    instance = _waiting(api, None, None)
    assert _deliver(api, "sales1", instance).status_code == 403
    assert _deliver(api, "sales1", instance, amount_paid=1).status_code == 403
    assert _deliver(api, "admin", instance, amount_paid=1).status_code == 422  # no variables declared
    assert _deliver(api, "admin", instance).status_code == 200


def test_validation_warns_of_an_event_without_senders_and_refuses_unknown_names(api: Api) -> None:
    def problems(message_from: str | None, variables: str | None) -> list[tuple[str, str]]:
        response = api.post(
            "admin", "/api/v1/process-definitions/validate", data=_definition(message_from, variables), content_type="application/xml"
        )
        return [(p["severity"], p["message"]) for p in response.get_json()["problems"] if p["element_id"] == "wait_payment"]

    assert problems("initiator,finance", "amount_paid, paid_at") == []
    (warning,) = problems(None, None)
    assert warning[0] == "warning" and "only admins" in warning[1]
    assert [s for s, m in problems("accounting", None) if "accounting" in m] == ["error"]
    assert [s for s, m in problems("finance", "amount paid") if "amount paid" in m] == ["error"]


@pytest.mark.parametrize("who", ["cs_agent1", "store_staff"])
def test_people_who_cannot_see_the_instance_still_get_404(api: Api, who: str) -> None:
    instance = _waiting(api, "initiator,cs_agent,store_staff", "amount_paid")
    assert _deliver(api, who, instance).status_code == 404
