"""What the web UI shows about a definition or an instance beyond the REST views: the diagram's
state (active elements, completed elements, sequence flows taken), the labels and options of
every form field of a definition, and a start form model with its defaults."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import operations
from engine.bpmn import forms
from engine.bpmn.diagram import DiagramState, diagram_of
from store.models import HistoryEvent, ProcessDefinition, ProcessInstance

if TYPE_CHECKING:
    from engine.process_engine import ProcessEngine


def diagram_state(engine: ProcessEngine, session: Session, instance: ProcessInstance) -> DiagramState:
    state = diagram_of(engine.runtime.load(session, instance))
    # The history keeps every completed user task even where the engine prunes its task tree.
    completed = set(state.completed) | set(
        session.scalars(
            select(HistoryEvent.task_key).where(
                HistoryEvent.instance_id == instance.id, HistoryEvent.action == "complete", HistoryEvent.task_key.is_not(None)
            )
        )
    )
    return DiagramState(state.active, sorted(completed - set(state.active)), state.flows)


def field_catalogue(engine: ProcessEngine, session: Session, definition_id: int) -> dict[str, dict[str, Any]]:
    """Every form field of a definition (start form first, then user tasks): label, English label,
    type and enum options, so instance data can be shown with the words of its forms."""
    start_meta = engine.repository.start_meta(session, definition_id)
    spec, subs = engine.repository.spec(session, definition_id)
    forms_in_order: list[list[dict[str, Any]]] = [start_meta.get("form") or []]
    for process_spec in (spec, *subs.values()):
        for task_spec in process_spec.task_specs.values():
            forms_in_order.append((getattr(task_spec, "extensions", None) or {}).get("form") or [])
    catalogue: dict[str, dict[str, Any]] = {}
    for form in forms_in_order:
        for f in form:
            if not f.get("id"):
                continue
            options = {o["id"]: o["name"] for o in f.get("options") or []}
            if f["id"] in catalogue:
                # Two forms with a field of the same id (the lead's duplicate `decision` and the
                # director's): every option keeps its own words, the first form's win (#13.8).
                catalogue[f["id"]]["options"] = {**options, **catalogue[f["id"]]["options"]}
                continue
            catalogue[f["id"]] = {
                "label": f.get("label") or f["id"],
                "label_en": (f.get("properties") or {}).get("label_en") or f.get("label") or f["id"],
                "type": f.get("type", "string"),
                "options": options,
            }
    return catalogue


def start_field_ids(session: Session, definition_id: int) -> set[str]:
    """The ids of a definition's start form fields (the first a search form offers)."""
    meta = session.scalar(select(ProcessDefinition.start_meta).where(ProcessDefinition.id == definition_id)) or {}
    return {f["id"] for f in meta.get("form") or [] if f.get("id")}


def start_form(engine: ProcessEngine, session: Session, definition: ProcessDefinition, username: str) -> list[dict[str, Any]]:
    """The start form as clients render it, defaults computed (as TaskService.details does for tasks)."""
    fields = (definition.start_meta or {}).get("form") or []
    with operations.action(engine.context(session, username)):
        return forms.form_model(fields, {})


def element_names(engine: ProcessEngine, session: Session, definition_id: int, user_tasks: bool = False) -> dict[str, str]:
    """BPMN element id -> name for a definition version (for history lines and diagram legends),
    in the spec's order; `user_tasks`: its user tasks only (a search's "waiting at")."""
    spec, subs = engine.repository.spec(session, definition_id)
    names: dict[str, str] = {}
    for process_spec in (spec, *subs.values()):
        for task_spec in process_spec.task_specs.values():
            element = getattr(task_spec, "bpmn_id", None)
            if user_tasks and not getattr(task_spec, "manual", False):
                continue
            if element and element not in names:
                names[element] = getattr(task_spec, "bpmn_name", None) or element
    return names
