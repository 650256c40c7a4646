"""In Chromium: a contract whose first step is a countersign (会签) of three signers. The second
signer opens their task, sees on the chain card who has signed and who is still to decide, and
approves; the step waits for the third."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from engine.services.identity import Actor
from tests.data import approval_request
from tests.flow import Flow
from tests.processes.approval_chain.step_modes import deploy_chain
from tests.webui.browser import Session


def test_a_countersign_step_shows_who_has_signed(
    chromium: Any,
    live_server: str,
    flow: Flow,
    new_user: Callable[..., str],
    actors: Callable[[str], Actor],
    monkeypatch: pytest.MonkeyPatch,
    shots: Callable[[Any, str], Path],
) -> None:
    chain = deploy_chain(flow, new_user, actors, monkeypatch)
    instance = flow.start("sales1", chain.key, approval_request("contract", 86000, title="宁波海联年度运输合同"))
    tasks = {t.candidate_users: t for t in flow.open_tasks(instance.id) if t.task_key == "approve"}
    first, second, third = chain.signers
    flow.engine.tasks.complete(flow.actor(first), tasks[first].id, {"decision": "approve", "comment": "条款已审"})

    signer = Session(chromium, live_server, second, password="demo pass")
    page = signer.goto(f"/tasks/{tasks[second].id}")
    signers = page.locator("#signers li")
    expect(signers).to_have_count(3)
    expect(page.locator(f'#signers li.signer-signed[data-signer="{first}"]')).to_contain_text("✓")
    expect(page.locator("#signers li.signer-waiting")).to_have_count(2)
    expect(page.locator(".chain-current .chain-mode")).to_have_text("会签")
    shots(page, "countersign")
    signer.decide("approve", "同意")
    signer.submit()
    assert {t.candidate_users for t in flow.open_tasks(instance.id) if t.task_key == "approve"} == {third}

    page = signer.goto(f"/instances/{instance.id}")
    expect(page.locator("#signers li.signer-signed")).to_have_count(2)
    expect(page.locator(f'#signers li.signer-waiting[data-signer="{third}"]')).to_be_visible()
    signer.close()
