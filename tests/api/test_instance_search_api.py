"""Searching instances by business data over the API: a field's value (text without regard to
case, numbers as numbers), number and date ranges, the day started, `q` by number, business key or
customer; malformed parameters are refused with 422 naming them; the caller's scope holds."""

from __future__ import annotations

import secrets
from typing import Any

from tests.conftest import Api
from tests.data import COMPLAINT, approval_request


def _ids(api: Api, user: str, query: str) -> set[int]:
    answer = api.get(user, f"/api/v1/process-instances?limit=200&{query}")
    assert answer.status_code == 200, answer.get_json()
    return {i["id"] for i in answer.get_json()["items"]}


def _start(api: Api, user: str, key: str, data: dict[str, Any], business_key: str | None = None) -> int:
    body: dict[str, Any] = {"process_key": key, "data": data}
    if business_key:
        body["business_key"] = business_key
    made = api.post(user, "/api/v1/process-instances", json=body)
    assert made.status_code == 201, made.get_json()
    return int(made.get_json()["id"])


def test_search_by_field_range_day_and_text(api: Api) -> None:
    tag = secrets.token_hex(3)
    customer = f"慈溪{tag}电器有限公司"
    quality = _start(api, "cs_agent1", "complaint_handling", {**COMPLAINT, "customer": customer, "category": "quality"}, f"TS-{tag}")
    transport = _start(api, "cs_agent1", "complaint_handling", {**COMPLAINT, "customer": customer, "category": "transport"})
    small = _start(api, "store_staff", "approval_chain", approval_request("store_expense", 800, title=f"办公用品{tag}"))
    large = _start(api, "store_staff", "approval_chain", approval_request("store_expense", 12000, title=f"展会{tag}"))

    assert _ids(api, "admin", f"q={customer}") >= {quality, transport}
    assert _ids(api, "admin", f"q={customer}&data.category=QUALITY") & {quality, transport} == {quality}
    assert _ids(api, "admin", f"q=ts-{tag}") == {quality}  # the business key, any case
    assert quality in _ids(api, "admin", f"q=%23{quality}")  # the number
    mine = {small, large}
    assert _ids(api, "admin", "process_key=approval_chain&data.amount.gte=10000&limit=200") & mine == {large}
    assert _ids(api, "admin", "process_key=approval_chain&data.amount.lte=1000") & mine == {small}
    assert _ids(api, "admin", "process_key=approval_chain&data.amount=800") & mine == {small}
    assert _ids(api, "admin", "process_key=approval_chain&started_from=2000-01-01&started_to=2001-01-01") & mine == set()
    assert _ids(api, "admin", f"process_key=approval_chain&started_from=2000-01-01&data.title=办公用品{tag}") == {small}
    assert _ids(api, "sales1", f"q={customer}") == set()  # not theirs to see
    second = api.get("admin", f"/api/v1/process-instances?q={customer}&limit=1&offset=1").get_json()
    assert [i["id"] for i in second["items"]] == [quality] and second["total"] == 2  # newest first: the older one second
    beyond = api.get("admin", f"/api/v1/process-instances?q={customer}&limit=1&offset=1000").get_json()
    assert beyond == {"items": [], "total": 2, "total_exact": True}
    # Past the last page the total is still counted over the caller's own instances only.
    assert api.get("sales1", f"/api/v1/process-instances?q={customer}&limit=1&offset=1000").get_json() == {
        "items": [],
        "total": 0,
        "total_exact": True,
    }


def test_malformed_search_parameters_are_refused_by_name(api: Api) -> None:
    for query, name in (
        ("data.amount.gte=abc", "data.amount.gte"),
        ("data.1bad=x", "data.1bad"),
        ("data.amount.between=1", "data.amount.between"),
        ("started_from=yesterday", "started_from"),
        ("data.amount.lte=nan", "data.amount.lte"),
    ):
        answer = api.get("admin", f"/api/v1/process-instances?{query}")
        assert answer.status_code == 422 and name in answer.get_json()["fields"], (query, answer.get_json())
