"""An instance's state on its diagram: the elements active now, the elements completed, and the
sequence flows taken, read from the workflow's task tree."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState

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


def diagram_of(workflow: BpmnWorkflow) -> DiagramState:
    """Where the workflow is and has been. A pruned tree no longer holds early loop rounds: callers
    add the completed steps they know from elsewhere (the history)."""
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
    return DiagramState(sorted(active), sorted(completed - active), sorted(flows))
