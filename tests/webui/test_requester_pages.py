"""The requester's card on their own running request's page, comments and attachments: urge (催办) tells the approver, once
an hour, and withdraw (撤回) ends it with a banner saying who took it back and why; the approver
and others see no such card and are refused the action."""

from __future__ import annotations

import io
from collections.abc import Callable

from tests.api.test_attachments_api import png
from tests.data import approval_request
from tests.flow import Flow
from tests.webui.conftest import Page


def test_a_requester_urges_then_withdraws_from_the_request_page(ui: Callable[[str], Page], flow: Flow) -> None:
    instance = flow.start("store_staff", "approval_chain", approval_request("store_expense", 260))
    path = f"/instances/{instance.id}"
    page = ui("store_staff").text(path)
    assert 'id="requester"' in page and 'value="urge"' in page and 'value="withdraw"' in page
    assert "tl-route" in page and "区域经理" in page  # the history: routed to the requester's own region manager
    assert 'id="requester"' not in ui("region_mgr").text(path)
    assert ui("region_mgr").post(f"{path}/requester", {"action": "withdraw"}).status_code == 403

    assert ui("store_staff").post(f"{path}/requester", {"action": "urge"}).status_code == 302
    assert [n.username for n in flow.notifications(instance.id) if n.kind == "urge"] == ["region_mgr"]
    again = ui("store_staff").post(f"{path}/requester", {"action": "urge"})
    assert again.status_code == 302  # told on the page that it was urged within the hour
    assert [n.username for n in flow.notifications(instance.id) if n.kind == "urge"] == ["region_mgr"]

    assert ui("store_staff").post(f"{path}/requester", {"action": "withdraw", "reason": "重复提交"}).status_code == 302
    assert flow.instance(instance.id).status == "terminated"
    page = ui("store_staff").text(path)
    assert "data-withdrawn" in page and "重复提交" in page and 'id="requester"' not in page


def test_an_unknown_action_or_no_csrf_token_changes_nothing(ui: Callable[[str], Page], flow: Flow) -> None:
    instance = flow.start("store_staff", "approval_chain", approval_request("store_expense", 261))
    path = f"/instances/{instance.id}/requester"
    assert ui("store_staff").post(path, {"action": "explode"}).status_code == 400
    assert ui("store_staff").post(path, {"action": "withdraw"}, csrf=False).status_code in (400, 403)
    assert flow.instance(instance.id).status == "running"


def test_a_comment_typed_on_the_task_page_lands_in_the_history(ui: Callable[[str], Page], flow: Flow) -> None:
    instance = flow.start("store_staff", "approval_chain", approval_request("store_expense", 262))
    step = flow.task(instance.id, "approve")
    page = ui("region_mgr").text(f"/tasks/{step.id}")
    assert 'id="comment-form"' in page
    answer = ui("region_mgr").post(f"/instances/{instance.id}/comments", {"text": "金额与发票不符", "task_id": step.id})
    assert answer.status_code == 302 and f"/tasks/{step.id}" in answer.headers["Location"]
    shown = ui("store_staff").text(f"/instances/{instance.id}")
    assert "tl-comment" in shown and "金额与发票不符" in shown
    assert ui("sales1").post(f"/instances/{instance.id}/comments", {"text": "x"}).status_code == 404
    assert ui("store_staff").post(f"/instances/{instance.id}/comments", {"text": " "}).status_code == 302  # refused, said on the page
    assert [e.comment for e in flow.history(instance.id) if e.action == "comment"] == ["金额与发票不符"]


