"""The designer and administration pages through the Flask test client: admins only (403 for every
other demo user, the login page for nobody), validation and deployment with the deploy code's
problems, drafts, imports, the version history and diff, and a migration through the pages: dry
run, migrate, and the migrated instance completes on its new version."""

from __future__ import annotations

import io
import re
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from engine.process_engine import ProcessEngine
from processes.demo import USERS
from store.models import ProcessDefinition, ProcessInstance
from tests.conftest import FIXTURES, MIWG
from tests.flow import Flow
from tests.webui.conftest import Page

REVIEW = (FIXTURES / "simple_review.bpmn").read_bytes()
DANGEROUS = b"${__import__('os').system('id')}"

PAGES = [
    "/designer",
    "/designer/complaint_handling",
    "/designer/complaint_handling?version=1",
    "/designer/complaint_handling/diagram.bpmn",
    "/designer/complaint_handling/versions",
    "/designer/complaint_handling/versions?from=1&to=1",
    "/designer/new?key=someone_new",
    "/designer/new.bpmn?key=someone_new",
    "/designer/decisions/approval_matrix",
    "/designer/decisions/approval_matrix/diagram.dmn",
    "/admin/users",
    "/admin/users/cs_agent1",
    "/admin/roles",
    "/admin/departments",
    "/admin/departments/customer_service",
    "/admin/audit",
]
ACTIONS = [
    "/designer/validate",
    "/designer/preview",
    "/designer/deploy",
    "/designer/complaint_handling/draft",
    "/designer/complaint_handling/migrate",
    "/designer/import",
    "/admin/users",
    "/admin/users/cs_agent1",
    "/admin/users/cs_agent1/active",
    "/admin/users/cs_agent1/password",
    "/admin/users/cs_agent1/handover",
    "/admin/roles",
    "/admin/departments",
    "/admin/departments/customer_service",
]


def _key(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(3)}"


def xml_post(page: Page, path: str, xml: bytes, csrf: bool = True) -> Any:
    headers = {"X-CSRFToken": page.token} if csrf else {}
    return page.client.post(path, data=xml, content_type="application/xml", headers=headers)


def deploy(page: Page, xml: bytes) -> dict[str, Any]:
    response = xml_post(page, "/designer/deploy?file=test.bpmn", xml)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["deployed"][0]  # type: ignore[no-any-return]


def test_only_admins_see_the_designer_and_administration(ui: Callable[[str], Page], fresh: Callable[[str], Page]) -> None:
    admin = ui("admin")
    for path in PAGES:
        assert admin.get(path).status_code == 200, path
    assert "/designer" in admin.text("/tasks") and "/admin/users" in admin.text("/tasks")  # the admin's navigation
    for username in USERS:
        if username == "admin":
            continue
        page = ui(username)
        assert "/designer" not in page.text("/tasks"), username
        for path in PAGES:
            assert page.get(path).status_code == 403, (username, path)
        for path in ACTIONS:
            assert page.post(path, {"key": "x"}).status_code == 403, (username, path)
        assert xml_post(page, "/designer/deploy", REVIEW).status_code == 403, username
    anonymous = fresh("nobody")
    for path in PAGES:
        response = anonymous.get(path)
        assert response.status_code == 302 and "/login" in response.headers["Location"], path


def test_posts_need_the_csrf_token(ui: Callable[[str], Page]) -> None:
    admin = ui("admin")
    assert xml_post(admin, "/designer/deploy", REVIEW, csrf=False).status_code == 400
    assert admin.post("/admin/roles", {"name": _key("role")}, csrf=False).status_code == 400


