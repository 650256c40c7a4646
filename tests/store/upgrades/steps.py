"""What a user enters in a form and who may enter it, for any version of CRMFlow.

Shared by the fixture generator (make_fixtures.py, run inside an old version's tree, which loads
this file by its path) and by tests/store/test_upgrades.py (the current code). It therefore
imports nothing of the application (SpiffWorkflow 3.2 all along): it reads a form model as every version's
`forms.form_model` returns it (id, type, required, readonly, default, options, min, max,
minlength, maxlength, required_if) and the users and roles tables, which have kept their shape
since the first migration.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from typing import Any

from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.task import Task as SpiffTask
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import Connection, text

Form = list[dict[str, Any]]

TEXT = "升级测试"  # what a user types into a text field


def _number(field: dict[str, Any]) -> float:
    low = float(field["min"]) if field.get("min") not in (None, "") else 0.0
    high = float(field["max"]) if field.get("max") not in (None, "") else None
    value = max(low, 1000.0)
    return min(value, high) if high is not None else value


def _text(field: dict[str, Any]) -> str:
    if field.get("pattern"):
        raise ValueError(f"no generated value fits the pattern of field {field['id']!r}")
    low = int(float(field["minlength"])) if field.get("minlength") not in (None, "") else 0
    high = int(float(field["maxlength"])) if field.get("maxlength") not in (None, "") else None
    value = TEXT.ljust(low, "。")
    return value[:high] if high is not None else value


def value_of(field: dict[str, Any]) -> Any:
    """A valid value of the field's type within its constraints (its default when it has one)."""
    kind = field.get("type", "string")
    options = [o["id"] for o in field.get("options") or []]
    default = field.get("default")
    if default not in (None, "") and (kind != "enum" or default in options):
        return default
    if kind == "enum":
        return options[0]
    if kind == "boolean":
        return True
    if kind in ("long", "double"):
        number = _number(field)
        return int(number) if kind == "long" else number
    if kind == "date":
        return (date.today() + timedelta(days=7)).isoformat()
    return _text(field)


def _needed(field: dict[str, Any]) -> bool:
    """Filled in: what is required (or may be, `required_if`), what has a default, every choice
    (enum, boolean: a gateway may read it) and every multiline text (a comment a rule may ask
    for). Other optional fields stay empty: they can name something that must exist (a CC'd
    user, a customer)."""
    if field.get("readonly") or field.get("type") == "file":
        return False
    return (
        bool(field.get("required") or field.get("required_if") or field.get("multiline"))
        or field.get("default") not in (None, "")
        or field.get("type") in ("enum", "boolean")
    )


def form_values(form: Form, chosen: dict[str, Any] | None = None) -> dict[str, Any]:
    """Valid values for every field a user would fill in; `chosen` overrides some of them."""
    values = {f["id"]: value_of(f) for f in form if _needed(f)}
    values.update(chosen or {})
    return values


def choices(form: Form, read_by_gateways: Iterable[str]) -> list[dict[str, Any]]:
    """The ways through a form that can change the path: its values as `form_values` gives them,
    then each other option of every enum or boolean field a gateway condition reads."""
    names = set(read_by_gateways)
    base = form_values(form)
    ways: list[dict[str, Any]] = [{}]
    for field in form:
        if field["id"] not in names or field.get("readonly"):
            continue
        if field.get("type") == "enum":
            options = [o["id"] for o in field.get("options") or []]
        elif field.get("type") == "boolean":
            options = [True, False]
        else:
            continue
        ways.extend({field["id"]: option} for option in options if option != base.get(field["id"]))
    return ways


def candidates(connection: Connection, assignee: str | None, roles: str, users: str) -> list[str]:
    """Who may act on a task row, as the worklist offers it: its assignee, else its candidate users
    and the active holders of its candidate roles (both columns comma-separated)."""
    if assignee:
        return [assignee]
    role_names = [r for r in (roles or "").split(",") if r]
    named = [u for u in (users or "").split(",") if u]
    holders: list[str] = []
    if role_names:
        holders = list(
            connection.execute(
                text(
                    "SELECT DISTINCT u.username FROM users u JOIN user_roles ur ON ur.user_id = u.id"
                    " JOIN roles r ON r.id = ur.role_id WHERE u.active AND r.name = ANY(:roles) ORDER BY u.username"
                ),
                {"roles": role_names},
            ).scalars()
        )
    return list(dict.fromkeys([*named, *holders]))


def _waits(task: SpiffTask) -> bool:
    if task.state == TaskState.READY:
        return bool(getattr(task.task_spec, "manual", False))  # a user task
    return task.state == TaskState.WAITING and getattr(task.task_spec, "event_definition", None) is not None


def waits_at(workflow: BpmnWorkflow) -> list[str]:
    """Where a workflow waits, by BPMN id: its ready user tasks and its waiting events (timers)."""
    return sorted({task.task_spec.bpmn_id for task in workflow.get_tasks() if _waits(task)})
