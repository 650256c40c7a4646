"""Versions side by side: what changed between two versions, and moving running instances.

A migration is planned first (a dry run that writes nothing): an instance is compatible when every
task it is waiting at still exists in the target version. Then each compatible instance moves in
its own transaction, under its row lock, with an audit event; one failure does not stop the batch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from SpiffWorkflow.bpmn.util.diff import diff_workflow, migrate_workflow
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.bpmn import serializer, spec_diff
from engine.errors import EngineError, NotFound, ValidationFailed
from engine.services.identity import Actor
from store.models import MAX_ID, ProcessDefinition, ProcessInstance, Task

if TYPE_CHECKING:
    from SpiffWorkflow.bpmn.workflow import BpmnWorkflow

    from engine.authorization import Authorization
    from engine.services.history import HistoryService
    from engine.services.repository import RepositoryService
    from engine.services.runtime import RuntimeService
    from store.db import Database

MAX_BATCH = 1000
MAX_VERSION = 1_000_000


def _whole(value: Any, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= high


@dataclass
class InstancePlan:
    instance_id: int
    from_version: int
    compatible: bool
    problems: list[str] = field(default_factory=list)
    status: str = "planned"  # planned | migrated | incompatible | failed | skipped

    def as_dict(self) -> dict[str, Any]:
        return {
            "instance_id": self.instance_id,
            "from_version": self.from_version,
            "compatible": self.compatible,
            "status": self.status,
            "problems": self.problems,
        }


class MigrationService:
    def __init__(
        self, *, authorization: Authorization, db: Database, history: HistoryService, repository: RepositoryService, runtime: RuntimeService
    ) -> None:
        self._authorization = authorization
        self._db = db
        self._history = history
        self._repository = repository
        self._runtime = runtime

    # --- comparing versions -----------------------------------------------------------------

    def _definition(self, session: Session, key: str, version: int) -> ProcessDefinition:
        definition = session.scalar(select(ProcessDefinition).where(ProcessDefinition.key == key, ProcessDefinition.version == version))
        if definition is None:
            raise NotFound(f"no version {version} of '{key}'")
        return definition

    def diff(self, session: Session, key: str, from_version: int, to_version: int) -> dict[str, Any]:
        """Elements added, removed and changed (with the changed attributes) between two versions."""
        old_spec, _ = self._repository.spec(session, self._definition(session, key, from_version).id)
        new_spec, _ = self._repository.spec(session, self._definition(session, key, to_version).id)
        return {"key": key, "from_version": from_version, "to_version": to_version, **spec_diff.changes(old_spec, new_spec)}

    # --- migrating instances ----------------------------------------------------------------

    def _check(self, workflow: BpmnWorkflow, target: ProcessDefinition, session: Session) -> list[str]:
        spec, subs = self._repository.spec(session, target.id)
        top, sub_diffs = diff_workflow(serializer.REGISTRY, workflow, spec, subs)
        problems = [
            f"waiting at '{t.task_spec.bpmn_name or t.task_spec.bpmn_id}' ({t.task_spec.bpmn_id}), which version {target.version} does not have"
            for t in top.removed
            if t.state & (TaskState.READY | TaskState.WAITING | TaskState.STARTED) and spec_diff.visible(t.task_spec)
        ]
        problems += [
            f"a subprocess ({sp_id}) has no counterpart in version {target.version}" for sp_id, d in sub_diffs.items() if d is None
        ]
        return problems

    def migrate(
        self, actor: Actor, key: str, to_version: Any, instance_ids: Any = None, from_version: Any = None, dry_run: bool = True
    ) -> dict[str, Any]:
        """Plan (dry run) or carry out the migration of running instances of `key` to `to_version`."""
        self._authorization.require_admin(actor, "may migrate instances")
        if not _whole(to_version, MAX_VERSION):
            raise ValidationFailed({"to_version": "must be a version number"})
        if from_version is not None and not _whole(from_version, MAX_VERSION):
            raise ValidationFailed({"from_version": "must be a version number"})
        if instance_ids is not None and (not isinstance(instance_ids, list) or not all(_whole(i, MAX_ID) for i in instance_ids)):
            raise ValidationFailed({"instance_ids": "must be a list of instance ids"})
        if instance_ids is not None and len(instance_ids) > MAX_BATCH:
            raise ValidationFailed({"instance_ids": f"at most {MAX_BATCH} instances per batch"})
        with self._db.sessions() as session:
            target = self._definition(session, key, to_version)
            query = select(ProcessInstance.id).where(
                ProcessInstance.process_key == key, ProcessInstance.status == "running", ProcessInstance.definition_id != target.id
            )
            if instance_ids is not None:
                query = query.where(ProcessInstance.id.in_(instance_ids))
            if from_version is not None:
                query = query.where(ProcessInstance.definition_id == self._definition(session, key, from_version).id)
            ids = list(session.scalars(query.order_by(ProcessInstance.id).limit(MAX_BATCH + 1)))
        if len(ids) > MAX_BATCH:
            raise ValidationFailed({"instance_ids": f"at most {MAX_BATCH} instances per batch"})
        missing = sorted(set(instance_ids or []) - set(ids))
        results = [self._one(actor, instance_id, target.id, dry_run) for instance_id in ids]
        for instance_id in missing:
            results.append(InstancePlan(instance_id, 0, False, ["not a running instance of this process on another version"], "skipped"))
        counts: dict[str, int] = {}
        for r in results:
            counts[r.status] = counts.get(r.status, 0) + 1
        return {"key": key, "to_version": to_version, "dry_run": dry_run, "counts": counts, "results": [r.as_dict() for r in results]}

    def _one(self, actor: Actor, instance_id: int, target_id: int, dry_run: bool) -> InstancePlan:
        try:
            if dry_run:
                with self._db.sessions() as session:
                    return self._plan(session, self._instance(session, instance_id), target_id)
            with self._db.transaction() as session:
                instance = self._runtime.lock(session, instance_id)
                plan = self._plan(session, instance, target_id)
                if plan.compatible:
                    self._apply(session, actor, instance, target_id, plan)
                return plan
        except EngineError as exc:
            return InstancePlan(instance_id, 0, False, [exc.message], "failed")

    @staticmethod
    def _instance(session: Session, instance_id: int) -> ProcessInstance:
        instance = session.get(ProcessInstance, instance_id)
        if instance is None:
            raise NotFound(f"no process instance {instance_id}")
        return instance

    def _plan(self, session: Session, instance: ProcessInstance, target_id: int) -> InstancePlan:
        target = session.get(ProcessDefinition, target_id)
        source = session.get(ProcessDefinition, instance.definition_id)
        assert target is not None and source is not None
        problems = self._check(self._runtime.load(session, instance), target, session)
        return InstancePlan(instance.id, source.version, not problems, problems, "planned" if not problems else "incompatible")

    def _apply(self, session: Session, actor: Actor, instance: ProcessInstance, target_id: int, plan: InstancePlan) -> None:
        target = session.get(ProcessDefinition, target_id)
        assert target is not None
        workflow = self._runtime.load(session, instance)
        spec, subs = self._repository.spec(session, target.id)
        top, sub_diffs = diff_workflow(serializer.REGISTRY, workflow, spec, subs)
        migrate_workflow(top, workflow, spec)
        for sp_id, sp_diff in sub_diffs.items():
            if sp_diff is not None:
                migrate_workflow(sp_diff, workflow.subprocesses[sp_id], subs[workflow.subprocesses[sp_id].spec.name])
        workflow.subprocess_specs = subs
        # Waiting tasks are re-created by the migration: whoever held one keeps it.
        holders = dict(
            session.execute(select(Task.task_key, Task.assignee).where(Task.instance_id == instance.id, Task.status == "open")).all()
        )
        instance.definition_id = target.id
        self._history.record(
            session,
            actor.username,
            "migrate",
            instance_id=instance.id,
            data={"from_version": plan.from_version, "to_version": target.version},
        )
        self._runtime.advance(session, instance, workflow, actor.username)
        session.flush()
        self._runtime.refresh_task_rows(session, instance, workflow)
        for task in session.scalars(select(Task).where(Task.instance_id == instance.id, Task.status == "open")):
            if task.assignee is None and holders.get(task.task_key):
                task.assignee = holders[task.task_key]
        plan.status = "migrated"
