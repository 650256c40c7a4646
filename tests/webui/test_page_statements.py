"""How many SQL statements the pages people open all day send: pinned per page, and the same after
the data has grown (bench/pages.py times these pages at a company's size; this keeps their counts
from creeping up, and from ever growing with the number of tasks, instances or customers).

The users are the test's own (a supervisor and an agent reporting to them), so that what other
tests leave behind (saved filters, substitutes, escalations) does not change the counts."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from tests.engine.services.test_statement_budget import statements
from tests.flow import Flow
from tests.webui.conftest import Page

# page: (who opens it, its path; {task}, {instance}, {customer} and {name} are the test's rows)
PAGES = {
    "worklist_mine": ("agent", "/tasks"),
    "worklist_available": ("agent", "/tasks?tab=available"),
    "worklist_team": ("sup", "/tasks?tab=team"),
    "worklist_started": ("agent", "/tasks?tab=started"),
    "worklist_done": ("agent", "/tasks?tab=done"),
    "worklist_search": ("agent", "/tasks?tab=started&q={name}"),
    "worklist_filter": ("agent", "/tasks?tab=available&process=complaint_handling&due=overdue"),
    "task": ("sup", "/tasks/{task}"),
    "instance": ("agent", "/instances/{instance}"),
    "start": ("agent", "/processes"),
    "notifications": ("agent", "/notifications"),
    "monitor": ("sup", "/monitor"),
    "report": ("sup", "/monitor/reports"),
    "customers": ("agent", "/customers"),
    "customer": ("agent", "/customers/{customer}"),
}
# The statements each page sends (BEGIN, ROLLBACK and COMMIT are not counted). A change here is a
# change in what the page costs: say why in the commit.
BUDGET = {
    "worklist_mine": 11,
    "worklist_available": 10,
    "worklist_team": 12,
    "worklist_started": 12,
    "worklist_done": 10,
    "worklist_search": 12,
    "worklist_filter": 12,
    "task": 15,
    "instance": 17,
    "start": 5,
    "notifications": 6,
    "monitor": 9,
    "report": 15,
    "customers": 10,
    "customer": 12,
}


def statements_per_page(flow: Flow, pages: dict[str, Page], rows: dict[str, Any]) -> dict[str, int]:
    found = {}
    for name, (who, path) in PAGES.items():
        page, address = pages[who], path.format(**rows)
        assert page.get(address).status_code == 200, (name, address)  # the first request warms the caches
        with statements(flow) as sent:
            answer = page.get(address)
        assert answer.status_code == 200, (name, address, answer.status_code)
        found[name] = len(sent)
    return found


def complaints(flow: Flow, agent: str, customer: str, n: int) -> list[int]:
    return [
        flow.start(agent, "complaint_handling", {"customer": customer, "category": "quality", "description": f"外箱破损 {i}"}).id
        for i in range(n)
    ]


def test_each_page_sends_its_pinned_statements_whatever_the_size_of_the_data(
    flow: Flow, ui: Callable[[str], Page], new_user: Callable[..., str]
) -> None:
    sup = new_user("pages_sup", ["cs_supervisor"])
    agent = new_user("pages_agent", ["cs_agent"], superior=sup)
    name = f"{agent}贸易有限公司"
    customer = flow.engine.customers.create(flow.actor("admin"), {"name": name, "owner": agent})
    first = complaints(flow, agent, name, 2)
    rows = {"task": flow.open_tasks(first[0])[0].id, "instance": first[0], "customer": customer.id, "name": urlencode({"": name})[1:]}
    pages = {"sup": ui(sup), "agent": ui(agent)}

    small = statements_per_page(flow, pages, rows)
    complaints(flow, agent, name, 8)
    grown = statements_per_page(flow, pages, rows)
    assert grown == small, "a page's statements grew with the data"
    assert small == BUDGET, str(small)