def test_the_list_shows_versions_with_running_instances_per_version(ui: Callable[[str], Page], flow: Flow) -> None:
    key = _key("listed")
    v1 = deploy(ui("admin"), REVIEW.replace(b'id="simple_review"', f'id="{key}"'.encode()))
    flow.start("cs_agent1", key, {"title": "a", "amount": 1})
    flow.start("cs_agent1", key, {"title": "b", "amount": 1})
    v2 = deploy(ui("admin"), REVIEW.replace(b'id="simple_review"', f'id="{key}"'.encode()).replace(b'name="Review"', b'name="Check"'))
    assert (v1["version"], v2["version"]) == (1, 2)
    page = ui("admin").text("/designer")
    row = re.search(rf'<tr data-key="{key}">(.*?)</tr>', page, re.S)
    assert row, key
    assert re.findall(r'data-version="(\d+)".*?data-running="(\d+)"', row.group(1), re.S) == [("2", "0"), ("1", "2")]
    assert "approval_matrix" in page  # the decision tables are listed too


def test_validation_names_the_element_and_deploy_refuses_the_same(ui: Callable[[str], Page], engine: ProcessEngine) -> None:
    admin = ui("admin")
    key = _key("dangerous")
    xml = REVIEW.replace(b'id="simple_review"', f'id="{key}"'.encode()).replace(b"${approved &amp;&amp; amount &lt; 1000}", DANGEROUS)
    checked = xml_post(admin, "/designer/validate", xml).get_json()
    assert checked["valid"] is False
    assert [p["element_id"] for p in checked["problems"] if p["severity"] == "error"] == ["f3"]  # the flow leaving gateway 'decide'
    refused = xml_post(admin, "/designer/deploy", xml)
    assert refused.status_code == 422 and refused.get_json()["problems"] == checked["problems"]
    with engine.db.sessions() as session:
        assert session.query(ProcessDefinition).filter_by(key=key).count() == 0
    good = xml_post(admin, "/designer/validate", REVIEW).get_json()
    assert good["valid"] is True
    broken = xml_post(admin, "/designer/validate", b"<not-bpmn/>")
    assert broken.status_code == 200 and broken.get_json()["valid"] is False
    assert xml_post(admin, "/designer/deploy", b"<!DOCTYPE x [<!ENTITY a 'b'>]><x/>").status_code == 422


def test_the_deploy_preview_says_what_would_change_and_writes_nothing(ui: Callable[[str], Page], flow: Flow, engine: ProcessEngine) -> None:
    admin = ui("admin")
    key = _key("previewed")
    base = REVIEW.replace(b'id="simple_review"', f'id="{key}"'.encode())
    first = xml_post(admin, "/designer/preview?file=p.bpmn", base).get_json()["items"]
    assert [(i["key"], i["current_version"], i["version"], i["new"]) for i in first] == [(key, None, 1, True)]
    deploy(admin, base)
    flow.start("cs_agent1", key, {"title": "waits", "amount": 5})
    assert xml_post(admin, "/designer/preview", base).get_json()["items"][0]["new"] is False  # same content: nothing to deploy

    changed = base.replace(b'name="Review"', b'name="Review (v2)"')
    item = xml_post(admin, "/designer/preview", changed).get_json()["items"][0]
    assert (item["current_version"], item["version"], item["new"], item["running"]) == (1, 2, True, 1)
    assert [e["id"] for e in item["changed"]] == ["review"] and item["added"] == item["removed"] == []
    with engine.db.sessions() as session:
        assert session.query(ProcessDefinition).filter_by(key=key).count() == 1  # a preview deploys nothing

    bad = xml_post(admin, "/designer/preview", base.replace(b"${approved &amp;&amp; amount &lt; 1000}", DANGEROUS))
    assert bad.status_code == 422 and bad.get_json()["problems"]
    with engine.db.sessions() as session:
        matrix = engine.repository.latest_decision(session, "approval_matrix")
        chain = engine.repository.latest(session, "approval_chain")
        versions = {"approval_matrix": matrix.version, "approval_chain": chain.version}
        edited = matrix.dmn_xml.replace('"region_manager"', '"ops_manager"', 1).encode()
    items = xml_post(admin, "/designer/preview?file=m.dmn", edited).get_json()["items"]
    # The table and the process that uses it (redeployed with it), each one version up.
    assert {i["key"]: (i["current_version"], i["version"], i["new"]) for i in items} == {k: (v, v + 1, True) for k, v in versions.items()}
    assert next(i for i in items if i["key"] == "approval_chain")["changed"] != []


