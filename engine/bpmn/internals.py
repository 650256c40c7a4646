"""Every use of SpiffWorkflow's private API, in one place, so that a library upgrade is checked here.

SpiffWorkflow 3.2 keeps a timer's due time and fired flag in a task's internal data, links the
task tree through private fields, and runs one round of engine steps in a private method; it offers
no public way to do any of these. Nothing outside this module touches a private SpiffWorkflow name
(tests/test_layering.py checks it).
"""

from __future__ import annotations

from typing import Any

from SpiffWorkflow.bpmn.workflow import BpmnWorkflow


def internal(task: Any, name: str) -> Any:
    """A value SpiffWorkflow keeps in the task's internal data (a timer's `event_value`, ...)."""
    return task._get_internal_data(name)


def set_internal(task: Any, **values: Any) -> None:
    task._set_internal_data(**values)


def engine_round(workflow: BpmnWorkflow) -> bool:
    """One round of `do_engine_steps`; whether it ran anything (so the caller can loop and prune)."""
    return bool(workflow._do_engine_steps())


def graft(root: Any, child: Any) -> None:
    """Make `child` the only child of `root`: the levels between them are cut away."""
    root._children = [child.id]
    child._parent = root.id
