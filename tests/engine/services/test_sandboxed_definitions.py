"""An admin's diagram whose condition runs away cannot hold an instance or a worker: the action fails
with a readable error within the expression limit, nothing of it is stored, and validation says
beforehand which code runs in the sandbox and under what limits."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import func, select

from engine.bpmn import sandbox
from engine.errors import EngineError
from store.models import ProcessInstance
from tests.flow import Flow

SLACK = 1.5


def _gateway(condition: str) -> bytes:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
    id="d" targetNamespace="http://crmflow.example/bpmn">
  <bpmn:process id="runaway" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:exclusiveGateway id="choose" default="f3"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing><bpmn:outgoing>f3</bpmn:outgoing></bpmn:exclusiveGateway>
    <bpmn:endEvent id="end_a"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:endEvent id="end_b"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="choose" />
    <bpmn:sequenceFlow id="f2" sourceRef="choose" targetRef="end_a">
      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">{condition}</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f3" sourceRef="choose" targetRef="end_b" />
  </bpmn:process>
</bpmn:definitions>""".encode()


def _instances(flow: Flow) -> int:
    with flow.engine.db.sessions() as session:
        return session.scalar(select(func.count()).select_from(ProcessInstance)) or 0


def test_validation_reports_which_condition_runs_in_the_sandbox_and_its_limits(flow: Flow) -> None:
    with flow.engine.db.sessions() as session:
        simple = flow.engine.repository.validate(session, [("a.bpmn", _gateway("${n &gt; 1}"))])
        heavy = flow.engine.repository.validate(session, [("a.bpmn", _gateway("sum(n) &gt; 1"))])
    assert [p for p in simple if p["severity"] != "warning"] == []
    notes = [p for p in heavy if p["severity"] == "info"]
    assert [n["element_id"] for n in notes] == ["f2"]
    assert f"{sandbox.EXPRESSION_SECONDS:g} s" in notes[0]["message"] and f"{sandbox.MEMORY_MB} MB" in notes[0]["message"]
    assert not any(p["severity"] == "error" for p in heavy)


def test_a_runaway_condition_fails_the_start_in_time_and_stores_nothing(flow: Flow) -> None:
    flow.engine.repository.deploy([("runaway.bpmn", _gateway("len(sum([[1]*100000]*100000, [])) &gt; 0"))], "admin")
    before = _instances(flow)
    started = time.monotonic()
    with pytest.raises(EngineError) as failed:
        flow.engine.runtime.start(flow.actor("admin"), "runaway", {})
    assert time.monotonic() - started < sandbox.EXPRESSION_SECONDS + SLACK
    assert "longer than" in failed.value.message
    assert _instances(flow) == before
    # the worker and the database are free: a sensible process starts at once
    flow.engine.repository.deploy([("runaway.bpmn", _gateway("${1 == 1}"))], "admin")
    instance = flow.engine.runtime.start(flow.actor("admin"), "runaway", {})
    assert instance.status == "completed"
