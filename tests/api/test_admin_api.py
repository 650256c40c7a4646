"""Administration: users, roles, departments and drafts are admins' alone, validated and audited."""

from __future__ import annotations

import secrets

import pytest

from tests.conftest import FIXTURES, Api


def _name(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(3)}"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/v1/admin/users"),
        ("POST", "/api/v1/admin/users"),
        ("PATCH", "/api/v1/admin/users/sales1"),
        ("POST", "/api/v1/admin/users/sales1/password"),
        ("POST", "/api/v1/admin/users/sales1/handover"),
        ("GET", "/api/v1/admin/roles"),
        ("POST", "/api/v1/admin/roles"),
        ("GET", "/api/v1/admin/departments"),
        ("PUT", "/api/v1/admin/departments/sales"),
        ("GET", "/api/v1/admin/audit"),
        ("GET", "/api/v1/process-definitions/complaint_handling/draft"),
        ("PUT", "/api/v1/process-definitions/complaint_handling/draft"),
    ],
)
@pytest.mark.parametrize("user", ["gm", "cs_sup", "sales1"])
def test_only_admins_administer(api: Api, method: str, path: str, user: str) -> None:
    response = (
        api.call(method, user, path, json={"name": "x"})
        if method != "PUT" or "draft" not in path
        else api.call(method, user, path, data=b"<x/>")
    )
    assert response.status_code == 403, response.get_json()


def test_a_new_user_logs_in_with_roles_and_reports_to_a_superior(api: Api) -> None:
    username = _name("newhire")
    created = api.post(
        "admin",
        "/api/v1/admin/users",
        json={
            "username": username,
            "password": "correct horse",
            "display_name": "新同事",
            "email": f"{username}@nbkk.example",
            "roles": ["sales"],
            "department": "sales",
            "superior": "sales_dir",
        },
    )
    assert created.status_code == 201, created.get_json()
    assert created.get_json()["roles"] == ["sales"] and created.get_json()["superior"] == "sales_dir"
    login = api.post(None, "/api/v1/auth/token", json={"username": username, "password": "correct horse"})
    assert login.status_code == 200 and login.get_json()["user"]["roles"] == ["sales"]
    assert api.post("admin", "/api/v1/admin/users", json={"username": username, "password": "another one"}).status_code == 409
    audit = api.get("admin", "/api/v1/admin/audit").get_json()["items"]
    entry = next(e for e in audit if e["action"] == "admin.user.create" and e["data"]["username"] == username)
    assert entry["user"] == "admin" and "password" not in entry["data"]


def test_bad_user_data_gives_field_errors_and_creates_nothing(api: Api) -> None:
    username = _name("bad")
    response = api.post(
        "admin",
        "/api/v1/admin/users",
        json={
            "username": username,
            "password": "short",
            "roles": ["wizard"],
            "department": "nowhere",
            "superior": "ghost",
            "locale": "fr",
            "email": "not-an-email",
        },
    )
    assert response.status_code == 422
    assert set(response.get_json()["fields"]) >= {"password", "roles", "department", "superior", "locale", "email"}
    assert username not in [u["username"] for u in api.get("admin", "/api/v1/admin/users").get_json()["items"]]
    assert (
        api.post("admin", "/api/v1/admin/users", json={"username": "Robert'); DROP TABLE users;--", "password": "long enough"}).status_code
        == 422
    )


def test_disable_reset_password_and_reporting_cycles(api: Api) -> None:
    username = _name("leaver")
    api.post(
        "admin",
        "/api/v1/admin/users",
        json={"username": username, "password": "first password", "roles": ["cs_agent"], "superior": "cs_sup"},
    )
    token = api.post(None, "/api/v1/auth/token", json={"username": username, "password": "first password"}).get_json()["token"]
    reset = api.post("admin", f"/api/v1/admin/users/{username}/password")
    assert reset.status_code == 200 and len(reset.get_json()["password"]) >= 12
    assert api.get(None, "/api/v1/tasks", headers={"Authorization": f"Bearer {token}"}).status_code == 401  # old tokens end
    assert api.post(None, "/api/v1/auth/token", json={"username": username, "password": reset.get_json()["password"]}).status_code == 200
    assert api.call("PATCH", "admin", f"/api/v1/admin/users/{username}", json={"active": False}).get_json()["active"] is False
    assert api.post(None, "/api/v1/auth/token", json={"username": username, "password": reset.get_json()["password"]}).status_code == 401
    cycle = api.call("PATCH", "admin", "/api/v1/admin/users/cs_sup", json={"superior": username})
    assert cycle.status_code == 422 and "cycle" in cycle.get_json()["fields"]["superior"]
    assert api.call("PATCH", "admin", "/api/v1/admin/users/admin", json={"active": False}).status_code == 409
    assert api.call("PATCH", "admin", "/api/v1/admin/users/sales1", json={"password_hash": "x"}).status_code == 422


