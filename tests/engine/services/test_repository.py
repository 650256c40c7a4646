"""Deployment: versions, per-element problems, and nothing deployed when anything is wrong."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from engine.errors import InvalidDefinition, TooLarge
from engine.process_engine import ProcessEngine
from store.models import ProcessDefinition
from tests.conftest import FIXTURES

SIMPLE = (FIXTURES / "simple_review.bpmn").read_bytes()


def _renamed(xml: bytes, key: str) -> bytes:
    return xml.replace(b'id="simple_review"', f'id="{key}"'.encode())


def _count(engine: ProcessEngine, key: str) -> int:
    with engine.db.sessions() as session:
        return session.scalar(select(func.count()).where(ProcessDefinition.key == key)) or 0


def _problems(engine: ProcessEngine, files: list[tuple[str, bytes]]) -> list[dict]:
    with pytest.raises(InvalidDefinition) as raised:
        engine.repository.deploy(files, "admin")
    return raised.value.problems


def test_each_deploy_of_changed_content_is_a_new_version(engine: ProcessEngine) -> None:
    first = engine.repository.deploy([("a.bpmn", _renamed(SIMPLE, "versioned"))], "admin")
    same = engine.repository.deploy([("a.bpmn", _renamed(SIMPLE, "versioned"))], "admin")
    changed = engine.repository.deploy(
        [("a.bpmn", _renamed(SIMPLE, "versioned").replace(b'name="Review"', b'name="Review twice"'))], "admin"
    )
    assert [d.version for d in first] == [1]
    assert same[0].version == 1 and same[0].new is False
    assert changed[0].version == 2
    with engine.db.sessions() as session:
        assert [v["version"] for v in engine.repository.versions(session, "versioned")] == [1, 2]


def test_shipped_processes_are_deployed_with_start_forms(engine: ProcessEngine) -> None:
    with engine.db.sessions() as session:
        keys = {d.key: d for d in engine.repository.list_latest(session)}
    assert {"complaint_handling", "lead_qualification", "approval_chain"} <= set(keys)
    start_fields = {f["id"] for f in keys["complaint_handling"].start_meta["form"]}
    assert {"customer", "contact", "channel", "category", "description", "demand", "severity"} <= start_fields
    assert keys["complaint_handling"].start_meta["starter_groups"] == ["cs_agent"]


@pytest.mark.parametrize(
    ("mutation", "element_id", "message"),
    [
        ((b"${approved &amp;&amp; amount &lt; 1000}", b"__import__('os').system('id')"), "f3", "refused"),
        ((b"outcome = 'approved'", b"import os"), "set_approved", "imports are not allowed"),
        ((b'camunda:candidateGroups="cs_supervisor"', b'camunda:candidateGroups="no_such_role"'), "review", "not a role"),
        ((b'targetRef="set_rejected"', b'targetRef="nowhere"'), "f4", "dangling"),
        ((b'camunda:topic="crm.notify"', b'camunda:topic="crm.unknown"'), "notify_late", "no operation"),
        (
            (b'<bpmn:timeDuration xsi:type="bpmn:tFormalExpression">PT24H', b'<bpmn:timeDuration xsi:type="bpmn:tFormalExpression">P1X'),
            "review_late",
            "timer",
        ),
        ((b'type="double"', b'type="money"'), "start", "unsupported type"),
        ((b'camunda:dueDate="PT24H"', b'camunda:dueDate="tomorrow"'), "review", "dueDate"),
    ],
)
def test_invalid_elements_are_named_and_nothing_is_deployed(
    engine: ProcessEngine, mutation: tuple[bytes, bytes], element_id: str, message: str
) -> None:
    key = "broken_" + re.sub(r"\W", "_", message)[:20]
    xml = _renamed(SIMPLE, key).replace(*mutation)
    assert xml != _renamed(SIMPLE, key)
    problems = _problems(engine, [("broken.bpmn", xml)])
    assert any(p["element_id"] == element_id and message in p["message"] and p["severity"] == "error" for p in problems), problems
    assert _count(engine, key) == 0


def test_unsupported_elements_are_named_by_id_and_name(engine: ProcessEngine) -> None:
    xml = _renamed(SIMPLE, "with_complex").replace(
        b"</bpmn:process>", b'<bpmn:complexGateway id="cg1" name="Complex one" /></bpmn:process>'
    )
    problems = _problems(engine, [("c.bpmn", xml)])
    assert {
        "element_id": "cg1",
        "element_name": "Complex one",
        "message": "complexGateway is not supported",
        "severity": "error",
    } in problems


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"<not-closed", "not well-formed"),
        (b"<?xml version='1.0'?><!DOCTYPE x [<!ENTITY a 'aaaa'>]><x>&a;</x>", "DTDs and entities"),
        (b"<?xml version='1.0'?><!DOCTYPE x SYSTEM 'file:///etc/passwd'><x/>", "DTDs and entities"),
        (b"<root xmlns='urn:other'/>", "not a BPMN 2.0 or DMN document"),
        (
            b"<bpmn:definitions xmlns:bpmn='http://www.omg.org/spec/BPMN/20100524/MODEL' id='d'><bpmn:process id='p' isExecutable='false'/></bpmn:definitions>",
            "no executable process",
        ),
    ],
)
def test_hostile_or_malformed_xml_is_refused(engine: ProcessEngine, content: bytes, message: str) -> None:
    problems = _problems(engine, [("bad.bpmn", content)])
    assert any(message in p["message"] for p in problems), problems


def test_oversized_documents_are_refused_before_parsing(engine: ProcessEngine) -> None:
    with pytest.raises(TooLarge):
        engine.repository.deploy([("big.bpmn", b"<x>" + b" " * (6 * 1024 * 1024) + b"</x>")], "admin")


def test_a_batch_with_one_bad_file_deploys_nothing(engine: ProcessEngine) -> None:
    good = _renamed(SIMPLE, "batch_good")
    bad = _renamed(SIMPLE, "batch_bad").replace(b'camunda:candidateGroups="cs_supervisor"', b'camunda:candidateGroups="ghosts"')
    _problems(engine, [("good.bpmn", good), ("bad.bpmn", bad)])
    assert _count(engine, "batch_good") == 0


def test_warnings_do_not_block_deployment(engine: ProcessEngine) -> None:
    xml = _renamed(SIMPLE, "nobody_task").replace(b' camunda:candidateGroups="cs_supervisor"', b"")
    with engine.db.sessions() as session:
        problems = engine.repository.validate(session, [("w.bpmn", xml)])
    assert [p["element_id"] for p in problems if p["severity"] == "warning"] == ["review"]
    assert engine.repository.deploy([("w.bpmn", xml)], "admin")[0].version == 1


def test_non_utf8_documents_are_stored_as_text(engine: ProcessEngine) -> None:
    xml = _renamed(SIMPLE, "latin1_doc").replace(b'name="Simple review"', 'name="Révision"'.encode("latin-1"))
    xml = xml.replace(b'encoding="UTF-8"', b'encoding="ISO-8859-1"')
    deployed = engine.repository.deploy([("l.bpmn", xml)], "admin")
    with engine.db.sessions() as session:
        definition = session.get(ProcessDefinition, deployed[0].id)
        assert definition is not None and definition.name == "Révision"
        assert "Révision" in definition.bpmn_xml
