"""The requester's card on their own running request's page: urge (催办) tells the approver, once
an hour, and withdraw (撤回) ends it with a banner saying who took it back and why; the approver
and others see no such card and are refused the action."""

from __future__ import annotations

from collections.abc import Callable

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
