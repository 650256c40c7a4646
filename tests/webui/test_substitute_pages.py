"""The out-of-office page: a person names their substitute, who then finds the absent person's work
under its own worklist tab; the history shows whom they acted for; mistakes are shown on the form."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from tests.data import approval_request
from tests.flow import Flow
from tests.webui.conftest import Page


def test_naming_a_substitute_gives_them_the_tab_and_the_history_says_for_whom(
    flow: Flow, ui: Callable[[str], Page], new_user: Callable[..., str]
) -> None:
    away, stand_in = new_user("away", ["region_manager"], "ops_mgr"), new_user("cover", ["store_staff"], "ops_mgr")
    page = ui(away)
    form = page.text("/account/substitute")
    assert 'id="substitute-form"' in form and f'value="{stand_in}"' in form
    today = flow.engine.identity.today()
    answer = page.post(
        "/account/substitute", {"substitute": stand_in, "from": today.isoformat(), "until": (today + timedelta(days=2)).isoformat()}
    )
    assert answer.status_code == 302
    assert 'data-substitute-state="active"' in page.text("/account/substitute")

    requester = new_user("req", ["store_staff"], away)  # of the absent manager's own region
    instance = flow.start(requester, "approval_chain", approval_request("store_expense", 620))
    step = flow.task(instance.id, "approve")
    worklist = ui(stand_in).text(f"/tasks?tab=substitute&q=%23{instance.id}")
    assert 'data-tab="substitute"' in worklist and step.id in worklist
    assert f'data-for="{away}"' in ui(stand_in).text("/account/substitute")  # whom they stand in for
    flow.complete(stand_in, instance.id, "approve", {"decision": "approve"})
    shown = ui("admin").text(f"/instances/{instance.id}")
    assert f'data-on-behalf-of="{away}"' in shown

    assert page.post("/account/substitute/end", {}).status_code == 302
    assert 'data-tab="substitute"' not in ui(stand_in).text("/tasks")


def test_a_mistake_is_shown_on_the_form_and_a_colleague_may_not_name_one(
    flow: Flow, ui: Callable[[str], Page], new_user: Callable[..., str]
) -> None:
    away = new_user("away", ["region_manager"], "ops_mgr")
    today = flow.engine.identity.today().isoformat()
    wrong = ui(away).post("/account/substitute", {"substitute": away, "from": today, "until": "2020-01-01"})
    assert wrong.status_code == 422
    body = wrong.get_data(as_text=True)
    assert 'id="err-substitute"' in body and 'id="err-until"' in body
    assert 'data-substitute-state="none"' in body  # nothing was named
    assert ui("sales1").get(f"/account/substitute?username={away}").status_code == 403
    assert (
        ui("sales1").post("/account/substitute", {"username": away, "substitute": "sales2", "from": today, "until": today}).status_code
        == 403
    )
    assert ui("admin").get(f"/account/substitute?username={away}").status_code == 200
    assert ui("admin").get("/account/substitute?username=nobody_at_all").status_code == 404
