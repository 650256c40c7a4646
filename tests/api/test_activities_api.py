"""Activities over the API: on an opportunity and on a lead, with the same visibility as the
customer and the lead's process (404 beyond it); one's follow-ups; closing one, once."""

from __future__ import annotations

import secrets
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from processes.demo import USERS as DEMO_USERS
from store.models import Activity, Opportunity
from tests.conftest import Api
from tests.data import lead
from tests.flow import Flow

COLUMNS = ("admin", "gm", "sales_dir", "sales_asst", "sales1", "sales2", "outsider")
OUTSIDERS = tuple(u for u in DEMO_USERS if u not in COLUMNS)
# sales1's opportunity: seen like sales1's customers. sales1's lead also by whoever sees its
# process: sales2 is a candidate of its verification (the sales pool).
MATRIX: dict[str, tuple[int, ...]] = {
    "on opportunity": (201, 201, 201, 201, 201, 404, 404),
    "on lead": (201, 201, 201, 201, 201, 201, 404),
}
NOTE = {"kind": "note", "summary": "电话沟通"}


def _opportunity(api: Api, flow: Flow) -> int:
    made = api.post("sales1", "/api/v1/customers", json={"name": f"象山{secrets.token_hex(3)}水产有限公司"})
    assert made.status_code == 201
    with flow.engine.db.transaction() as session:
        row = Opportunity(
            customer_id=made.get_json()["id"], title="冷链运输", owner="sales1", stage="proposal", created_at=datetime.now(UTC)
        )
        session.add(row)
        session.flush()
        return row.id


def _lead(api: Api, flow: Flow) -> int:
    started = api.post("sales1", "/api/v1/process-instances", json={"process_key": "lead_qualification", "data": lead()})
    assert started.status_code == 201, started.get_json()
    return int(flow.instance(started.get_json()["id"]).data["lead_id"])


@pytest.mark.parametrize("operation", list(MATRIX))
def test_activity_authorization_matrix(api: Api, flow: Flow, operation: str) -> None:
    expected = dict(zip(COLUMNS, MATRIX[operation], strict=True))
    actual = {}
    for user in (*COLUMNS[:-1], *OUTSIDERS):
        if operation == "on opportunity":
            response = api.post(user, f"/api/v1/opportunities/{_opportunity(api, flow)}/activities", json=NOTE)
        else:
            response = api.post(user, f"/api/v1/leads/{_lead(api, flow)}/activities", json=NOTE)
        actual[user] = response.status_code
    assert actual == {user: expected.get(user, expected["outsider"]) for user in actual}


def test_a_follow_up_is_listed_on_its_day_and_closed_once_with_what_was_done(api: Api, flow: Flow) -> None:
    opportunity = _opportunity(api, flow)
    body = {"kind": "call", "summary": "发了报价", "next_step": "确认报价", "next_at": (date.today() + timedelta(days=3)).isoformat()}
    made = api.post("sales1", f"/api/v1/opportunities/{opportunity}/activities", json=body)
    assert made.status_code == 201 and made.get_json()["opportunity_id"] == opportunity
    activity_id = made.get_json()["id"]

    def listed(user: str) -> list[dict[str, Any]]:
        answer = api.get(user, "/api/v1/me/follow-ups")
        assert answer.status_code == 200
        return [i for i in answer.get_json()["items"] if i["id"] == activity_id]

    assert listed("sales1") == []
    with flow.engine.db.transaction() as session:  # its day has come
        session.get(Activity, activity_id).next_at = datetime.now(UTC) - timedelta(minutes=5)
    (item,) = listed("sales1")
    assert (item["next_step"], item["opportunity"], item["overdue"]) == ("确认报价", "冷链运输", False)
    assert listed("sales2") == []

    assert api.post("sales2", f"/api/v1/activities/{activity_id}/done", json={}).status_code == 404
    closed = api.post("sales1", f"/api/v1/activities/{activity_id}/done", json={"summary": "客户接受报价", "kind": "call"})
    assert closed.status_code == 200
    logged = closed.get_json()["logged"]
    assert (logged["opportunity_id"], logged["summary"], logged["kind"]) == (opportunity, "客户接受报价", "call")
    assert listed("sales1") == []
    again = api.post("sales1", f"/api/v1/activities/{activity_id}/done", json={})
    assert again.status_code == 409


def test_bad_activity_input_is_refused_and_changes_nothing(api: Api, flow: Flow) -> None:
    opportunity = _opportunity(api, flow)
    path = f"/api/v1/opportunities/{opportunity}/activities"
    for bad in ({"kind": "fax", "summary": "x"}, {"kind": "call"}, {"kind": "call", "summary": "x", "next_step": "y"}, [1, 2]):
        assert api.post("sales1", path, json=bad).status_code in (400, 422), bad
    assert api.post("sales1", "/api/v1/opportunities/2147483647/activities", json=NOTE).status_code == 404
    assert api.post("sales1", "/api/v1/activities/2147483647/done", json={}).status_code == 404
    with flow.engine.db.sessions() as session:
        assert session.query(Activity).filter(Activity.opportunity_id == opportunity).count() == 0
