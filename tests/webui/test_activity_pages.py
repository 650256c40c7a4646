"""Activities on the pages: a next step that has come due is a follow-up at the top of one's own
worklist, done from there with what was done (which lands in the customer's timeline); a lead's
activities are logged on its qualification's instance page; the customer page's activity may be
about one of its opportunities."""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from store.models import Activity, Opportunity
from tests.data import lead
from tests.flow import Flow
from tests.webui.conftest import Page


def _customer(page: Page) -> int:
    response = page.post("/customers", {"name": f"宁海{secrets.token_hex(3)}文具有限公司"})
    assert response.status_code == 302
    return int(re.search(r"/customers/(\d+)$", response.headers["Location"]).group(1))  # type: ignore[union-attr]


def test_a_due_follow_up_is_done_from_the_worklist_with_what_was_done(
    ui: Callable[[str], Page], flow: Flow, new_user: Callable[..., str]
) -> None:
    seller = new_user("sales", ["sales"], superior="sales_dir")
    page = ui(seller)
    customer = _customer(page)
    day = (datetime.now(UTC) + timedelta(days=3)).date().isoformat()
    step = f"寄样品{secrets.token_hex(2)}"
    assert (
        page.post(f"/customers/{customer}/activities", {"kind": "visit", "summary": "拜访", "next_step": step, "next_at": day}).status_code
        == 302
    )
    assert step not in page.text("/tasks")  # not before its day
    with flow.engine.db.transaction() as session:
        activity = session.query(Activity).filter(Activity.customer_id == customer).one()
        activity.next_at = datetime.now(UTC) - timedelta(days=1, hours=1)  # yesterday's: overdue
    worklist = page.text("/tasks")
    assert 'id="follow-ups"' in worklist and step in worklist and "今日待跟进" in worklist and "已超期" in worklist
    assert step not in page.text("/tasks?tab=available")  # only on one's own tab

    assert ui("sales2").post(f"/follow-ups/{activity.id}/done", {}).status_code == 404  # not theirs
    with flow.engine.db.sessions() as session:
        assert session.get(Activity, activity.id).done_at is None
    done = page.post(f"/follow-ups/{activity.id}/done", {"kind": "visit", "summary": "样品已送到"})
    assert done.status_code == 302
    assert step not in page.text("/tasks")
    assert "样品已送到" in page.text(f"/customers/{customer}")
    assert page.post(f"/follow-ups/{activity.id}/done", {}, csrf=False).status_code == 400


def test_a_leads_activity_is_logged_on_its_instance_page(ui: Callable[[str], Page], flow: Flow) -> None:
    instance = flow.start("sales1", "lead_qualification", lead())
    lead_id = flow.instance(instance.id).data["lead_id"]
    page = ui("sales1").text(f"/instances/{instance.id}")
    assert 'id="lead-activity-form"' in page and "本线索的一般行动" in page
    logged = ui("sales1").post(f"/leads/{lead_id}/activities", {"kind": "call", "summary": "首次电话", "next": f"/instances/{instance.id}"})
    assert logged.status_code == 302 and logged.headers["Location"].endswith(f"/instances/{instance.id}#lead-activity")
    assert "首次电话" in ui("sales1").text(f"/instances/{instance.id}")
    bad = ui("sales1").post(f"/leads/{lead_id}/activities", {"kind": "call", "summary": ""})
    assert bad.status_code == 302  # back with the error; nothing saved
    assert ui("cs_agent1").post(f"/leads/{lead_id}/activities", {"kind": "call", "summary": "看不到"}).status_code == 404
    with flow.engine.db.sessions() as session:
        assert [a.summary for a in session.query(Activity).filter(Activity.lead_id == lead_id)] == ["首次电话"]


def test_the_customer_pages_activity_may_be_about_one_of_its_opportunities(ui: Callable[[str], Page], flow: Flow) -> None:
    customer = _customer(ui("sales1"))
    with flow.engine.db.transaction() as session:
        opportunity = Opportunity(
            customer_id=customer, title="文具出口合同", owner="sales1", stage="proposal", created_at=datetime.now(UTC)
        )
        session.add(opportunity)
        session.flush()
        opportunity_id = opportunity.id
    page = ui("sales1").text(f"/customers/{customer}")
    assert f'<option value="{opportunity_id}">' in page
    data = {"kind": "call", "summary": "谈合同条款", "opportunity_id": str(opportunity_id)}
    assert ui("sales1").post(f"/customers/{customer}/activities", data).status_code == 302
    assert "销售机会: 文具出口合同" in ui("sales1").text(f"/customers/{customer}")
