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

MIN_CYCLE = timedelta(minutes=1)  # the shortest interval a timer cycle repeats at


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


def fire_now(task: Any, definition: TimerEventDefinition, at: datetime) -> None:
    """Make a waiting timer fire on the next refresh, whatever the wall clock says.

    A cycle fires one occurrence and keeps its schedule: its next occurrence is the first after
    `at`, so occurrences missed while no worker ran are skipped, not fired one after another.
    Other timers are marked fired.
    """
    if isinstance(definition, CycleTimerEventDefinition):
        value = internals.internal(task, "event_value")
        if value and value.get("cycles") != 0:
            scheduled = datetime.fromisoformat(value["next"])
            internals.set_internal(task, event_value={**value, "next": (utcnow() - timedelta(seconds=1)).isoformat()})
            task.workflow.top_workflow.refresh_timers()
            after = internals.internal(task, "event_value")
            if after:
                interval = max(timedelta(seconds=float(value["duration"])), MIN_CYCLE)
                steps = (at - scheduled) // interval + 1 if at >= scheduled else 1
                if after["cycles"] > 0:
                    steps = min(steps, after["cycles"] + 1)
                    after["cycles"] -= steps - 1
                after["next"] = (scheduled + steps * interval).isoformat()
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
    """When a timer start event first fires: a date, now + a duration, or a cycle's first start
    (for a start in the past, its next occurrence from now on, computed, not counted up to)."""
    value = expressions.evaluate(text, {}) if expressions.is_expression(text) else text.strip()
    if kind == "timeDate":
        return _utc(TimerEventDefinition.get_datetime(str(value))), {"kind": kind, "text": text}
    if kind == "timeDuration":
        return calendar.add_duration(now, str(value)), {"kind": kind, "text": text}
    cycles, start, duration = TimerEventDefinition.parse_iso_recurring_interval(str(value))
    interval = max(duration, MIN_CYCLE)
    start = _utc(start)
    if start < now and cycles != 0:
        missed = _periods_until(start, now, interval, cycles)
        start += missed * interval
        cycles -= missed if cycles > 0 else 0
    if cycles == 0:
        return None
    return start, {"kind": kind, "text": text, "cycles_left": cycles, "interval": interval.total_seconds()}


def next_cycle(payload: dict[str, Any], due: datetime, now: datetime) -> tuple[datetime, dict[str, Any]] | None:
    """The occurrence after the one that fired at `due`. Occurrences missed while no worker ran
    (an outage) are skipped, not fired one after another."""
    if payload.get("kind") != "timeCycle":
        return None
    left = int(payload.get("cycles_left", -1))
    interval = max(timedelta(seconds=float(payload["interval"])), MIN_CYCLE)
    steps = (now - due) // interval + 1 if now >= due else 1  # the first occurrence after now
    steps = min(steps, left) if left > 0 else steps
    if left > 0:
        left -= steps
    if left == 0:
        return None
    return due + steps * interval, {**payload, "cycles_left": left}


def _periods_until(start: datetime, now: datetime, interval: timedelta, cycles: int) -> int:
    """How many intervals take `start` to `now` or past it, at most `cycles` (negative: unbounded)."""
    periods = max(0, -(-(now - start) // interval))  # ceiling division of timedeltas
    return min(periods, cycles) if cycles >= 0 else periods


def cycle_problem(text: str) -> str | None:
    """Why a literal cycle cannot run: one that repeats faster than MIN_CYCLE would fire on every
    tick of every worker (`R/PT0S` never lets go of them)."""
    _cycles, _start, duration = TimerEventDefinition.parse_iso_recurring_interval(text)
    if duration < MIN_CYCLE:
        return f"a cycle may repeat at most once a minute; '{text}' repeats every {duration.total_seconds():g} s"
    return None


def bound_cycle(task: Any, definition: TimerEventDefinition) -> None:
    """A cycle whose interval came from an expression at run time is held to MIN_CYCLE too."""
    if not isinstance(definition, CycleTimerEventDefinition):
        return
    value = internals.internal(task, "event_value")
    if isinstance(value, dict) and float(value.get("duration") or 0) < MIN_CYCLE.total_seconds():
        internals.set_internal(task, event_value={**value, "duration": MIN_CYCLE.total_seconds()})


def arm(task: Any, definition: TimerEventDefinition) -> None:
    """What the engine adds to a waiting timer before scheduling its job: working time, bounded cycles."""
    apply_working_calendar(task, definition)
    bound_cycle(task, definition)
