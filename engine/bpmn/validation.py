"""Validation of BPMN/DMN documents before deployment: one list of per-element problems.

The designer and the deploy API share this code, so what the designer flags is exactly what
deployment refuses. Errors block deployment; warnings are reported and allowed; notes (`info`) say
which code runs in the sandbox process and under what limits.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

from engine.bpmn import expressions, forms, sandbox, timers
from engine.bpmn.parser import CAMUNDA_NS, MESSAGE_FROM, MESSAGE_VARIABLES, history_ttl_days, parse_form_fields
from engine.errors import InvalidDefinition, TooLarge

MAX_DEFINITION_BYTES = 5 * 1024 * 1024
BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
DMN_NAMESPACES = {
    "https://www.omg.org/spec/DMN/20191111/MODEL/",
    "http://www.omg.org/spec/DMN/20180521/MODEL/",
    "http://www.omg.org/spec/DMN/20151101/dmn.xsd",
}

FLOW_NODES = {
    "startEvent",
    "endEvent",
    "userTask",
    "manualTask",
    "task",
    "scriptTask",
    "serviceTask",
    "businessRuleTask",
    "sendTask",
    "receiveTask",
    "exclusiveGateway",
    "parallelGateway",
    "inclusiveGateway",
    "eventBasedGateway",
    "intermediateCatchEvent",
    "intermediateThrowEvent",
    "boundaryEvent",
    "subProcess",
    "callActivity",
    "transaction",
}
OTHER_ALLOWED = {
    "sequenceFlow",
    "laneSet",
    "lane",
    "dataObject",
    "dataObjectReference",
    "dataStoreReference",
    "textAnnotation",
    "association",
    "documentation",
    "extensionElements",
    "ioSpecification",
    "property",
    "group",
    "dataInputAssociation",
    "dataOutputAssociation",
    "category",
    # the sub-process's own parts, met when its children are checked
    "incoming",
    "outgoing",
    "multiInstanceLoopCharacteristics",
    "standardLoopCharacteristics",
}
_ISO_LIKE = re.compile(r"^(P|R\d*/)[0-9A-Z.,/:+-]*$")
UNSUPPORTED = {"complexGateway", "adHocSubProcess", "choreographyTask", "subChoreography"}


@dataclass
class Problem:
    element_id: str
    message: str
    severity: str = "error"
    element_name: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "element_id": self.element_id,
            "element_name": self.element_name,
            "message": self.message,
            "severity": self.severity,
        }


@dataclass
class Document:
    filename: str
    content: bytes
    root: etree._Element
    kind: str  # bpmn | dmn


@dataclass
class Report:
    problems: list[Problem] = field(default_factory=list)

    def error(self, node: Any, message: str) -> None:
        self.add(node, message, "error")

    def warning(self, node: Any, message: str) -> None:
        self.add(node, message, "warning")

    def info(self, node: Any, message: str) -> None:
        """Not a problem: what the deployment should know (the limits sandboxed code runs under)."""
        self.add(node, message, "info")

    def add(self, node: Any, message: str, severity: str) -> None:
        if isinstance(node, str):
            self.problems.append(Problem(node, message, severity))
        else:
            self.problems.append(Problem(node.get("id") or "", message, severity, node.get("name") or ""))

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    def raise_if_errors(self) -> None:
        if self.errors:
            raise InvalidDefinition([p.as_dict() for p in self.problems])


PROCESS_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]{0,127}")  # an XML id (NCName) that fits the key column


def parse_document(filename: str, content: bytes) -> Document:
    """Parse untrusted XML safely: size limit, no DTDs, no entities, no network."""
    if len(content) > MAX_DEFINITION_BYTES:
        raise TooLarge(f"{filename} is larger than {MAX_DEFINITION_BYTES // (1024 * 1024)} MB")
    head = content[:4096].lower().replace(b"\x00", b"")
    if b"<!doctype" in head or b"<!entity" in head:
        raise InvalidDefinition([{"element_id": "", "message": f"{filename}: DTDs and entities are not allowed", "severity": "error"}])
    parser = etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )
    try:
        root = etree.fromstring(content, parser)
    except etree.XMLSyntaxError as exc:
        raise InvalidDefinition([{"element_id": "", "message": f"{filename}: not well-formed XML: {exc}", "severity": "error"}]) from exc
    tree = root.getroottree()
    if tree.docinfo.internalDTD is not None or tree.docinfo.doctype:
        raise InvalidDefinition([{"element_id": "", "message": f"{filename}: DTDs and entities are not allowed", "severity": "error"}])
    ns = etree.QName(root).namespace
    if ns == BPMN_NS and etree.QName(root).localname == "definitions":
        return Document(filename, content, root, "bpmn")
    if ns in DMN_NAMESPACES and etree.QName(root).localname == "definitions":
        return Document(filename, content, root, "dmn")
    raise InvalidDefinition([{"element_id": "", "message": f"{filename}: not a BPMN 2.0 or DMN document", "severity": "error"}])


def _local(node: etree._Element) -> str:
    return etree.QName(node).localname if isinstance(node.tag, str) else ""


def _bpmn(node: etree._Element, tag: str) -> list[etree._Element]:
    return node.findall(f"{{{BPMN_NS}}}{tag}")


def _camunda(node: etree._Element, name: str) -> str | None:
    return node.get(f"{{{CAMUNDA_NS}}}{name}")


def executable_processes(root: etree._Element) -> list[etree._Element]:
    return [p for p in _bpmn(root, "process") if p.get("isExecutable", "false").lower() == "true"]


def _sandbox_note(seconds: float) -> str:
    return (
        f"runs in a sandbox process (not simple enough to run in the app): at most {seconds:g} s and "
        f"{sandbox.MEMORY_MB} MB, values of at most {sandbox.MAX_SEQUENCE:,} items"
    )


def _check_expression(report: Report, node: etree._Element, text: str, prefix: str = "") -> None:
    """An error if the expression is refused; a note with the limits if it runs in the sandbox."""
    problem = expressions.check_expression(text)
    if problem:
        report.error(node, prefix + problem)
    elif not expressions.runs_in_process(text):
        report.info(node, f"{prefix}expression '{expressions.short(text)}' {_sandbox_note(sandbox.EXPRESSION_SECONDS)}")


def _check_timer(report: Report, event: etree._Element) -> None:
    for definition in event.iter(f"{{{BPMN_NS}}}timerEventDefinition"):
        texts = [(c, _local(c)) for c in definition if _local(c) in ("timeDate", "timeDuration", "timeCycle")]
        if not texts:
            report.error(event, "timer has no date, duration or cycle")
        for child, kind in texts:
            text = (child.text or "").strip()
            if not text:
                report.error(event, f"timer {kind} is empty")
            elif expressions.is_iso_literal(text) or _ISO_LIKE.match(text):
                try:
                    if kind == "timeDuration":
                        TimerEventDefinition.parse_iso_duration(text)
                    elif kind == "timeCycle":
                        problem = timers.cycle_problem(text)
                        if problem:
                            report.error(event, f"timer {kind}: {problem}")
                    else:
                        TimerEventDefinition.get_datetime(text)
                except Exception:
                    report.error(event, f"timer {kind} '{text}' is not a valid ISO 8601 value")
            else:
                _check_expression(report, event, text, f"timer {kind}: ")


def _check_node(report: Report, node: etree._Element, known_roles: set[str] | None, operations: set[str], decisions: set[str]) -> None:
    kind = _local(node)
    for attr in ("candidateGroups", "candidateUsers", "assignee", "dueDate", "followUpDate"):
        value = _camunda(node, attr)
        if not value:
            continue
        if expressions.is_expression(value):
            _check_expression(report, node, value, f"{attr}: ")
        elif attr in ("dueDate", "followUpDate") and not expressions.is_iso_literal(value):
            report.error(node, f"{attr} '{value}' is neither an ISO 8601 date/duration nor an expression")
        elif attr == "candidateGroups" and known_roles is not None:
            for role in (r.strip() for r in value.split(",")):
                if role and role not in known_roles:
                    report.error(node, f"candidate group '{role}' is not a role")
    fields = parse_form_fields(node)
    seen: set[str] = set()
    for f in fields:
        for problem in forms.field_problems(f):
            report.error(node, problem)
        if f["id"] in seen:
            report.error(node, f"form field '{f['id']}' is declared twice")
        seen.add(f["id"])
    if kind == "scriptTask":
        scripts = _bpmn(node, "script")
        text = scripts[0].text if scripts else None
        if not text or not text.strip():
            report.error(node, "script task has no script")
        else:
            fmt = (node.get("scriptFormat") or "python").lower()
            if fmt not in ("python", "py", "text/x-python"):
                report.error(node, f"script format '{fmt}' is not supported (use python)")
            else:
                problem = expressions.check_script(text)
                if problem:
                    report.error(node, problem)
                elif not expressions.script_runs_in_process(text):
                    report.info(node, f"the script {_sandbox_note(sandbox.SCRIPT_SECONDS)}")
    if kind == "serviceTask":
        topic = _camunda(node, "topic")
        if topic is not None and topic not in operations:
            report.error(node, f"no operation is registered for topic '{topic}'")
        for io in node.iter(f"{{{CAMUNDA_NS}}}inputParameter"):
            text = (io.text or "").strip()
            if expressions.is_expression(text):
                _check_expression(report, node, text, f"input parameter '{io.get('name')}': ")
    if kind == "businessRuleTask":
        ref = _camunda(node, "decisionRef")
        if not ref:
            report.error(node, "business rule task has no camunda:decisionRef")
        elif ref not in decisions:
            report.error(node, f"decision '{ref}' is not deployed and not part of this deployment")
    if kind in ("startEvent", "boundaryEvent", "intermediateCatchEvent"):
        _check_timer(report, node)
        _check_message_senders(report, node, known_roles)
    if kind == "userTask" and not any(_camunda(node, a) for a in ("candidateGroups", "candidateUsers", "assignee")):
        report.warning(
            node, "nobody is named to receive this task (no candidate groups, users or assignee): it goes to the process initiator"
        )


def _check_container(
    report: Report, container: etree._Element, known_roles: set[str] | None, operations: set[str], decisions: set[str]
) -> None:
    ids: dict[str, etree._Element] = {}
    flows = []
    for node in container:
        kind = _local(node)
        if not kind:
            continue
        if kind in UNSUPPORTED or (kind not in FLOW_NODES and kind not in OTHER_ALLOWED):
            report.error(node, f"{kind} is not supported")
            continue
        if node.get("id"):
            ids[node.get("id")] = node
        if kind == "sequenceFlow":
            flows.append(node)
        elif kind in FLOW_NODES:
            _check_node(report, node, known_roles, operations, decisions)
            if kind in ("subProcess", "transaction"):
                _check_container(report, node, known_roles, operations, decisions)
    incoming: set[str] = set()
    outgoing: set[str] = set()
    for flow in flows:
        src, dst = flow.get("sourceRef"), flow.get("targetRef")
        if src not in ids or dst not in ids:
            report.error(flow, f"sequence flow is dangling: {src or '?'} -> {dst or '?'}")
            continue
        incoming.add(dst)
        outgoing.add(src)
        for cond in _bpmn(flow, "conditionExpression"):
            text = (cond.text or "").strip()
            language = (cond.get("language") or "").lower()
            if language and not any(word in language for word in ("python", "juel", "jexl")):
                report.error(flow, f"condition language '{cond.get('language')}' is not supported: write ${{...}} (JUEL) or Python")
            elif text.startswith("="):
                report.error(flow, "FEEL conditions ('= ...') are not supported: write ${...} (JUEL) or Python")
            elif text:
                _check_expression(report, flow, text, "condition: ")
    _check_four_eyes(report, container, ids)
    event_sub = container.get("triggeredByEvent") == "true"
    for node_id, node in ids.items():
        kind = _local(node)
        if kind not in FLOW_NODES:
            continue
        if (
            node_id not in incoming
            and kind not in ("startEvent", "boundaryEvent")
            and not (kind == "subProcess" and node.get("triggeredByEvent") == "true")
        ):
            report.warning(node, "has no incoming sequence flow: it can never run")
        needs_outgoing = (
            kind in ("startEvent", "exclusiveGateway", "parallelGateway", "inclusiveGateway", "eventBasedGateway", "boundaryEvent")
            or kind.endswith("Task")
            or kind == "task"
        )
        if node_id not in outgoing and needs_outgoing and not event_sub:
            report.warning(node, "has no outgoing sequence flow: the path ends here")


def _check_message_senders(report: Report, node: etree._Element, known_roles: set[str] | None) -> None:
    """A message catch event names who may deliver (`messageFrom`: roles, `initiator`) and what the
    message may set (`messageVariables`); one that names nobody takes messages from admins only."""
    if not _bpmn(node, "messageEventDefinition"):
        return
    parent = node.getparent()
    if _local(node) == "startEvent" and not (parent is not None and parent.get("triggeredByEvent") == "true"):
        return  # a process's message start is not delivered through /messages
    props = {p.get("name"): p.get("value") or "" for p in node.iter(f"{{{CAMUNDA_NS}}}property")}
    senders = [n.strip() for n in props.get(MESSAGE_FROM, "").split(",") if n.strip()]
    if not senders:
        report.warning(node, f"no {MESSAGE_FROM} property: only admins may deliver this message (name roles and/or 'initiator')")
    for sender in senders:
        if sender != "initiator" and known_roles is not None and sender not in known_roles:
            report.error(node, f"{MESSAGE_FROM}: '{sender}' is neither 'initiator' nor a role")
    for variable in (n.strip() for n in props.get(MESSAGE_VARIABLES, "").split(",")):
        if variable and not forms.FIELD_ID.match(variable):
            report.error(node, f"{MESSAGE_VARIABLES}: '{variable}' is not a variable name")


def _check_four_eyes(report: Report, container: etree._Element, ids: dict[str, etree._Element]) -> None:
    """A `fourEyes` property names `initiator` or user tasks of the process (whoever completed them
    may not perform this task); a name that is neither would exclude nobody, silently."""
    process = container
    while process.getparent() is not None and _local(process) != "process":
        process = process.getparent()
    user_tasks = {n.get("id") for n in process.iter(f"{{{BPMN_NS}}}userTask")}
    for node in ids.values():
        if _local(node) != "userTask":
            continue
        for prop in node.iter(f"{{{CAMUNDA_NS}}}property"):
            if prop.get("name") != "fourEyes":
                continue
            for name in (n.strip() for n in (prop.get("value") or "").split(",")):
                if name and name != "initiator" and name not in user_tasks:
                    report.error(node, f"fourEyes: '{name}' is neither 'initiator' nor a user task of this process")


def validate_bpmn(doc: Document, known_roles: set[str] | None, operations: set[str], decisions: set[str]) -> Report:
    report = Report()
    processes = executable_processes(doc.root)
    if not processes:
        report.error(doc.root.get("id") or "definitions", f'{doc.filename}: no executable process (isExecutable="true")')
    for process in processes:
        if not process.get("id"):
            report.error(process, "process has no id")
            continue
        if not PROCESS_KEY.fullmatch(process.get("id")):
            report.error(process, "process id must be a letter or '_' and then letters, digits, '_', '.' or '-' (128 at most)")
            continue
        starts = [n for n in _bpmn(process, "startEvent")]
        if not starts:
            report.error(process, "process has no start event")
        try:
            history_ttl_days(process)
        except ValueError as exc:
            report.error(process, str(exc))
        starter_groups = _camunda(process, "candidateStarterGroups")
        if starter_groups and known_roles is not None:
            for role in (r.strip() for r in starter_groups.split(",")):
                if role and role not in known_roles:
                    report.error(process, f"candidate starter group '{role}' is not a role")
        _check_container(report, process, known_roles, operations, decisions)
    return report


def decisions(doc: Document) -> dict[str, etree._Element]:
    """A DMN document's decisions by id (ids are checked by validate_dmn before anything uses them)."""
    ns = etree.QName(doc.root).namespace
    return {d.get("id"): d for d in doc.root.findall(f"{{{ns}}}decision") if d.get("id")}


def decision_ids(doc: Document) -> list[str]:
    return list(decisions(doc))


def validate_dmn(doc: Document) -> Report:
    """Decision ids follow the same rule as process keys: they become keys and versions."""
    report = Report()
    ns = etree.QName(doc.root).namespace
    found = doc.root.findall(f"{{{ns}}}decision")
    if not found:
        report.error(doc.root.get("id") or "definitions", f"{doc.filename}: no decision")
    for decision in found:
        key = decision.get("id") or ""
        if not PROCESS_KEY.fullmatch(key):
            report.problems.append(
                Problem(
                    key[:128],
                    f"decision id '{key[:64]}' must be a letter or '_' and then letters, digits, '_', '.' or '-' (128 at most)",
                    "error",
                    "",
                )
            )
    return report
