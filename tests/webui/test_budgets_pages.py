"""The department budgets page (/budgets): finance sees every department's month and sets a budget
in its row; an approved or pending department expense shows in its department's figures; a bad
amount is refused and changes nothing; everyone else is refused the page and the form."""

from __future__ import annotations

import secrets
from collections.abc import Callable

from tests.data import approval_request
from tests.flow import Flow
from tests.webui.conftest import Page


def test_finance_sets_a_departments_budget_and_sees_its_month(ui: Callable[[str], Page], flow: Flow, new_user: Callable[..., str]) -> None:
    code = f"dept_{secrets.token_hex(3)}"
    flow.engine.admin.save_department(flow.actor("admin"), code, {"name": f"测试部{code}"}, create=True)
    requester = new_user("req", ["cs_agent"], superior="cs_sup")
    flow.engine.admin.update_user(flow.actor("admin"), requester, {"department": code})
    month = flow.engine.clock().astimezone(flow.engine.settings.timezone).strftime("%Y-%m")
    page = ui("fin_mgr").text(f"/budgets?month={month}")
    assert f'data-department="{code}"' in page and 'href="/budgets"' in page  # the header offers it to finance

    saved = ui("fin_mgr").post(f"/budgets/{code}", {"month": month, "amount": "8,000"})
    assert saved.status_code == 302
    flow.start(requester, "approval_chain", approval_request("department_expense", 3000))
    row = ui("fin_mgr").text(f"/budgets?month={month}").split(f'data-department="{code}"')[1].split("</tr>")[0]
    assert "¥3,000.00" in row and "¥5,000.00" in row and 'value="8000.00"' in row  # pending, remaining, the budget

    assert ui("fin_mgr").post(f"/budgets/{code}", {"month": month, "amount": "很多"}).status_code == 302  # said on the page
    with flow.engine.db.sessions() as session:
        assert flow.engine.budgets.get(session, flow.actor("fin_mgr"), code, month).amount == 8000
    assert ui("cs_agent1").get("/budgets").status_code == 403
    assert ui("cs_agent1").post(f"/budgets/{code}", {"month": month, "amount": "1"}).status_code == 403
    assert 'href="/budgets"' not in ui("cs_agent1").text("/tasks")
