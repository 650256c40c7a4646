"""加签 (add an approver), as DingTalk's approvals do: the approver of a chain step adds someone
before themself (the step goes to that person now, and comes back to the approver once they have
decided) or after themself (once the approver has approved, that person approves before the chain
goes on). The added person is a step of the chain (`user:<name>` in its `approvers`), decides with
the step's own form, and is recorded in the history (`add_approver`, who and where). A package names
the step that takes added approvers (`ProcessParts.chain_step`); four-eyes still holds: never the
requester."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID

from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import MultiInstanceTask
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import operations, process_parts
from engine.bpmn.wait_state import WaitState
from engine.errors import Conflict, NotFound, ValidationFailed
from engine.services.identity import Actor
from engine.services.instance_control import Suspended
from store.models import ProcessInstance, Task, User

if TYPE_CHECKING:
    from engine.authorization import Authorization
    from engine.services.history import HistoryService
    from engine.services.runtime import RuntimeService
    from store.db import Database

POSITIONS = ("before", "after")
MAX_ADDED = 10


def refusal(process_key: str, task_key: str, data: dict[str, Any]) -> str | None:
    """Why this step takes no added approver (None: it takes one): only the package's chain step
    does, and never a countersign, where every signer decides for themself."""
    if process_parts.parts_of(process_key).chain_step != task_key:
        return "this step takes no added approver"
    if data.get("step_mode") == "all":
        return "a countersign step takes no added approver: every signer decides for themself"
    return None


@dataclass(frozen=True)
class Signer:
    """One signer of a countersign step (会签): who, and when they approved (None: still to decide)."""

    username: str
    signed_at: datetime | None


def countersign(session: Session, instance: ProcessInstance) -> list[Signer]:
    """The signers of the instance's current step when it is a countersign, those who have signed
    first (in order) and then those still to decide; [] for any other step. The step's tasks were
    made together (one action), so a signed one is a completed task of the step made no earlier
    than the first still open."""
    key = process_parts.parts_of(instance.process_key).chain_step
    if not key or instance.status != "running" or (instance.data or {}).get("step_mode") != "all":
        return []
    tasks = session.scalars(
        select(Task).where(Task.instance_id == instance.id, Task.task_key == key, Task.status.in_(("open", "completed")))
    ).all()
    waiting = [t for t in tasks if t.status == "open"]
    if not waiting:
        return []
    since = min(t.created_at for t in waiting)
    signed = sorted((t for t in tasks if t.status == "completed" and t.created_at >= since), key=lambda t: t.completed_at or since)
    return [Signer(t.completed_by or "", t.completed_at) for t in signed] + [
        Signer(t.assignee or t.candidate_users.split(",")[0], None) for t in sorted(waiting, key=lambda t: t.candidate_users)
    ]


class ChainStepService:
    def __init__(
        self,
        *,
        authorization: Authorization,
        clock: Callable[[], datetime],
        context: Callable[..., Any],
        db: Database,
        history: HistoryService,
        runtime: RuntimeService,
    ) -> None:
        self._authorization = authorization
        self._clock = clock
        self._context = context
        self._db = db
        self._history = history
        self._runtime = runtime

    def add_approver(self, actor: Actor, task_id: str, data: Any) -> list[str]:
        """Returns the chain's approvers as they now stand."""
        username = data.get("username") if isinstance(data, dict) else None
        position = data.get("position") if isinstance(data, dict) else None
        errors: dict[str, str] = {}
        if not isinstance(username, str) or not username:
            errors["username"] = "is required"
        if position not in POSITIONS:
            errors["position"] = "must be before or after"
        if errors:
            raise ValidationFailed(errors)
        try:
            task_id = str(UUID(str(task_id)))
        except ValueError:
            raise NotFound(f"no task {task_id[:40]}") from None
        with self._db.transaction() as session:
            instance = self._runtime.lock_for_task(session, task_id)
            task = session.get(Task, task_id) if instance is not None else None
            if instance is None or task is None or not self._authorization.may_view_task(session, actor, task):
                raise NotFound(f"no task {task_id}")
            if instance.status == "suspended":
                raise Suspended("the process is suspended")
            if task.status != "open":
                raise Conflict(f"task {task_id} is no longer open")
            principal = self._authorization.check_complete(session, actor, task)
            if username == actor.username or username == instance.started_by:
                raise ValidationFailed({"username": "must be someone else than you and the requester (four-eyes)"})
            if session.scalar(select(User.id).where(User.username == username, User.active.is_(True))) is None:
                raise ValidationFailed({"username": "no active user with this name"})
            workflow = self._runtime.load(session, instance)
            before = WaitState.of(workflow)
            spiff_task = workflow.get_task_from_id(UUID(task.id))
            if spiff_task is None or spiff_task.state != TaskState.READY:
                raise Conflict(f"task {task.id} is no longer ready")
            if (why := refusal(instance.process_key, task.task_key, spiff_task.data)) is not None:
                raise Conflict(why)
            approvers = [str(a) for a in spiff_task.data.get("approvers") or []]
            modes = [str(m) for m in spiff_task.data.get("modes") or []]
            index = int(spiff_task.data.get("step_index") or 0)
            if sum(a.startswith("user:") for a in approvers) >= MAX_ADDED:
                raise ValidationFailed({"username": f"a chain takes at most {MAX_ADDED} added approvers"})
            deciding = principal or actor.username
            if position == "after":
                approvers.insert(index + 1, f"user:{username}")
            else:  # the step goes to them now and comes back to the approver afterwards
                approvers.insert(index + 1, f"user:{deciding}")
                task.assignee, task.claimed_at = username, self._clock()
            if len(modes) > index:  # an added person decides alone
                modes.insert(index + 1, "one")
            # The step is one instance of the approval activity: the chain lives in the activity's
            # data, into which the instance's is merged when it is done (lists as unions).
            activity = spiff_task.parent if isinstance(spiff_task.parent.task_spec, MultiInstanceTask) else None
            for holder in (spiff_task, activity) if activity else (spiff_task,):
                holder.data["approvers"] = list(approvers)
                if modes:
                    holder.data["modes"] = list(modes)
            self._history.record(
                session,
                actor.username,
                "add_approver",
                instance_id=instance.id,
                task_id=task.id,
                task_key=task.task_key,
                data={"to": username, "position": position},
                on_behalf_of=principal,
            )
            with operations.action(self._context(session, actor.username, instance)):
                kind = "assigned" if position == "before" else "info"
                operations.notify(
                    [username], kind, f"{task.name}（{actor.username} 加签）", task_id=task.id if position == "before" else None
                )
            self._runtime.advance(session, instance, workflow, actor.username, before)
            return approvers
