"""Suspend, resume or terminate many instances at once (admins), over a search's result: first a
preview of what will change and what will not (and why), then the operation on exactly the
previewed instances, each in its own transaction through InstanceControlService, so one that
changed meanwhile is reported and skipped rather than failing the rest. One audit line sums it up;
each instance's history has its own line as for a single operation."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from engine.errors import Conflict, NotFound, ValidationFailed
from engine.services.identity import Actor
from engine.services.instance_control import reason_of
from engine.services.instance_search import InstanceSearch
from store.models import MAX_ID, ProcessInstance

if TYPE_CHECKING:
    from engine.authorization import Authorization
    from engine.services.history import HistoryService
    from engine.services.instance_control import InstanceControlService
    from engine.services.runtime import RuntimeService
    from store.db import Database

MAX_BULK = 500
# The statuses each operation applies to (InstanceControlService refuses the others), and the one it leaves.
APPLIES_TO = {"suspend": ("running",), "resume": ("suspended",), "terminate": ("running", "suspended", "error")}
RESULTS = {"suspend": "suspended", "resume": "running", "terminate": "terminated"}


@dataclass
class BulkPlan:
    action: str
    changes: list[ProcessInstance] = field(default_factory=list)
    skipped: list[ProcessInstance] = field(default_factory=list)  # their status does not allow it
    total: int = 0  # how many the search matched (the plan covers the first MAX_BULK)

    @property
    def after(self) -> str:
        """The status the changed instances will have."""
        return RESULTS[self.action]

    @property
    def truncated(self) -> bool:
        return self.total > len(self.changes) + len(self.skipped)


@dataclass
class BulkResult:
    action: str
    done: list[int] = field(default_factory=list)
    skipped: dict[int, str] = field(default_factory=dict)  # instance id -> why (changed since the preview)


class BulkOperationService:
    def __init__(
        self,
        *,
        authorization: Authorization,
        db: Database,
        history: HistoryService,
        instances: InstanceControlService,
        runtime: RuntimeService,
    ) -> None:
        self._authorization = authorization
        self._db = db
        self._history = history
        self._instances = instances
        self._runtime = runtime

    def _check(self, actor: Actor, action: str) -> None:
        self._authorization.require_admin(actor, "operate on many instances")
        if action not in APPLIES_TO:
            raise ValidationFailed({"action": "must be one of " + ", ".join(APPLIES_TO)})

    def plan(
        self, session: Session, actor: Actor, action: str, process_key: str | None, status: str | None, search: InstanceSearch
    ) -> BulkPlan:
        """What the operation would change among the search's first MAX_BULK instances."""
        self._check(actor, action)
        rows, total = self._runtime.query(session, actor, process_key, status, MAX_BULK, 0, search)
        plan = BulkPlan(action, total=total)
        for instance in rows:
            (plan.changes if instance.status in APPLIES_TO[action] else plan.skipped).append(instance)
        return plan

    def run(self, actor: Actor, action: str, instance_ids: list[Any], data: Any) -> BulkResult:
        """Apply the operation to the previewed instances, one transaction each."""
        self._check(actor, action)
        reason_of(data, required=action != "resume")  # refused whole, before anything changes
        ids = _ids(instance_ids)
        apply: Callable[[Actor, int, Any], ProcessInstance] = getattr(self._instances, action)
        result = BulkResult(action)
        for instance_id in ids:
            try:
                apply(actor, instance_id, data)
            except (Conflict, NotFound) as exc:
                result.skipped[instance_id] = exc.message
            else:
                result.done.append(instance_id)
        with self._db.transaction() as session:
            self._history.record(
                session,
                actor.username,
                f"bulk.{action}",
                comment=str((data or {}).get("reason") or "") or None,
                data={"done": result.done, "skipped": {str(k): v for k, v in result.skipped.items()}},
            )
        return result


def _ids(values: list[Any]) -> list[int]:
    """The previewed instance ids: whole numbers, at most MAX_BULK, each once, in order."""
    if not isinstance(values, list) or not values:
        raise ValidationFailed({"instances": "choose at least one instance (preview first)"})
    if len(values) > MAX_BULK:
        raise ValidationFailed({"instances": f"at most {MAX_BULK} at once"})
    found: list[int] = []
    for value in values:
        text = str(value)
        if not text.isdigit() or not 0 < int(text) <= MAX_ID:
            raise ValidationFailed({"instances": f"'{text[:20]}' is not an instance number"})
        if int(text) not in found:
            found.append(int(text))
    return found
