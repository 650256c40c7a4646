"""The BPMN parser: SpiffWorkflow's, taught the Camunda 7 attributes the designer writes.

Everything Camunda-specific (candidate groups and users, assignee, due and follow-up dates,
generated forms, extension properties, external-task topics, decision references) lands in the
task spec's `extensions`, which Spiff serializes with the spec, so no custom spec classes are
needed except the service task that calls a registered operation.
"""

from __future__ import annotations

import re
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn.parser.BpmnParser import full_tag
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.specs.data_spec import TaskDataReference
from SpiffWorkflow.spiff.parser.event_parsers import (
    SpiffBoundaryEventParser,
    SpiffEndEventParser,
    SpiffIntermediateCatchEventParser,
    SpiffIntermediateThrowEventParser,
    SpiffReceiveTaskParser,
    SpiffSendTaskParser,
    SpiffStartEventParser,
)
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser, SpiffProcessParser
from SpiffWorkflow.spiff.parser.task_spec import (
    BusinessRuleTaskParser,
    ScriptTaskParser,
    ServiceTaskParser,
    SpiffTaskParser,
    UserTaskParser,
)
from SpiffWorkflow.spiff.specs.defaults import ParallelMultiInstanceTask, SequentialMultiInstanceTask, ServiceTask

CAMUNDA_NS = "http://camunda.org/schema/1.0/bpmn"
CAMUNDA_ATTRIBUTES = (
    "candidateGroups",
    "candidateUsers",
    "assignee",
    "dueDate",
    "followUpDate",
    "priority",
    "formKey",
    "initiator",
    "type",
    "topic",
    "decisionRef",
    "resultVariable",
    "asyncBefore",
)


MAX_HISTORY_TTL_DAYS = 36_500
_TTL = re.compile(r"^(?:P(\d{1,5})D|(\d{1,5}))$")


def history_ttl_days(process: etree._Element) -> int | None:
    """How many days a finished instance of the process is kept (Camunda's
    `camunda:historyTimeToLive`: days, or an ISO duration of days such as `P180D`); None keeps it
    for ever. Raises ValueError for anything else (validation reports it)."""
    text = (process.get(_c("historyTimeToLive")) or "").strip()
    if not text:
        return None
    match = _TTL.match(text)
    days = int(match.group(1) or match.group(2)) if match else -1
    if not 0 < days <= MAX_HISTORY_TTL_DAYS:
        raise ValueError(f"history time to live must be a number of days from 1 to {MAX_HISTORY_TTL_DAYS} (e.g. 180 or P180D)")
    return days


_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")


def _c(tag: str) -> str:
    return f"{{{CAMUNDA_NS}}}{tag}"


def _extension_children(node: etree._Element, tag: str) -> list[etree._Element]:
    return [child for ext in node if etree.QName(ext).localname == "extensionElements" for child in ext if child.tag == _c(tag)]


def parse_form_fields(node: etree._Element) -> list[dict[str, Any]]:
    """`camunda:formData/camunda:formField` to plain dicts (see engine.forms)."""
    fields = []
    for form in _extension_children(node, "formData"):
        for xf in form:
            if xf.tag != _c("formField"):
                continue
            field: dict[str, Any] = {
                "id": xf.get("id") or "",
                "label": xf.get("label") or xf.get("id") or "",
                "type": xf.get("type") or "string",
                "default": xf.get("defaultValue"),
                "options": [],
                "constraints": {},
                "properties": {},
            }
            for child in xf:
                if child.tag == _c("value"):
                    field["options"].append({"id": child.get("id"), "name": child.get("name") or child.get("id")})
                elif child.tag == _c("validation"):
                    for constraint in child:
                        if constraint.tag == _c("constraint"):
                            field["constraints"][constraint.get("name")] = constraint.get("config")
                elif child.tag == _c("properties"):
                    for prop in child:
                        if prop.tag == _c("property"):
                            field["properties"][prop.get("id") or prop.get("name")] = prop.get("value")
            fields.append(field)
    return fields