def test_roles_and_departments(api: Api) -> None:
    role = _name("auditor")
    assert api.post("admin", "/api/v1/admin/roles", json={"name": role, "label": "审计"}).status_code == 201
    assert api.post("admin", "/api/v1/admin/roles", json={"name": role}).status_code == 409
    assert role in [r["name"] for r in api.get("admin", "/api/v1/admin/roles").get_json()["items"]]
    code = _name("audit")
    created = api.call(
        "PUT",
        "admin",
        f"/api/v1/admin/departments/{code}",
        json={"name": "审计部", "name_en": "Audit", "manager": "fin_mgr", "parent": "general"},
    )
    assert created.status_code == 201
    updated = api.call("PUT", "admin", f"/api/v1/admin/departments/{code}", json={"manager": "gm"})
    assert updated.status_code == 200
    assert api.call("PUT", "admin", f"/api/v1/admin/departments/{code}", json={"parent": code}).status_code == 422
    actions = [e["action"] for e in api.get("admin", "/api/v1/admin/audit").get_json()["items"]]
    assert {"admin.role.create", "admin.department.create", "admin.department.update"} <= set(actions)


def test_drafts_are_saved_not_deployed(api: Api) -> None:
    key = _name("drafted")
    assert api.get("admin", f"/api/v1/process-definitions/{key}/draft").status_code == 404
    xml = (FIXTURES / "simple_review.bpmn").read_bytes().replace(b'id="simple_review"', f'id="{key}"'.encode())
    saved = api.call("PUT", "admin", f"/api/v1/process-definitions/{key}/draft", data=xml, content_type="application/xml")
    assert saved.status_code == 200 and saved.get_json()["updated_by"] == "admin"
    assert api.get("admin", f"/api/v1/process-definitions/{key}/draft").data == xml
    assert api.get("admin", f"/api/v1/process-definitions/{key}").status_code == 404  # not live
    assert (
        api.call("PUT", "admin", f"/api/v1/process-definitions/{key}/draft", data=b"\xff\xfe", content_type="application/xml").status_code
        == 422
    )


def test_a_handover_is_listed_first_then_done_through_the_api(api: Api) -> None:
    name = _name("leaving")
    assert api.post("admin", "/api/v1/admin/users", json={"username": name, "password": "demo pass", "roles": ["sales"]}).status_code == 201
    made = api.post("admin", "/api/v1/customers", json={"name": f"{name}的客户", "owner": name})
    assert made.status_code == 201
    path = f"/api/v1/admin/users/{name}/handover"
    dry = api.post("admin", path, json={"to": "sales2"})
    assert dry.status_code == 200 and dry.get_json()["dry_run"] is True and dry.get_json()["customers"] == 1
    assert api.get("sales2", f"/api/v1/customers/{made.get_json()['id']}").status_code == 404  # nothing moved yet
    done = api.post("admin", path, json={"to": "sales2", "dry_run": False})
    assert done.status_code == 200 and done.get_json()["items"]["customers"][0]["id"] == made.get_json()["id"]
    assert api.get("sales2", f"/api/v1/customers/{made.get_json()['id']}").status_code == 200
    assert api.post("admin", path, json={"to": name}).status_code == 422
    assert api.post("admin", path, json={"to": "sales2", "dry_run": "no"}).status_code == 422
    assert api.post("admin", "/api/v1/admin/users/nobody_at_all/handover", json={"to": "sales2"}).status_code == 404