def test_drafts_are_kept_listed_and_opened_without_going_live(ui: Callable[[str], Page], engine: ProcessEngine) -> None:
    admin = ui("admin")
    key = _key("drafted")
    xml = REVIEW.replace(b'id="simple_review"', f'id="{key}"'.encode())
    saved = xml_post(admin, f"/designer/{key}/draft", xml)
    assert saved.status_code == 200 and saved.get_json()["key"] == key
    assert xml_post(admin, "/designer/bad key!/draft", xml).status_code == 400
    assert f'<tr data-key="{key}">' in admin.text("/designer")
    page = admin.text(f"/designer/{key}")
    assert 'data-source="draft"' in page and f"/designer/{key}/diagram.bpmn?draft=1" in page
    assert admin.get(f"/designer/{key}/diagram.bpmn?draft=1").get_data() == xml
    with engine.db.sessions() as session:
        assert session.query(ProcessDefinition).filter_by(key=key).count() == 0
    assert admin.get(f"/designer/{key}/versions").status_code == 404
    # After a deployment the designer opens the deployed version; the draft stays one click away.
    deploy(admin, xml)
    page = admin.text(f"/designer/{key}")
    assert 'data-source="version"' in page and f"/designer/{key}?draft=1" in page


def test_a_new_process_starts_from_a_blank_diagram(ui: Callable[[str], Page]) -> None:
    admin = ui("admin")
    key = _key("fresh")
    page = admin.text(f"/designer/new?key={key}&name=客户回访")
    assert 'data-source="new"' in page
    blank = admin.get(f"/designer/new.bpmn?key={key}&name=<客户回访>").get_data(as_text=True)
    assert f'<bpmn:process id="{key}" name="&lt;客户回访&gt;" isExecutable="true">' in blank
    assert xml_post(admin, "/designer/validate", blank.encode()).get_json()["valid"] is True
    assert admin.get("/designer/new?key=1bad").status_code == 302
    existing = admin.get("/designer/new?key=complaint_handling")
    assert existing.status_code == 302 and existing.headers["Location"].endswith("/designer/complaint_handling")


