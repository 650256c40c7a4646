"""The authorization matrix of the API: every operation against every demo user, one table.

The case is a complaint registered by cs_agent1 and waiting at `assess` (offered to cs_supervisor).
Reporting line: cs_agent1 -> cs_sup -> vp_service -> gm. 404 means the caller may not even learn
that the object exists; 403 means they may see it but not do this.
"""

from __future__ import annotations

import json
import secrets
from typing import Any

import pytest

from processes.demo import USERS as DEMO_USERS
from tests.conftest import FIXTURES, Api
from tests.data import COMPLAINT

# Who is special to this case; every other demo user is an outsider to it.
COLUMNS = ("admin", "gm", "vp_service", "cs_sup", "cs_agent1", "cs_agent2", "outsider")
OUTSIDERS = tuple(u for u in DEMO_USERS if u not in COLUMNS)

# operation -> expected status for each column
MATRIX: dict[str, tuple[int, ...]] = {
    "list definitions": (200, 200, 200, 200, 200, 200, 200),
    "read definition": (200, 404, 404, 404, 200, 200, 404),
    "read definition xml": (200, 404, 404, 404, 200, 200, 404),
    "deploy": (201, 403, 403, 403, 403, 403, 403),
    "validate": (200, 403, 403, 403, 403, 403, 403),
    "start complaint": (201, 403, 403, 403, 201, 201, 403),
    "start approval": (201, 201, 201, 201, 201, 201, 201),
    "read instance": (200, 200, 200, 200, 200, 404, 404),
    "read task": (200, 200, 200, 200, 404, 404, 404),
    "claim task": (403, 403, 403, 200, 404, 404, 404),
    "assign task to cs_sup": (200, 403, 200, 200, 404, 404, 404),
    "complete task": (403, 403, 403, 200, 404, 404, 404),
    "list all tasks": (200, 403, 403, 403, 403, 403, 403),
    "list incidents": (200, 403, 403, 403, 403, 403, 403),
    "admin users": (200, 403, 403, 403, 403, 403, 403),
    "diff versions": (200, 403, 403, 403, 403, 403, 403),
    "plan migration": (200, 403, 403, 403, 403, 403, 403),
}


def _case(api: Api) -> dict[str, Any]:
    started = api.post("cs_agent1", "/api/v1/process-instances", json={"process_key": "complaint_handling", "data": COMPLAINT})
    assert started.status_code == 201
    return started.get_json()


def _call(api: Api, operation: str, user: str, case: dict[str, Any]) -> Any:
    task = case["tasks"][0]["id"]
    calls = {
        "list definitions": lambda: api.get(user, "/api/v1/process-definitions"),
        "read definition": lambda: api.get(user, "/api/v1/process-definitions/complaint_handling"),
        "read definition xml": lambda: api.get(user, "/api/v1/process-definitions/complaint_handling/xml"),
        "deploy": lambda: api.post(
            user, "/api/v1/process-definitions", data=(FIXTURES / "simple_review.bpmn").read_bytes(), content_type="application/xml"
        ),
        "validate": lambda: api.post(
            user,
            "/api/v1/process-definitions/validate",
            data=(FIXTURES / "simple_review.bpmn").read_bytes(),
            content_type="application/xml",
        ),
        "start complaint": lambda: api.post(
            user, "/api/v1/process-instances", json={"process_key": "complaint_handling", "data": COMPLAINT}
        ),
        "start approval": lambda: api.post(
            user,
            "/api/v1/process-instances",
            json={"process_key": "approval_chain", "data": {"request_type": "special_expense", "title": "t", "amount": 1}},
        ),
        "read instance": lambda: api.get(user, f"/api/v1/process-instances/{case['id']}"),
        "read task": lambda: api.get(user, f"/api/v1/tasks/{task}"),
        "claim task": lambda: api.post(user, f"/api/v1/tasks/{task}/claim"),
        "assign task to cs_sup": lambda: api.post(user, f"/api/v1/tasks/{task}/assign", json={"username": "cs_sup"}),
        "complete task": lambda: api.post(user, f"/api/v1/tasks/{task}/complete", json={"data": {"valid": True}}),
        "list all tasks": lambda: api.get(user, "/api/v1/tasks?scope=all"),
        "list incidents": lambda: api.get(user, "/api/v1/incidents"),
        "admin users": lambda: api.get(user, "/api/v1/admin/users"),
        "diff versions": lambda: api.get(user, "/api/v1/process-definitions/complaint_handling/diff?from=1&to=1"),
        "plan migration": lambda: api.post(user, "/api/v1/process-definitions/complaint_handling/migrations", json={"to_version": 1}),
    }
    return calls[operation]()


@pytest.mark.parametrize("operation", list(MATRIX))
def test_authorization_matrix(api: Api, operation: str) -> None:
    """Every demo user: the named columns, and each outsider against the outsider column."""
    expected = dict(zip(COLUMNS, MATRIX[operation], strict=True))
    actual = {}
    for user in (*COLUMNS[:-1], *OUTSIDERS):
        case = _case(api)  # a fresh case per call, so that no call depends on another's effect
        actual[user] = _call(api, operation, user, case).status_code
    wanted = {user: expected.get(user, expected["outsider"]) for user in actual}
    assert actual == wanted
    assert len(actual) == len(DEMO_USERS)


