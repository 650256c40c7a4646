"""The task page of a countersign (会签) step: each signer sees their own task with the chain card
naming the step's mode, and a signer who has approved no longer has it in their worklist."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

from engine.services.identity import Actor
from store.models import Task
from tests.data import approval_request
from tests.flow import Flow
from tests.processes.approval_chain.step_modes import Chain, deploy_chain
from tests.webui.conftest import Page


@pytest.fixture
def signing(
    flow: Flow, new_user: Callable[..., str], actors: Callable[[str], Actor], monkeypatch: pytest.MonkeyPatch
) -> tuple[Chain, int, dict[str, Task]]:
    """A contract at its countersign step: the chain, the instance and each signer's task."""
    chain = deploy_chain(flow, new_user, actors, monkeypatch)
    instance = flow.start("sales1", chain.key, approval_request("contract", 5000))
    return chain, instance.id, {t.candidate_users: t for t in flow.open_tasks(instance.id) if t.task_key == "approve"}


def test_each_signer_opens_their_own_task_and_the_chain_names_the_countersign(
    flow: Flow, ui: Callable[[str], Page], signing: tuple[Chain, int, dict[str, Task]]
) -> None:
    chain, instance_id, tasks = signing
    assert set(tasks) == set(chain.signers)
    first, second = chain.signers[0], chain.signers[1]
    page = ui(first).text(f"/tasks/{tasks[first].id}")
    assert '<span class="chain-mode">会签</span>' in page or '<span class="chain-mode">countersign: all approve</span>' in page
    assert 'name="decision"' in page
    assert f'data-task-id="{tasks[second].id}"' not in ui(first).text(f"/tasks?tab=available&q=%23{instance_id}")
    flow.engine.tasks.complete(flow.actor(first), tasks[first].id, {"decision": "approve", "comment": "同意"})
    assert f'data-task-id="{tasks[first].id}"' not in ui(first).text(f"/tasks?tab=available&q=%23{instance_id}")
    assert f'data-task-id="{tasks[second].id}"' in ui(second).text(f"/tasks?tab=available&q=%23{instance_id}")


def test_the_chain_card_shows_who_has_signed_and_who_is_still_to_decide(
    flow: Flow, ui: Callable[[str], Page], signing: tuple[Chain, int, dict[str, Task]]
) -> None:
    chain, instance_id, tasks = signing
    flow.engine.tasks.complete(flow.actor(chain.signers[1]), tasks[chain.signers[1]].id, {"decision": "approve", "comment": "同意"})
    for page in (ui(chain.signers[0]).text(f"/tasks/{tasks[chain.signers[0]].id}"), ui("sales1").text(f"/instances/{instance_id}")):
        shown = re.findall(r'<li class="signer (signer-\w+)" data-signer="([^"]+)">', page)
        assert shown == [("signer-signed", chain.signers[1])] + [
            ("signer-waiting", s) for s in sorted([chain.signers[0], chain.signers[2]])
        ]
    flow.engine.tasks.complete(flow.actor(chain.signers[0]), tasks[chain.signers[0]].id, {"decision": "approve", "comment": "同意"})
    flow.engine.tasks.complete(flow.actor(chain.signers[2]), tasks[chain.signers[2]].id, {"decision": "approve", "comment": "同意"})
    assert 'id="signers"' not in ui("sales1").text(f"/instances/{instance_id}")  # the next step is any-one-of
