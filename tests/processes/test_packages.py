"""One process, one package: each shipped process is a folder under processes/ that brings its own
files, operations, columns, cards and rules; a new folder is a new process, nothing else changes."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

import processes
from engine import operations, process_parts
from engine.bpmn import validation
from processes.demo import shipped_files

SHIPPED = ("approval_chain", "complaint_handling", "lead_qualification", "receivable_collection")


def test_every_shipped_process_is_a_package_holding_its_own_files() -> None:
    assert [p.key for p in process_parts.registered()] == list(SHIPPED)
    for parts in process_parts.registered():
        package = Path(processes.__file__).parent / parts.key
        assert parts.files and all(f.parent == package and f.is_file() for f in parts.files), parts.key
        keys = {
            p.get("id")
            for f in parts.files
            if f.suffix == ".bpmn"
            for p in validation.executable_processes(validation.parse_document(f.name, f.read_bytes()).root)
        }
        assert keys == {parts.key}


def test_every_operation_a_shipped_diagram_calls_is_registered() -> None:
    for parts in process_parts.registered():
        for f in parts.files:
            for topic in re.findall(r'camunda:topic="([^"]+)"', f.read_text(encoding="utf-8")):
                assert topic in operations.OPERATIONS, (parts.key, topic)
    assert {"crm.check_lead", "crm.merge_lead", "crm.create_customer", "crm.propose_department", "crm.plan_receivable"} <= set(
        operations.OPERATIONS
    )


def test_every_card_names_fields_a_form_of_the_process_asks_or_an_operation_computes() -> None:
    for parts in process_parts.registered():
        text = "".join(f.read_text(encoding="utf-8") for f in parts.files)
        asked = set(re.findall(r'formField id="([^"]+)"', text))
        for card in parts.cards:
            unknown = [f for f in card.fields if f not in asked and f not in parts.field_names]
            assert not unknown, (parts.key, card.key, unknown)


def test_a_new_folder_is_a_new_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    package = tmp_path / "expense_claim_test"
    package.mkdir()
    (package / "expense_claim_test.bpmn").write_bytes(b"<definitions/>")
    (package / "__init__.py").write_text(
        "from pathlib import Path\n"
        "from engine.process_parts import ProcessParts, columns_from, register\n"
        "PARTS = register(ProcessParts(key='expense_claim_test', files=(Path(__file__).parent / 'expense_claim_test.bpmn',),\n"
        "    columns=lambda data: columns_from(data, ('payee',), ('purpose',), ('total',))))\n",
        encoding="utf-8",
    )
    monkeypatch.setattr(processes, "__path__", [*processes.__path__, str(tmp_path)])
    monkeypatch.setattr(process_parts, "_PARTS", dict(process_parts._PARTS))
    monkeypatch.delitem(sys.modules, "processes.expense_claim_test", raising=False)
    try:
        names = [m.__name__ for m in processes.load()]
        assert "processes.expense_claim_test" in names
        parts = process_parts.parts_of("expense_claim_test")
        assert parts.columns({"payee": "宁波海联", "purpose": "差旅", "total": 880.5}) == {
            "customer": "宁波海联",
            "title": "差旅",
            "amount": 880.5,
        }
        assert ("expense_claim_test.bpmn", b"<definitions/>") in shipped_files()
    finally:
        sys.modules.pop("processes.expense_claim_test", None)


def test_a_process_deployed_from_the_designer_gets_the_generic_parts() -> None:
    parts = process_parts.parts_of("drawn_in_the_designer")
    assert parts is process_parts.DEFAULT and parts.cards == ()
    assert parts.columns({"company": "甬达", "need": "报价", "estimated_value": 12000, "amount": True}) == {
        "customer": "甬达",
        "title": "报价",
        "amount": None,  # the first amount field holds a boolean here: no money column
    }


@pytest.mark.parametrize(
    ("decision", "comment", "problem"),
    [("return", "", True), ("reject", "  ", True), ("return", "请核实金额", False), ("approve", "", False)],
)
def test_a_return_or_a_rejection_needs_a_comment(decision: str, comment: str, problem: bool) -> None:
    fields = [{"id": "decision"}, {"id": "comment"}]
    for key in SHIPPED:
        found = process_parts.parts_of(key).comment_problem(fields, {"decision": decision, "comment": comment})
        assert bool(found) is problem and (not found or set(found) == {"comment"})
    assert process_parts.DEFAULT.comment_problem([{"id": "decision"}], {"decision": "return"}) == {}  # no comment field to fill
