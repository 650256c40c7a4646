"""What the web UI shows about a definition or an instance beyond the REST views: the diagram's
state (active elements, completed elements, sequence flows taken), the labels and options of
every form field of a definition, and a start form model with its defaults."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import operations
from engine.bpmn import forms
from engine.errors import NotFound
from store.models import HistoryEvent, ProcessDefinition, ProcessInstance

if TYPE_CHECKING:
    from engine.process_engine import ProcessEngine

_ACTIVE = TaskState.READY | TaskState.STARTED | TaskState.WAITING
_REACHED = TaskState.COMPLETED | _ACTIVE


@dataclass
class DiagramState:
    """Element ids of an instance's diagram: where it is now, where it has been, which flows it took."""

    active: list[str]
    completed: list[str]
    flows: list[tuple[str, str]]

    def as_dict(self) -> dict[str, Any]:
        return {"active": self.active, "completed": self.completed, "flows": [list(f) for f in self.flows]}


def _element_ancestor(task: Any) -> Any:
    """The nearest ancestor that is a diagram element (engine-internal helper tasks have no bpmn_id)."""
    parent = task.parent
    while parent is not None and not getattr(parent.task_spec, "bpmn_id", None):
        parent = parent.parent
    return parent


def diagram_state(engine: ProcessEngine, session: Session, instance: ProcessInstance) -> DiagramState:
    workflow = engine.runtime.load(session, instance)
    active: set[str] = set()
    completed: set[str] = set()
    flows: set[tuple[str, str]] = set()
    for task in workflow.get_tasks():
        element = getattr(task.task_spec, "bpmn_id", None)
        if not element:
            continue
        is_boundary = type(task.task_spec).__name__ == "BoundaryEvent"
        if task.state & TaskState.COMPLETED:
            completed.add(element)
        elif task.state & _ACTIVE and not (is_boundary and task.state & TaskState.WAITING):
            active.add(element)
        if task.state & _REACHED and not is_boundary:
            source = _element_ancestor(task)
            if source is not None and source.state & TaskState.COMPLETED:
                flows.add((source.task_spec.bpmn_id, element))
    # The history keeps every completed user task even where the engine prunes its task tree.
    completed |= set(
        session.scalars(
            select(HistoryEvent.task_key).where(
                HistoryEvent.instance_id == instance.id, HistoryEvent.action == "complete", HistoryEvent.task_key.is_not(None)
            )
        )
    )
    return DiagramState(sorted(active), sorted(completed - active), sorted(flows))


def field_catalogue(engine: ProcessEngine, session: Session, definition_id: int) -> dict[str, dict[str, Any]]:
    """Every form field of a definition (start form first, then user tasks): label, English label,
    type and enum options, so instance data can be shown with the words of its forms."""
    # Only the start form's column: the row's large columns (XML, serialized spec) are not needed.
    found = session.execute(select(ProcessDefinition.start_meta).where(ProcessDefinition.id == definition_id)).one_or_none()
    if found is None:
        raise NotFound(f"no process definition {definition_id}")
    spec, subs = engine.repository.spec(session, definition_id)
    forms_in_order: list[list[dict[str, Any]]] = [(found.start_meta or {}).get("form") or []]
    for process_spec in (spec, *subs.values()):
        for task_spec in process_spec.task_specs.values():
            forms_in_order.append((getattr(task_spec, "extensions", None) or {}).get("form") or [])
    catalogue: dict[str, dict[str, Any]] = {}
    for form in forms_in_order:
        for f in form:
            if f.get("id") and f["id"] not in catalogue:
                catalogue[f["id"]] = {
                    "label": f.get("label") or f["id"],
                    "label_en": (f.get("properties") or {}).get("label_en") or f.get("label") or f["id"],
                    "type": f.get("type", "string"),
                    "options": {o["id"]: o["name"] for o in f.get("options") or []},
                }
    return catalogue


def start_form(engine: ProcessEngine, session: Session, definition: ProcessDefinition, username: str) -> list[dict[str, Any]]:
    """The start form as clients render it, defaults computed (as TaskService.details does for tasks)."""
    fields = (definition.start_meta or {}).get("form") or []
    with operations.action(engine.context(session, username)):
        return forms.form_model(fields, {})


def element_names(engine: ProcessEngine, session: Session, definition_id: int) -> dict[str, str]:
    """BPMN element id -> name for a definition version (for history lines and diagram legends)."""
    spec, subs = engine.repository.spec(session, definition_id)
    names: dict[str, str] = {}
    for process_spec in (spec, *subs.values()):
        for task_spec in process_spec.task_specs.values():
            element = getattr(task_spec, "bpmn_id", None)
            if element and element not in names:
                names[element] = getattr(task_spec, "bpmn_name", None) or element
    return names
