"""Hostile input through the API: each refused with a clear error, nothing stored, server healthy."""

from __future__ import annotations

import io
import json
import time
from xml.sax.saxutils import quoteattr

import pytest

from tests.conftest import FIXTURES, Api
from tests.data import COMPLAINT

BPMN_HEAD = b'<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d">'


@pytest.mark.parametrize(
    ("body", "status", "needle"),
    [
        (
            b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]><lolz>&lol2;</lolz>',
            422,
            "DTDs and entities",
        ),
        (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><x>&xxe;</x>', 422, "DTDs and entities"),
        (
            "<?xml version='1.0' encoding='UTF-16'?><!DOCTYPE x SYSTEM 'http://127.0.0.1:9/x'><x/>".encode("utf-16"),
            422,
            "DTDs and entities",
        ),
        (
            BPMN_HEAD
            + b"<bpmn:process id='p' isExecutable='true'>"
            + b"<bpmn:documentation>" * 3000
            + b"</bpmn:documentation>" * 3000
            + b"</bpmn:process></bpmn:definitions>",
            422,
            "",
        ),
        (b"\xff\xfe\x00garbage", 422, ""),
        (b" " * (30 * 1024 * 1024), 413, ""),
    ],
)
def test_hostile_definitions_are_refused(api: Api, body: bytes, status: int, needle: str) -> None:
    started = time.monotonic()
    response = api.post("admin", "/api/v1/process-definitions", data=body, content_type="application/xml")
    assert response.status_code == status, response.get_json()
    assert needle in response.get_json()["message"] + str(response.get_json().get("problems", ""))
    assert time.monotonic() - started < 10
    assert api.get(None, "/healthz").status_code == 200


@pytest.mark.parametrize(
    "script",
    ["while True:\n    pass", "x = 'a' * 10**10", "x = 10**10**10", "import os", "x = ().__class__.__mro__"],
)
def test_hostile_scripts_in_a_diagram_are_refused_at_deploy_or_stopped_at_run(api: Api, script: str) -> None:
    xml = (FIXTURES / "simple_review.bpmn").read_bytes().replace(b'id="simple_review"', b'id="hostile_script"')
    xml = xml.replace(b"outcome = 'approved'", script.replace("<", "&lt;").encode())
    deployed = api.post("admin", "/api/v1/process-definitions", data=xml, content_type="application/xml")
    if deployed.status_code == 422:
        assert any(p["element_id"] == "set_approved" for p in deployed.get_json()["problems"])
        return
    assert deployed.status_code == 201
    started = api.post(
        "cs_agent1", "/api/v1/process-instances", json={"process_key": "hostile_script", "data": {"title": "x", "amount": 1}}
    ).get_json()
    task = started["tasks"][0]
    began = time.monotonic()
    response = api.post("cs_sup", f"/api/v1/tasks/{task['id']}/complete", json={"data": {"approved": True}})
    assert response.status_code == 422 and response.get_json()["error"] == "process_error"
    assert time.monotonic() - began < 10
    assert api.get("cs_sup", f"/api/v1/tasks/{task['id']}").get_json()["status"] == "open"  # rolled back


@pytest.mark.parametrize(
    "payload",
    [
        {"customer": "a\u0000b"},
        {"customer": "\ud800"},
        {"customer": "x" * 200_000},
        {"customer": 12},
        {"customer": {"$gt": ""}},
        {"customer": ["a"]},
        {"category": "quality; DROP TABLE tasks"},
    ],
)
def test_bad_form_values_give_errors_and_store_nothing(api: Api, payload: dict) -> None:
    before = api.get("admin", "/api/v1/process-instances?process_key=complaint_handling").get_json()["total"]
    body = json.dumps({"process_key": "complaint_handling", "data": {**COMPLAINT, **payload}})  # \u-escaped, as a client sends it
    response = api.post("cs_agent1", "/api/v1/process-instances", data=body, content_type="application/json")
    assert response.status_code in (400, 422), response.get_json()
    assert api.get("admin", "/api/v1/process-instances?process_key=complaint_handling").get_json()["total"] == before


def test_unicode_edge_cases_that_are_valid_text_are_kept_exactly(api: Api) -> None:
    name = "客户\u200d👩‍👩‍👧 ﷽ \u202eevil\u202c Ω̈"
    response = api.post(
        "cs_agent1", "/api/v1/process-instances", json={"process_key": "complaint_handling", "data": {**COMPLAINT, "customer": name}}
    )
    assert response.status_code == 201
    assert response.get_json()["data"]["customer"] == name


@pytest.mark.parametrize(
    ("path", "kwargs"),
    [
        ("/api/v1/process-definitions/a%00b", {}),
        ("/api/v1/tasks?process_key=%00", {}),
        ("/api/v1/process-instances", {"data": "[" * 100_000 + "]" * 100_000, "content_type": "application/json"}),
        (
            "/api/v1/process-instances",
            {
                "data": '{"process_key": "complaint_handling", "data": ' + '{"a":' * 60 + "1" + "}" * 60 + "}",
                "content_type": "application/json",
            },
        ),
    ],
)
def test_malformed_urls_and_bodies_are_400(api: Api, path: str, kwargs: dict) -> None:
    method = "POST" if "data" in kwargs else "GET"
    response = api.call(method, "cs_agent1", path, **kwargs)
    assert response.status_code == 400, response.data[:300]
    assert api.get(None, "/healthz").status_code == 200


@pytest.mark.parametrize("decision_id", ["rule'] | //*[@id='x", 'rule"quote', "9starts_with_a_digit", "空格 rule", "x" * 129])
def test_a_decision_id_that_is_not_a_key_is_a_problem_not_a_500(api: Api, decision_id: str) -> None:
    dmn = (FIXTURES / "discount_rule.dmn").read_text().replace('id="discount_rule"', f"id={quoteattr(decision_id)}")
    files = {"file": (io.BytesIO(dmn.encode()), "rule.dmn")}
    refused = api.post("admin", "/api/v1/process-definitions", data=files, content_type="multipart/form-data")
    assert refused.status_code == 422, refused.get_data(as_text=True)
    assert any("decision id" in p["message"] for p in refused.get_json()["problems"])
    checked = api.post(
        "admin",
        "/api/v1/process-definitions/validate",
        data={"file": (io.BytesIO(dmn.encode()), "rule.dmn")},
        content_type="multipart/form-data",
    )
    assert checked.status_code == 200 and any(p["severity"] == "error" for p in checked.get_json()["problems"])
