"""The approval chain with step modes, deployed by a test under a key of its own (the shared test
database keeps the shipped table unchanged for every other test)."""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, replace

import pytest

from engine import process_parts
from engine.services.identity import Actor
from processes.approval_chain import HERE, PARTS
from tests.flow import Flow


@dataclass
class Chain:
    key: str
    signers: list[str]  # the countersign role's holders
    deciders: list[str]  # the any-one-of role's holders


def _table(decision: str, all_role: str, any_role: str) -> bytes:
    """The shipped table with the contract's steps 1 and 2 given to the test's roles and modes."""
    xml = (HERE / "approval_matrix.dmn").read_text(encoding="utf-8").replace('id="approval_matrix"', f'id="{decision}"')

    def rule(name: str, role: str, mode: str) -> None:
        nonlocal xml
        body = re.search(rf'<rule id="{name}">.*?</rule>', xml, re.S)
        assert body is not None
        changed = body.group(0).replace('"sales_director"', f'"{role}"').replace('"finance"', f'"{role}"').replace('"one"', f'"{mode}"')
        xml = xml.replace(body.group(0), changed)

    rule("rule_09_contract_sales_director", all_role, "all")
    rule("rule_10_contract_finance", any_role, "any")
    return xml.encode()


def deploy_chain(flow: Flow, new_user: Callable[..., str], actors: Callable[[str], Actor], monkeypatch: pytest.MonkeyPatch) -> Chain:
    """The shipped chain under a key and decision of the test's own, with the package's parts for
    the test's time (its cards, chain card, 加签 step): the contract's first step a countersign
    of three holders of a new role, the second any one of two holders of another."""
    tag = secrets.token_hex(3)
    all_role, any_role = f"legal_{tag}", f"audit_{tag}"
    for role, label in ((all_role, "法务"), (any_role, "审计")):
        flow.engine.admin.create_role(actors("admin"), {"name": role, "label": label})
    signers = [new_user("signer", [all_role], display_name=f"法务·{n}") for n in ("张敏", "李娜", "王强")]
    deciders = [new_user("decider", [any_role], display_name=f"审计·{n}") for n in ("陈静", "刘洋")]
    key, decision = f"approval_chain_{tag}", f"approval_matrix_{tag}"
    bpmn = (HERE / "approval_chain.bpmn").read_text(encoding="utf-8")
    bpmn = bpmn.replace('id="approval_chain"', f'id="{key}"').replace('processRef="approval_chain"', f'processRef="{key}"')
    bpmn = bpmn.replace('camunda:decisionRef="approval_matrix"', f'camunda:decisionRef="{decision}"')
    monkeypatch.setitem(process_parts._PARTS, key, replace(PARTS, key=key))
    flow.engine.repository.deploy([("matrix.dmn", _table(decision, all_role, any_role)), ("chain.bpmn", bpmn.encode())], "admin")
    return Chain(key, signers, deciders)