def camunda_extensions(node: etree._Element) -> dict[str, Any]:
    """The Camunda 7 attributes and extension elements of one BPMN element."""
    ext: dict[str, Any] = {}
    for name in CAMUNDA_ATTRIBUTES:
        value = node.get(_c(name))
        if value not in (None, ""):
            ext[name] = value
    props = {
        p.get("name"): p.get("value")
        for group in _extension_children(node, "properties")
        for p in group
        if p.tag == _c("property") and p.get("name")
    }
    if props:
        ext["camundaProperties"] = props
    fields = parse_form_fields(node)
    if fields:
        ext["form"] = fields
    params = {
        p.get("name"): (p.text or "").strip()
        for io in _extension_children(node, "inputOutput")
        for p in io
        if p.tag == _c("inputParameter") and p.get("name")
    }
    if params:
        ext["inputParameters"] = params
    return ext


MESSAGE_FROM = "messageFrom"  # catch event property: roles and/or `initiator` who may deliver the message
MESSAGE_VARIABLES = "messageVariables"  # catch event property: the variables the message may set


def listed_property(spec: Any, name: str) -> list[str]:
    """A comma-separated Camunda property of a task spec (`fourEyes`, `messageFrom`), as written."""
    props = (getattr(spec, "extensions", None) or {}).get("camundaProperties") or {}
    return [n.strip() for n in str(props.get(name) or "").split(",") if n.strip()]


class _LocalElement:
    """A multi-instance activity whose element variable is each instance's own (as in Camunda):
    a finished instance's data is merged without it, so the activity can run again in a loop (an
    approval chain's next step) without Spiff refusing an input item that already exists."""

    input_item: Any
    data_output: Any

    def merge_child(self, workflow: Any, child: Any) -> None:
        if self.input_item is not None and self.data_output is None:
            child.data.pop(self.input_item.bpmn_id, None)
        super().merge_child(workflow, child)  # type: ignore[misc]


class ParallelInstances(_LocalElement, ParallelMultiInstanceTask):
    pass


class SequentialInstances(_LocalElement, SequentialMultiInstanceTask):
    pass


class CamundaExtensionsMixin:
    """Adds the Camunda extensions to whatever Spiff reads into `extensions`, and Camunda's way of
    writing a multi-instance activity's collection."""

    node: etree._Element
    PARALLEL_MI_CLASS = ParallelInstances
    SEQUENTIAL_MI_CLASS = SequentialInstances

    def parse_extensions(self, node: etree._Element | None = None) -> dict[str, Any]:
        node = self.node if node is None else node
        ext = SpiffTaskParser._parse_extensions(node)
        ext.update(camunda_extensions(node))
        return ext

    def _add_multiinstance_task(self, loop_characteristics: etree._Element) -> None:
        """`camunda:collection="signers"` (or `${signers}`) with `camunda:elementVariable="signer"`,
        as Camunda Modeler writes them: one instance per item of the data's list, the item in the
        instance's data under the element variable. BPMN's own loopDataInputRef and
        inputDataItem are read by Spiff as before."""
        collection = loop_characteristics.get(_c("collection"))
        if collection is None:
            super()._add_multiinstance_task(loop_characteristics)  # type: ignore[misc]
            return
        name = collection.strip()
        if name.startswith("${") and name.endswith("}"):
            name = name[2:-1].strip()
        element = loop_characteristics.get(_c("elementVariable"))
        for value in (name, element):
            if value is not None and not _IDENTIFIER.match(value):
                self.raise_validation_exception(f"a multi-instance collection and element variable are data names, not '{value}'")  # type: ignore[attr-defined]
        condition = [c.text for c in loop_characteristics if etree.QName(c).localname == "completionCondition"]
        original = self.spec.task_specs.pop(self.task.name)  # type: ignore[attr-defined]
        sequential = loop_characteristics.get("isSequential") == "true"
        kind = self.SEQUENTIAL_MI_CLASS if sequential else self.PARALLEL_MI_CLASS  # type: ignore[attr-defined]
        self.task = kind(
            self.spec,  # type: ignore[attr-defined]
            original.name,
            description="Sequential MultiInstance" if sequential else "Parallel MultiInstance",
            bpmn_name=original.bpmn_name,  # the activity is named as its instances are (history, monitor)
            lane=original.lane,
            documentation=original.documentation,
            task_spec="",
            cardinality=None,
            data_input=TaskDataReference(name),
            data_output=None,
            input_item=TaskDataReference(element) if element else None,
            output_item=None,
            condition=condition[0] if condition else None,
        )
        self._copy_task_attrs(original, loop_characteristics)  # type: ignore[attr-defined]