def test_every_api_operation_is_in_the_matrix_or_its_own_tests(app: Any) -> None:
    """New endpoints must be added to an authorization table (this one or an admin/security test)."""
    covered_elsewhere = {
        "/api/v1/auth/token", "/api/v1/openapi.json", "/api/v1/notifications", "/api/v1/notifications/<int(min=1, max=2147483647):notification_id>/read",
        "/api/v1/messages", "/api/v1/tasks/<task_id>/unclaim", "/api/v1/process-definitions/<key>/xml", "/api/v1/process-instances",
        "/api/v1/tasks", "/api/v1/incidents/<int(min=1, max=2147483647):job_id>/retry",
        # the caller's own sessions only: tests/webui/test_sessions.py
        "/api/v1/auth/sessions", "/api/v1/auth/sessions/<string(length=16):public_id>", "/api/v1/auth/logout",
        # the customer file's own matrix: tests/api/test_customers_api.py
        "/api/v1/customers", "/api/v1/customers/<int(min=1, max=2147483647):customer_id>",
        "/api/v1/customers/<int(min=1, max=2147483647):customer_id>/contacts",
        "/api/v1/customers/<int(min=1, max=2147483647):customer_id>/activities",
        "/api/v1/opportunities", "/api/v1/opportunities/<int(min=1, max=2147483647):opportunity_id>",
        "/api/v1/opportunities/<int(min=1, max=2147483647):opportunity_id>/assign", "/api/v1/imports/leads",
        "/api/v1/imports/customers", "/api/v1/customers/<int(min=1, max=2147483647):customer_id>/merge",
        # the monitor's statistics: tests/webui/test_monitor_pages.py
        "/api/v1/process-definitions/<key>/statistics",
        # the search's exports, the list's scope: tests/api/test_instance_search_api.py
        "/api/v1/process-instances/export.xlsx", "/api/v1/process-instances/export.csv",
        # instance operations (admins): tests/api/test_instance_operations_api.py
        "/api/v1/process-instances/bulk",
        "/api/v1/process-instances/<int(min=1, max=2147483647):instance_id>/suspend",
        "/api/v1/process-instances/<int(min=1, max=2147483647):instance_id>/resume",
        "/api/v1/process-instances/<int(min=1, max=2147483647):instance_id>/terminate",
        # the requester's own, and comments by whoever may see: tests/api/test_requester_api.py
        "/api/v1/process-instances/<int(min=1, max=2147483647):instance_id>/withdraw",
        "/api/v1/process-instances/<int(min=1, max=2147483647):instance_id>/urge",
        "/api/v1/process-instances/<int(min=1, max=2147483647):instance_id>/comments",
        # 加签: tests/api/test_add_approver_api.py
        "/api/v1/tasks/<task_id>/add-approver",
        # files on an instance: tests/api/test_attachments_api.py
        "/api/v1/process-instances/<int(min=1, max=2147483647):instance_id>/attachments",
        "/api/v1/attachments/<int(min=1, max=2147483647):attachment_id>",
        # activities and follow-ups: tests/api/test_activities_api.py
        "/api/v1/opportunities/<int(min=1, max=2147483647):opportunity_id>/activities",
        "/api/v1/leads/<int(min=1, max=2147483647):lead_id>/activities", "/api/v1/me/follow-ups",
        "/api/v1/activities/<int(min=1, max=2147483647):activity_id>/done",
        # out of office: tests/api/test_substitutes_api.py
        "/api/v1/me/substitute", "/api/v1/users/<username>/substitute",
    }  # fmt: skip
    api_rules = {r.rule for r in app.url_map.iter_rules() if r.rule.startswith("/api/v1/")}
    in_matrix = {
        "/api/v1/process-definitions", "/api/v1/process-definitions/<key>", "/api/v1/process-definitions/validate",
        "/api/v1/process-instances/<int(min=1, max=2147483647):instance_id>", "/api/v1/tasks/<task_id>", "/api/v1/tasks/<task_id>/claim",
        "/api/v1/tasks/<task_id>/assign", "/api/v1/tasks/<task_id>/complete", "/api/v1/incidents", "/api/v1/process-definitions/<key>/diff",
        "/api/v1/process-definitions/<key>/migrations",
    }  # fmt: skip
    admin = {r for r in api_rules if r.startswith("/api/v1/admin/") or r.endswith("/draft")}  # tests/api/test_admin_api.py
    assert api_rules - covered_elsewhere - in_matrix - admin == set()


def test_a_finished_task_shows_its_other_candidates_what_it_showed_not_what_the_case_became(api: Api) -> None:
    """sales2 (a `sales` candidate of sales1's verification) read the director's later comment on
    sales1's lead through the finished task, which showed the current case."""
    tag = secrets.token_hex(3)
    lead = {
        "company": f"余姚{tag}模具厂",
        "phone": "0574-62001234",
        "email": f"z.{tag}@example.cn",
        "source": "customs",
        "estimated_value": 500000,
    }
    started = api.post("sales1", "/api/v1/process-instances", json={"process_key": "lead_qualification", "data": lead}).get_json()
    verify = started["tasks"][0]["id"]
    after = api.post("sales1", f"/api/v1/tasks/{verify}/complete", json={"data": {"outcome": "qualified", "grade": "A"}}).get_json()
    review = after["instance"]["tasks"][0]["id"]
    api.post("sales_dir", f"/api/v1/tasks/{review}/complete", json={"data": {"decision": "approve", "comment": f"价格再谈{tag}"}})
    seen = api.get("sales2", f"/api/v1/tasks/{verify}")
    assert seen.status_code == 200  # it was offered to sales2 too
    shown = json.dumps(seen.get_json(), ensure_ascii=False)
    assert lead["company"] in shown and lead["phone"] in shown and "qualified" in shown  # what it showed, and its own result
    assert f"价格再谈{tag}" not in shown and "director_review" not in shown  # nothing that came later
    assert api.get("sales2", f"/api/v1/process-instances/{started['id']}").status_code == 404
    owner = json.dumps(api.get("sales1", f"/api/v1/tasks/{verify}").get_json(), ensure_ascii=False)
    assert lead["phone"] in owner  # who did it still sees the case
