"""Instance-only serialization: the parsed spec is stored once per version, never per instance.

The stock serializer writes the whole spec into every instance (about 4x the instance data).
Here the spec is serialized at deploy time (`dump_spec`) and cached in memory; an instance's
state holds only its task tree and data, and is restored against the cached spec.
"""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter, WorkflowConverter
from SpiffWorkflow.bpmn.serializer.workflow import VERSION, BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.spiff.serializer.task_spec import ServiceTaskConverter, SpiffMultiInstanceConverter

from engine.bpmn.parser import OperationTask, ParallelInstances, SequentialInstances
from engine.bpmn.scripting import SCRIPT_ENGINE

SERIALIZER_VERSION = VERSION


class InstanceOnlyConverter(BpmnWorkflowConverter):
    def to_dict(self, workflow: BpmnWorkflow) -> dict[str, Any]:
        dct = WorkflowConverter.to_dict(self, workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

    def from_dict(self, dct: dict[str, Any], spec: Any = None, subprocess_specs: Any = None) -> BpmnWorkflow:
        workflow = self.target_class(spec, subprocess_specs, deserializing=True)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


_config = dict(SPIFF_CONFIG)
_config[OperationTask] = ServiceTaskConverter
_config[ParallelInstances] = SpiffMultiInstanceConverter
_config[SequentialInstances] = SpiffMultiInstanceConverter
_config[BpmnWorkflow] = InstanceOnlyConverter
REGISTRY = BpmnWorkflowSerializer.configure(_config)


def dump_spec(spec: Any, subprocess_specs: dict[str, Any]) -> str:
    return json.dumps(
        {
            "spec": REGISTRY.convert(spec),
            "subprocess_specs": {name: REGISTRY.convert(s) for name, s in subprocess_specs.items()},
        }
    )


def load_spec(text: str) -> tuple[Any, dict[str, Any]]:
    dct = json.loads(text)
    spec = REGISTRY.restore(dct["spec"])
    subs = {name: REGISTRY.restore(s) for name, s in dct["subprocess_specs"].items()}
    return spec, subs


def dump_instance(workflow: BpmnWorkflow) -> bytes:
    return json.dumps(REGISTRY.convert(workflow), separators=(",", ":")).encode()


def load_instance(state: bytes, spec: Any, subprocess_specs: dict[str, Any]) -> BpmnWorkflow:
    dct = json.loads(state)
    workflow = REGISTRY.restore(dct, spec=spec, subprocess_specs=subprocess_specs)
    workflow.script_engine = SCRIPT_ENGINE
    return workflow


def new_workflow(spec: Any, subprocess_specs: dict[str, Any]) -> BpmnWorkflow:
    return BpmnWorkflow(spec, subprocess_specs, script_engine=SCRIPT_ENGINE)
