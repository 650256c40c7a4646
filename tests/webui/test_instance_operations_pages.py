"""Instance operations on the instance page: only admins see the operations card; suspending
marks the task in the worklist and on its page (no buttons), resuming undoes it, terminating needs
a reason and says who and why."""

from __future__ import annotations

from collections.abc import Callable

from tests.data import COMPLAINT
from tests.flow import Flow
from tests.webui.conftest import Page


def test_an_admin_suspends_resumes_and_terminates_from_the_instance_page(ui: Callable[[str], Page], flow: Flow) -> None:
    instance = flow.start("cs_agent1", "complaint_handling", COMPLAINT)
    task = flow.task(instance.id, "assess")
    path = f"/instances/{instance.id}"
    assert 'id="operations"' in ui("admin").text(path)
    assert 'id="operations"' not in ui("cs_agent1").text(path)
    assert ui("cs_agent1").post(f"{path}/operations", {"operation": "terminate", "reason": "x"}).status_code == 403

    refused = ui("admin").post(f"{path}/operations", {"operation": "suspend", "reason": " "})
    assert refused.status_code == 302 and flow.instance(instance.id).status == "running"  # no reason, nothing done
    assert ui("admin").post(f"{path}/operations", {"operation": "suspend", "reason": "客户要求暂缓"}).status_code == 302
    assert flow.instance(instance.id).status == "suspended"
    page = ui("admin").text(path)
    assert "data-suspended" in page and "客户要求暂缓" in page and 'value="resume"' in page
    worklist = ui("cs_sup").text(f"/tasks?tab=available&q=%23{instance.id}")
    assert f'data-task-id="{task.id}"' in worklist and "data-suspended" in worklist
    task_page = ui("cs_sup").text(f"/tasks/{task.id}")
    assert "data-suspended" in task_page and "data-shortcut-claim" not in task_page
    claim = ui("cs_sup").post(f"/tasks/{task.id}/claim", {})
    assert claim.status_code == 409 and "挂起" in claim.get_data(as_text=True)

    assert ui("admin").post(f"{path}/operations", {"operation": "resume", "reason": ""}).status_code == 302
    assert flow.instance(instance.id).status == "running" and not flow.task(instance.id, "assess").suspended
    assert ui("admin").post(f"{path}/operations", {"operation": "terminate", "reason": "重复登记"}).status_code == 302
    page = ui("admin").text(path)
    assert "data-terminated" in page and "重复登记" in page and 'id="operations"' not in page
    assert f'data-task-id="{task.id}"' not in ui("cs_sup").text(f"/tasks?tab=available&q=%23{instance.id}")
    assert ui("admin").post(f"{path}/operations", {"operation": "explode"}).status_code == 400
    assert ui("admin").post(f"{path}/operations", {"operation": "terminate", "reason": "x"}, csrf=False).status_code == 400
