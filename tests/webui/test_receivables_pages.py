"""The receivables board over HTTP: the header offers it to the sales side only, others get 403; a
payment that the form refuses changes nothing and says why."""

from __future__ import annotations

import secrets
from collections.abc import Callable

from tests.flow import Flow
from tests.webui.conftest import Page


def test_only_the_sales_side_has_the_board(ui: Callable[[str], Page]) -> None:
    assert 'href="/receivables"' in ui("sales_asst").text("/tasks")
    assert 'href="/receivables"' not in ui("cs_agent1").text("/tasks")
    assert ui("cs_agent1").get("/receivables").status_code == 403
    assert ui("sales1").get("/receivables?due=nonsense").status_code == 200  # an unknown bucket: this week


def test_a_refused_payment_changes_nothing_and_says_why(flow: Flow, ui: Callable[[str], Page]) -> None:
    today = flow.engine.identity.today().isoformat()
    data = {"customer": f"镇海{secrets.token_hex(3)}", "contract_no": "HT-E", "amount": 300, "due_date": today, "owner": "sales1"}
    instance = flow.start("sales_asst", "receivable_collection", data)
    task = flow.task(instance.id, "record_payment")
    page = ui("sales_asst")
    answer = page.post(f"/receivables/{task.id}/payment", {"paid_amount": "-5"}, follow_redirects=True)
    assert answer.status_code == 200
    assert "本次回款金额" in answer.get_data(as_text=True) or "Amount received" in answer.get_data(as_text=True)
    assert flow.task(instance.id, "record_payment").id == task.id  # still open, nothing recorded
    assert flow.instance(instance.id).data["paid_total"] == 0
    assert ui("sales2").post(f"/receivables/{task.id}/payment", {"paid_amount": "5"}).status_code == 404  # not theirs to see
    assert page.post(f"/receivables/{task.id}/payment", {"paid_amount": "100"}).status_code == 302
    assert flow.instance(instance.id).data["outstanding"] == 200
