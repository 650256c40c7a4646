"""Timers as the engine runs them: when a waiting timer is due, firing one now, working-time
durations, and the first and next occurrences of timer start events.

SpiffWorkflow keeps a timer's due time and fired flag in a task's internal data, which only its
private API reaches (engine.bpmn.internals).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    CycleTimerEventDefinition,
    DurationTimerEventDefinition,
    TimerEventDefinition,
)
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow

from engine import calendar
from engine.bpmn import expressions, internals
from engine.bpmn.stepping import run_engine_steps
from engine.clock import utcnow


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)


def due_at(definition: TimerEventDefinition, task: Any) -> datetime | None:
    value = definition.details(task).value
    try:
        return datetime.fromisoformat(str(value)).astimezone(UTC) if value else None
    except ValueError:
        return None


def fire_start_event(workflow: BpmnWorkflow, start_event: str | None) -> None:
    """A timer start event fired: mark it fired in the new instance (a cycle fires one occurrence
    here; the job schedules the next instance), then run to the next wait state."""
    for task in list(workflow.event_manager.tasks.values()):
        definition = task.task_spec.event_definition
        if task.task_spec.bpmn_id != start_event or not isinstance(definition, TimerEventDefinition):
            continue
        if isinstance(definition, CycleTimerEventDefinition):
            past = (utcnow() - timedelta(seconds=1)).isoformat()
            internals.set_internal(task, event_value={"cycles": 1, "next": past, "duration": 1})
            workflow.refresh_timers()
            run_engine_steps(workflow)
        else:
            internals.set_internal(task, event_fired=True)
    workflow.refresh_timers()


def fire_now(task: Any, definition: TimerEventDefinition) -> None:
    """Make a waiting timer fire on the next refresh, whatever the wall clock says.

    A cycle fires one occurrence and keeps its schedule; other timers are marked fired.
    """
    if isinstance(definition, CycleTimerEventDefinition):
        value = internals.internal(task, "event_value")
        if value and value.get("cycles") != 0:
            scheduled = datetime.fromisoformat(value["next"])
            internals.set_internal(task, event_value={**value, "next": (utcnow() - timedelta(seconds=1)).isoformat()})
            task.workflow.top_workflow.refresh_timers()
            after = internals.internal(task, "event_value")
            if after:
                after["next"] = (scheduled + timedelta(seconds=value["duration"])).isoformat()
                internals.set_internal(task, event_value=after)
            return
    internals.set_internal(task, event_fired=True)
    task.workflow.top_workflow.refresh_timers()


def apply_working_calendar(task: Any, definition: TimerEventDefinition) -> None:
    """A duration timer marked `calendar=working` counts working time from when it was armed."""
    props = (getattr(task.task_spec, "extensions", None) or {}).get("camundaProperties", {})
    if props.get("calendar") != "working" or not isinstance(definition, DurationTimerEventDefinition):
        return
    value = internals.internal(task, "event_value")
    if not value or internals.internal(task, "working_time"):
        return
    duration = task.workflow.script_engine.evaluate(task, definition.expression)
    plain = datetime.fromisoformat(value)
    armed = plain - (calendar.add_duration(plain, duration) - plain)
    due = calendar.add_duration(armed, duration, working=True)
    internals.set_internal(task, event_value=due.isoformat(), working_time=True)


def first_occurrence(kind: str, text: str, now: datetime) -> tuple[datetime, dict[str, Any]] | None:
    """When a timer start event first fires: a date, now + a duration, or a cycle's first start."""
    value = expressions.evaluate(text, {}) if expressions.is_expression(text) else text.strip()
    if kind == "timeDate":
        return _utc(TimerEventDefinition.get_datetime(str(value))), {"kind": kind, "text": text}
    if kind == "timeDuration":
        return calendar.add_duration(now, str(value)), {"kind": kind, "text": text}
    cycles, start, duration = TimerEventDefinition.parse_iso_recurring_interval(str(value))
    start = _utc(start)
    while start < now and cycles != 0:  # a start in the past: the next occurrence from now on
        start += duration
        cycles -= 1 if cycles > 0 else 0
    if cycles == 0:
        return None
    return start, {"kind": kind, "text": text, "cycles_left": cycles, "interval": duration.total_seconds()}


def next_cycle(payload: dict[str, Any], due: datetime) -> tuple[datetime, dict[str, Any]] | None:
    if payload.get("kind") != "timeCycle":
        return None
    left = int(payload.get("cycles_left", -1))
    left = left - 1 if left > 0 else left
    if left == 0:
        return None
    return due + timedelta(seconds=float(payload["interval"])), {**payload, "cycles_left": left}
