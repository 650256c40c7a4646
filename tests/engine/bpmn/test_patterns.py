"""Form field patterns cannot stall a request: catastrophic ones are refused at deploy, and every
match is bounded in time with a clear message when it runs out."""

from __future__ import annotations

import time

import pytest

from engine.bpmn import forms, patterns
from engine.errors import ValidationFailed
from tests.conftest import Api


def _field(pattern: str) -> dict[str, object]:
    return {"id": "code", "label": "编号", "type": "string", "constraints": {"pattern": pattern}, "properties": {}}


@pytest.mark.parametrize("pattern", [r"(a+)+", r"(a*)*b", r"((ab)+c)*", r"(\d+,)*\d+", r"(x{2,5}){3,}", "a" * 501, r"(a"])
def test_a_pattern_that_can_backtrack_for_ever_or_cannot_compile_is_a_deploy_problem(pattern: str) -> None:
    assert len(forms.field_problems(_field(pattern))) == 1


@pytest.mark.parametrize("pattern", [r"^[A-Z]{2}\d{6}$", r"(\d{3}-){2}\d{4}", r"[\u4e00-\u9fa5]+", r"[()+]+", r"\(a+\)+", r"([a-z]+)?"])
def test_ordinary_patterns_are_accepted(pattern: str) -> None:
    assert forms.field_problems(_field(pattern)) == []


def test_patterns_still_decide_the_format() -> None:
    field = _field(r"[A-Z]{2}\d{6}")
    assert forms.validate([field], {"code": "NB315000"}) == {"code": "NB315000"}
    with pytest.raises(ValidationFailed) as refused:
        forms.validate([field], {"code": "nb315000"})
    assert refused.value.fields == {"code": "has the wrong format"}
    assert forms.validate([_field(r"[\u4e00-\u9fa5]+")], {"code": "宁波"}) == {"code": "宁波"}


def test_a_pattern_that_slips_through_is_stopped_in_time_with_a_clear_message() -> None:
    field = _field(r"(a|aa)+b")  # exponential on a run of a's, and not a nested repeat
    assert forms.field_problems(field) == []
    started = time.monotonic()
    with pytest.raises(ValidationFailed) as refused:
        forms.validate([field], {"code": "a" * 60})
    assert time.monotonic() - started < 5  # unbounded, this takes longer than the universe has left
    assert "in time" in refused.value.fields["code"]


def test_the_deploy_api_names_the_field_with_a_catastrophic_pattern(api: Api) -> None:
    xml = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:camunda="http://camunda.org/schema/1.0/bpmn"
    id="d" targetNamespace="http://crmflow.example/bpmn">
  <bpmn:process id="redos_form" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="fill" name="Fill" camunda:candidateGroups="cs_agent">
      <bpmn:extensionElements><camunda:formData>
        <camunda:formField id="code" label="Code" type="string">
          <camunda:validation><camunda:constraint name="pattern" config="(a+)+" /></camunda:validation>
        </camunda:formField>
      </camunda:formData></bpmn:extensionElements>
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="fill" />
    <bpmn:sequenceFlow id="f2" sourceRef="fill" targetRef="end" />
  </bpmn:process>
</bpmn:definitions>"""
    refused = api.post("admin", "/api/v1/process-definitions", data=xml, content_type="application/xml")
    assert refused.status_code == 422
    assert [(p["element_id"], "exponential" in p["message"]) for p in refused.get_json()["problems"]] == [("fill", True)]
    assert api.get("admin", "/api/v1/process-definitions/redos_form").status_code == 404


def test_the_nested_repeat_check_reads_escapes_and_classes() -> None:
    assert patterns.problem(r"[(a+)]+") is None  # a class, not a group
    assert patterns.problem(r"\((a+)\)") is None  # escaped parentheses around a group repeated once
    assert patterns.problem(r"(?:\s*\w+)+") is not None
