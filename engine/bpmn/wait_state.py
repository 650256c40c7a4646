"""The wait state an action starts from, as the worklist and job rows mirror it.

Between actions the open task rows are exactly the workflow's ready user tasks and the pending
timer jobs exactly its waiting timers. An action that noted this when it loaded the workflow need
not read those rows back to see what changed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState


@dataclass(frozen=True)
class WaitState:
    """A workflow's open user tasks and waiting timers (task ids), as it was loaded, and the timer
    job rows the action already holds."""

    open_tasks: frozenset[str]
    timers: frozenset[str]
    held_jobs: tuple[Any, ...] = ()

    @classmethod
    def of(cls, workflow: BpmnWorkflow) -> WaitState:
        return cls(
            frozenset(str(t.id) for t in workflow.get_tasks(state=TaskState.READY, manual=True)),
            frozenset(
                str(t.id)
                for t in workflow.event_manager.tasks.values()
                if isinstance(getattr(t.task_spec, "event_definition", None), TimerEventDefinition)
            ),
        )

    def closing(self, task_id: str) -> WaitState:
        """The same, with a task the action itself closes."""
        return WaitState(self.open_tasks - {task_id}, self.timers, self.held_jobs)

    def holding(self, job: Any) -> WaitState:
        """The same, with the timer job the action runs (so it need not be read again)."""
        return WaitState(self.open_tasks, self.timers, (*self.held_jobs, job))

    def jobs_known(self) -> dict[str, Any] | None:
        """Every timer's job by task id, when the held jobs cover all the waiting timers."""
        held = {job.task_id: job for job in self.held_jobs}
        return held if self.timers <= held.keys() else None


NEW_INSTANCE = WaitState(frozenset(), frozenset())