class OperationTask(ServiceTask):
    """A service task that calls a registered Python operation (Camunda `type="external"` topic).

    Parameters are literals unless written as `${...}`; the operation's result (a dict) is merged
    into the task data.
    """

    def _execute(self, task: Any) -> bool:
        task.workflow.script_engine.call_operation(task, self.operation_name, self.operation_params)
        return True


class CrmTaskParser(CamundaExtensionsMixin, SpiffTaskParser):
    pass


class CrmUserTaskParser(CamundaExtensionsMixin, UserTaskParser):
    pass


class CrmScriptTaskParser(CamundaExtensionsMixin, ScriptTaskParser):
    pass


class CrmServiceTaskParser(CamundaExtensionsMixin, ServiceTaskParser):
    def create_task(self) -> Any:
        ext = self.parse_extensions()
        topic = ext.get("topic")
        if topic is None and "serviceTaskOperator" in ext:
            return super().create_task()
        if topic is None:
            raise ValidationException(
                'A service task needs an implementation: set camunda:type="external" and camunda:topic to a registered operation',
                node=self.node,
                file_name=self.filename,
            )
        params = {name: {"value": value, "type": "str"} for name, value in ext.get("inputParameters", {}).items()}
        return OperationTask(
            self.spec,
            self.bpmn_id,
            operation_name=topic,
            operation_params=params,
            result_variable=ext.get("resultVariable"),
            **self.bpmn_attributes,
        )


class CrmBusinessRuleTaskParser(CamundaExtensionsMixin, BusinessRuleTaskParser):
    @staticmethod
    def get_decision_ref(node: etree._Element) -> str | None:
        return node.get(_c("decisionRef")) or BusinessRuleTaskParser.get_decision_ref(node)


class CrmStartEventParser(CamundaExtensionsMixin, SpiffStartEventParser):
    pass


class CrmEndEventParser(CamundaExtensionsMixin, SpiffEndEventParser):
    pass


class CrmBoundaryEventParser(CamundaExtensionsMixin, SpiffBoundaryEventParser):
    pass


class CrmIntermediateCatchEventParser(CamundaExtensionsMixin, SpiffIntermediateCatchEventParser):
    pass


class CrmIntermediateThrowEventParser(CamundaExtensionsMixin, SpiffIntermediateThrowEventParser):
    pass


class CrmSendTaskParser(CamundaExtensionsMixin, SpiffSendTaskParser):
    pass


class CrmReceiveTaskParser(CamundaExtensionsMixin, SpiffReceiveTaskParser):
    pass


_BASE = SpiffBpmnParser.OVERRIDE_PARSER_CLASSES
_PARSERS: dict[str, type] = {
    "task": CrmTaskParser,
    "manualTask": CrmTaskParser,
    "userTask": CrmUserTaskParser,
    "scriptTask": CrmScriptTaskParser,
    "serviceTask": CrmServiceTaskParser,
    "businessRuleTask": CrmBusinessRuleTaskParser,
    "startEvent": CrmStartEventParser,
    "endEvent": CrmEndEventParser,
    "boundaryEvent": CrmBoundaryEventParser,
    "intermediateCatchEvent": CrmIntermediateCatchEventParser,
    "intermediateThrowEvent": CrmIntermediateThrowEventParser,
    "sendTask": CrmSendTaskParser,
    "receiveTask": CrmReceiveTaskParser,
}


class CrmProcessParser(SpiffProcessParser):
    """Index only BPMN elements by id.

    Spiff indexes every element with an id, so an enum value `approve` of a form field would
    replace the user task `approve` in its index; form field and value ids are not BPMN ids.
    """

    def _index_process_nodes(self) -> None:
        super()._index_process_nodes()
        self.nodes_by_id = {node.get("id"): node for node in self.xpath(".//bpmn:*[@id]")}


class CrmBpmnParser(SpiffBpmnParser):
    """SpiffBpmnParser that also reads `camunda:*` task attributes, forms and topics."""

    PROCESS_PARSER_CLASS = CrmProcessParser

    OVERRIDE_PARSER_CLASSES = {
        **_BASE,
        **{full_tag(tag): (parser, _BASE[full_tag(tag)][1]) for tag, parser in _PARSERS.items()},
    }