def test_an_imported_file_becomes_a_draft_in_any_encoding(ui: Callable[[str], Page]) -> None:
    admin = ui("admin")
    content = (MIWG / "A.1.0.bpmn").read_bytes()
    assert b'encoding="ISO-8859-1"' in content
    response = admin.client.post(
        "/designer/import",
        data={"csrf_token": admin.token, "file": (io.BytesIO(content), "A.1.0.bpmn")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    target = response.headers["Location"]
    assert "draft=1" in target
    key = re.search(r"/designer/([^?]+)", target).group(1)  # type: ignore[union-attr]
    assert admin.get(f"/designer/{key}/diagram.bpmn?draft=1").status_code == 200
    bad = admin.client.post(
        "/designer/import", data={"csrf_token": admin.token, "file": (io.BytesIO(b"no xml"), "x.bpmn")}, content_type="multipart/form-data"
    )
    assert bad.status_code == 302 and bad.headers["Location"].endswith("/designer")


@pytest.mark.parametrize("path", sorted(MIWG.glob("*.bpmn")), ids=lambda p: p.name)
def test_every_miwg_file_deploys_or_lists_its_problems_never_an_error_page(ui: Callable[[str], Page], path: Path) -> None:
    response = xml_post(ui("admin"), f"/designer/deploy?file={path.name}", path.read_bytes())
    body = response.get_json()
    assert response.status_code in (201, 422), (response.status_code, body)
    if response.status_code == 201:
        assert body["deployed"] and all(d["version"] >= 1 for d in body["deployed"])
    else:
        assert body["problems"] and all(p["message"] and p["severity"] in ("error", "warning") for p in body["problems"])


def test_versions_diff_and_a_migration_through_the_pages(ui: Callable[[str], Page], flow: Flow, engine: ProcessEngine) -> None:
    admin = ui("admin")
    key = _key("migrating")
    base = REVIEW.replace(b'id="simple_review"', f'id="{key}"'.encode())
    v1 = deploy(admin, base)["version"]
    moving = flow.start("cs_agent1", key, {"title": "moves", "amount": 5}).id
    staying = flow.start("cs_agent1", key, {"title": "stays", "amount": 5}).id
    v2 = deploy(
        admin,
        base.replace(b'name="Review"', b'name="Review (v2)"').replace(
            b'<camunda:formField id="comment"',
            b'<camunda:formField id="reviewer_note" label="Note" type="string" /><camunda:formField id="comment"',
        ),
    )["version"]

    page = admin.text(f"/designer/{key}/versions?from={v1}&to={v2}")
    assert re.search(r'data-part="changed">.*?data-element-id="review"', page, re.S)
    assert f'<tr data-instance="{moving}">' in page and f'<tr data-instance="{staying}">' in page
    assert re.search(rf'<tr data-version="{v2}">.*?系统管理员', page, re.S)  # who deployed it, by name

    dry = admin.post(f"/designer/{key}/migrate", {"action": "dry_run", "to_version": str(v2), "instance": [str(moving)]})
    assert dry.status_code == 200
    text = dry.get_data(as_text=True)
    assert 'data-dry-run="true"' in text and f'data-instance="{moving}" data-status="planned"' in text
    assert flow.instance(moving).definition_id == flow.instance(staying).definition_id  # nothing moved yet
    assert re.search(rf'name="instance" value="{moving}"', text) and "data-migrate" in text

    done = admin.post(f"/designer/{key}/migrate", {"action": "migrate", "to_version": str(v2), "instance": [str(moving)]})
    assert done.status_code == 200
    assert f'data-instance="{moving}" data-status="migrated"' in done.get_data(as_text=True)
    with engine.db.sessions() as session:
        versions = {
            i.id: session.get(ProcessDefinition, i.definition_id).version for i in session.query(ProcessInstance).filter_by(process_key=key)
        }  # type: ignore[union-attr]
    assert versions == {moving: v2, staying: v1}
    assert "migrate" in [e.action for e in flow.history(moving)]

    task = flow.task(moving, "review")
    assert task.name == "Review (v2)"
    finished = flow.complete("cs_sup", moving, "review", {"approved": True, "reviewer_note": "ok"})
    assert finished.status == "completed" and finished.data["outcome"] == "approved"

    refused = admin.post(f"/designer/{key}/migrate", {"action": "dry_run", "to_version": "", "instance": [str(staying)]})
    assert refused.status_code == 422
    assert admin.post(f"/designer/{key}/migrate", {"action": "dry_run", "to_version": "99"}).status_code == 404


def test_user_role_and_department_changes_are_validated_and_audited(
    ui: Callable[[str], Page], engine: ProcessEngine, fresh: Callable[[str], Page]
) -> None:
    admin = ui("admin")
    username = _key("newuser").replace("_", "")
    created = admin.post(
        "/admin/users",
        {
            "username": username,
            "password": "secret-pass-1",
            "display_name": "新同事",
            "department": "customer_service",
            "superior": "cs_sup",
            "roles": ["cs_agent"],
        },
    )
    assert created.status_code == 302, created.get_data(as_text=True)
    assert f'data-username="{username}"' in admin.text("/admin/users")
    duplicate = admin.post("/admin/users", {"username": username, "password": "secret-pass-1"})
    assert duplicate.status_code == 409
    invalid = admin.post("/admin/users", {"username": "X y", "password": "short"})
    assert (
        invalid.status_code == 422
        and 'id="err-username"' in invalid.get_data(as_text=True)
        and 'id="err-password"' in invalid.get_data(as_text=True)
    )

    changed = admin.post(
        f"/admin/users/{username}",
        {
            "display_name": "新同事甲",
            "department": "customer_service",
            "superior": "cs_sup",
            "roles": ["cs_agent", "quality"],
            "locale": "en",
        },
    )
    assert changed.status_code == 302
    cycle = admin.post(
        "/admin/users/cs_sup", {"display_name": "客服主管", "superior": "cs_agent1", "roles": ["cs_supervisor"], "locale": "zh_CN"}
    )
    assert cycle.status_code == 422 and 'id="err-superior"' in cycle.get_data(as_text=True)
    with engine.db.sessions() as session:
        user = engine.identity.user(session, username)
        assert (user.display_name, sorted(user.role_names), user.locale) == ("新同事甲", ["cs_agent", "quality"], "en")

    newcomer = fresh(username)
    assert newcomer.login("secret-pass-1").status_code == 302
    reset = admin.post(f"/admin/users/{username}/password")
    assert reset.status_code == 200
    password = re.search(r'<code class="secret">([^<]+)</code>', reset.get_data(as_text=True)).group(1)  # type: ignore[union-attr]
    assert newcomer.get("/tasks").status_code == 302  # the old session ended with the old password
    assert fresh(username).login(password).status_code == 302
    assert admin.post(f"/admin/users/{username}/active", {"active": "false"}).status_code == 302
    assert fresh(username).login(password).status_code == 401
    assert admin.post("/admin/users/admin/active", {"active": "false"}).status_code == 409  # not oneself

    role = _key("role")
    assert admin.post("/admin/roles", {"name": role, "label": "测试角色"}).status_code == 302
    assert f'data-role="{role}"' in admin.text("/admin/roles")
    assert admin.post("/admin/roles", {"name": role}).status_code == 409
    code = _key("dept")
    assert (
        admin.post("/admin/departments", {"code": code, "name": "测试部", "manager": "cs_sup", "parent": "customer_service"}).status_code
        == 302
    )
    assert admin.post("/admin/departments", {"code": code, "name": "again"}).status_code == 409
    assert admin.post(f"/admin/departments/{code}", {"name": "测试二部", "manager": "nobody_here"}).status_code == 422
    assert admin.post(f"/admin/departments/{code}", {"name": "测试二部", "name_en": "Test 2", "manager": "cs_sup"}).status_code == 302
    assert "测试二部" in admin.text("/admin/departments")

    audit = admin.text("/admin/audit?limit=300")
    for action in (
        "admin.user.create",
        "admin.user.update",
        "admin.user.password",
        "admin.role.create",
        "admin.department.create",
        "admin.department.update",
    ):
        assert f'data-action="{action}"' in audit, action
    assert password not in audit and "secret-pass-1" not in audit


def test_an_admin_hands_a_leavers_work_over_after_seeing_the_list(ui: Callable[[str], Page], engine: ProcessEngine, flow: Flow) -> None:
    admin = ui("admin")
    name = _key("leaver")
    assert (
        admin.post(
            "/admin/users", {"username": name, "password": "demo pass", "display_name": "要离职的业务员", "roles": "sales"}
        ).status_code
        == 302
    )
    customer = engine.customers.create(flow.actor("admin"), {"name": f"{name}客户", "owner": name})
    page = admin.text(f"/admin/users/{name}")
    assert "data-holds-work" in page and "1 个客户" in page  # what they own, before anyone disables them
    preview = admin.text(f"/admin/users/{name}?handover_to=sales2")
    assert "data-handover-preview" in preview and f"{name}客户" in preview and "data-confirm-handover" in preview
    with engine.db.sessions() as session:
        assert engine.customers.get(session, flow.actor("admin"), customer.id).owner == name  # the list moved nothing
    assert admin.post(f"/admin/users/{name}/handover", {"to": name}).status_code == 422
    done = admin.post(f"/admin/users/{name}/handover", {"to": "sales2"})
    assert done.status_code == 302
    with engine.db.sessions() as session:
        assert engine.customers.get(session, flow.actor("sales2"), customer.id).owner == "sales2"
    assert "data-holds-work" not in admin.text(f"/admin/users/{name}")