def test_a_receipt_attached_on_the_task_page_shows_as_a_thumbnail_and_downloads(ui: Callable[[str], Page], flow: Flow) -> None:
    instance = flow.start("store_staff", "approval_chain", approval_request("store_expense", 263))
    step = flow.task(instance.id, "approve")
    image = png()
    answer = ui("store_staff").post(
        f"/instances/{instance.id}/attachments",
        {"file": (io.BytesIO(image), "收据.png"), "task_id": step.id},
        content_type="multipart/form-data",
    )
    assert answer.status_code == 302 and f"/tasks/{step.id}" in answer.headers["Location"]
    page = ui("region_mgr").text(f"/tasks/{step.id}")
    assert 'id="attachments"' in page and "收据.png" in page and 'class="thumb"' in page
    attachment_id = int(page.split('data-attachment-id="')[1].split('"')[0])
    inline = ui("region_mgr").get(f"/attachments/{attachment_id}?inline=1")
    assert inline.status_code == 200 and inline.data == image and inline.headers["Content-Disposition"].startswith("inline;")
    assert ui("region_mgr").get(f"/attachments/{attachment_id}").headers["Content-Disposition"].startswith("attachment;")
    assert ui("sales1").get(f"/attachments/{attachment_id}").status_code == 404
    refused = ui("store_staff").post(
        f"/instances/{instance.id}/attachments", {"file": (io.BytesIO(b"MZ\x90\x00"), "tool.exe")}, content_type="multipart/form-data"
    )
    assert refused.status_code == 302  # said on the page
    no_token = ui("store_staff").post(
        f"/instances/{instance.id}/attachments", {"file": (io.BytesIO(image), "b.png")}, csrf=False, content_type="multipart/form-data"
    )
    assert no_token.status_code in (400, 403)
    assert [e.data["filename"] for e in flow.history(instance.id) if e.action == "attach"] == ["收据.png"]


def test_the_approver_of_a_department_expense_sees_the_months_budget_on_its_card(
    ui: Callable[[str], Page], flow: Flow, new_user: Callable[..., str]
) -> None:
    requester = new_user("req", ["cs_agent"], superior="cs_sup")
    flow.engine.admin.update_user(flow.actor("admin"), requester, {"department": "marketing"})
    month = flow.engine.clock().astimezone(flow.engine.settings.timezone).strftime("%Y-%m")
    before = flow.engine.budgets.set(flow.actor("fin_mgr"), "marketing", month, {"amount": 12345678})
    instance = flow.start(requester, "approval_chain", approval_request("department_expense", 2500))
    page = ui("ops_mgr").text(f"/tasks/{flow.task(instance.id, 'approve').id}")
    assert "本月部门费用预算" in page and "12,345,678.00" in page and "市场部" in page
    assert instance.data["budget_pending"] == float(before.pending)


def test_an_approver_adds_someone_after_themself_from_the_task_page(ui: Callable[[str], Page], flow: Flow) -> None:
    instance = flow.start("store_staff", "approval_chain", approval_request("store_expense", 264))
    step = flow.task(instance.id, "approve")
    page = ui("region_mgr").text(f"/tasks/{step.id}")
    assert 'id="add-approver-form"' in page and 'value="store_staff"' not in page.split('id="add-approver-form"')[1].split("</form>")[0]
    assert 'id="add-approver-form"' not in ui("ops_mgr").text(f"/tasks/{step.id}")  # sees it, may not decide it
    assert ui("region_mgr").post(f"/tasks/{step.id}/add-approver", {"username": "fin_mgr", "position": "after"}).status_code == 302
    flow.complete("region_mgr", instance.id, "approve", {"decision": "approve"})
    assert flow.task(instance.id, "approve").candidate_users == "fin_mgr"
    shown = ui("store_staff").text(f"/instances/{instance.id}")
    assert "tl-add_approver" in shown and "财务经理" in shown


def test_a_store_expense_shows_no_empty_budget_card(ui: Callable[[str], Page], flow: Flow) -> None:
    instance = flow.start("store_staff", "approval_chain", approval_request("store_expense", 265))
    page = ui("region_mgr").text(f"/tasks/{flow.task(instance.id, 'approve').id}")
    assert "审批申请" in page and "本月部门费用预算" not in page  # no department budget for a store's expense
