"""Handover (交接, seed 000: 人员离职, 交接的不到位): when a person leaves or changes post, an admin
gives everything they own and hold to a successor in one audited transaction, after a dry run that
lists it: customers, open leads, opportunities, receivables, open tasks assigned to them, the
follow-ups (activities' next steps) not yet done, and the owner variables of their running instances (so that future tasks go to the successor)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session, defer

from engine import operations
from engine.bpmn.wait_state import WaitState
from engine.errors import NotFound, ValidationFailed
from engine.services.identity import Actor
from store.models import Activity, Customer, Lead, Opportunity, ProcessInstance, Task, User

if TYPE_CHECKING:
    from engine.authorization import Authorization
    from engine.services.history import HistoryService
    from engine.services.runtime import RuntimeService
    from store.db import Database

# Process variables that name whose a running instance's future work is (the owner of a lead or a
# receivable: `initiator` and `owner` in the shipped processes' assignee expressions).
OWNER_VARIABLES = ("owner", "initiator")
RECEIVABLE = "receivable_collection"


@dataclass
class HandoverPlan:
    """What one person owns and holds: each entry (id, what it is)."""

    username: str
    to: str
    customers: list[tuple[int, str]] = field(default_factory=list)
    leads: list[tuple[int, str]] = field(default_factory=list)
    opportunities: list[tuple[int, str]] = field(default_factory=list)
    receivables: list[tuple[int, str]] = field(default_factory=list)
    tasks: list[tuple[str, str]] = field(default_factory=list)
    instances: list[tuple[int, str]] = field(default_factory=list)
    follow_ups: list[tuple[int, str]] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        keys = ("customers", "leads", "opportunities", "receivables", "tasks", "instances", "follow_ups")
        return {k: len(getattr(self, k)) for k in keys}

    @property
    def empty(self) -> bool:
        return not any(self.counts().values())


class HandoverService:
    def __init__(
        self,
        *,
        authorization: Authorization,
        clock: Callable[[], datetime],
        db: Database,
        history: HistoryService,
        runtime: RuntimeService,
    ) -> None:
        self._authorization = authorization
        self._clock = clock
        self._db = db
        self._history = history
        self._runtime = runtime

    def _owned_instances(self, session: Session, username: str) -> list[ProcessInstance]:
        """Running instances whose owner variables name the person, filtered by the database (the
        user page asks on every view: no instance data is read into the app to look)."""
        names = or_(*(ProcessInstance.data[name].as_string() == username for name in OWNER_VARIABLES))
        stmt = (
            select(ProcessInstance)
            .options(defer(ProcessInstance.state))
            .where(ProcessInstance.status == "running", names)
            .order_by(ProcessInstance.id)
        )
        return list(session.scalars(stmt))

    def plan(self, session: Session, username: str, to: str) -> HandoverPlan:
        """Everything that would move; nothing is changed."""
        plan = HandoverPlan(username, to)
        plan.customers = [(c.id, c.name) for c in session.scalars(select(Customer).where(Customer.owner == username).order_by(Customer.id))]
        plan.leads = [
            (lead.id, lead.company)
            for lead in session.scalars(select(Lead).where(Lead.owner == username, Lead.status == "open").order_by(Lead.id))
        ]
        plan.opportunities = [
            (o.id, o.title)
            for o in session.scalars(
                select(Opportunity).where(Opportunity.owner == username, Opportunity.stage.not_in(("won", "lost"))).order_by(Opportunity.id)
            )
        ]
        plan.tasks = [
            (t.id, t.name)
            for t in session.scalars(
                select(Task).where(Task.status == "open", Task.assignee == username).order_by(Task.created_at, Task.id)
            )
        ]
        plan.follow_ups = [(a.id, a.next_step or a.summary) for a in session.scalars(_open_follow_ups(username).order_by(Activity.next_at))]
        for instance in self._owned_instances(session, username):
            label = str((instance.data or {}).get("contract_no") or (instance.data or {}).get("company") or instance.business_key or "")
            target = plan.receivables if instance.process_key == RECEIVABLE else plan.instances
            target.append((instance.id, f"{instance.process_key} #{instance.id} {label}".strip()))
        return plan

    def _check(self, session: Session, actor: Actor, username: Any, to: Any) -> tuple[str, str]:
        self._authorization.require_admin(actor, "hand work over")
        if not isinstance(username, str) or session.scalar(select(User.id).where(User.username == username)) is None:
            raise NotFound(f"no user {username}")
        if not isinstance(to, str) or not to:
            raise ValidationFailed({"to": "is required"})
        if to == username:
            raise ValidationFailed({"to": "must be someone else"})
        if session.scalar(select(User.id).where(User.username == to, User.active.is_(True))) is None:
            raise ValidationFailed({"to": "no active user with this name"})
        return username, to

    def holdings(self, actor: Actor, username: str) -> HandoverPlan:
        """What the person owns and holds now (the user page shows it before a disable)."""
        self._authorization.require_admin(actor, "see what a user holds")
        with self._db.sessions() as session:
            return self.plan(session, username, "")

    def dry_run(self, actor: Actor, username: Any, to: Any) -> HandoverPlan:
        with self._db.sessions() as session:
            username, to = self._check(session, actor, username, to)
            return self.plan(session, username, to)

    def hand_over(self, actor: Actor, username: Any, to: Any) -> HandoverPlan:
        """Move everything the plan lists, in one transaction; the successor gets one notice."""
        with self._db.transaction() as session:
            username, to = self._check(session, actor, username, to)
            plan = self.plan(session, username, to)
            if plan.empty:
                return plan
            now = self._clock()
            session.execute(update(Customer).where(Customer.owner == username).values(owner=to, updated_at=now))
            session.execute(update(Lead).where(Lead.owner == username, Lead.status == "open").values(owner=to))
            session.execute(
                update(Opportunity).where(Opportunity.owner == username, Opportunity.stage.not_in(("won", "lost"))).values(owner=to)
            )
            for task_id, _name in plan.tasks:
                session.execute(update(Task).where(Task.id == task_id, Task.status == "open").values(assignee=to, claimed_at=now))
                self._history.record(
                    session, actor.username, "assign", task_id=task_id, data={"from": username, "to": to, "why": "handover"}
                )
            session.execute(
                update(Activity)
                .where(Activity.id.in_(_open_follow_ups(username).with_only_columns(Activity.id).scalar_subquery()))
                .values(assignee=to)
                .execution_options(synchronize_session=False)
            )
            for instance_id, _label in plan.receivables + plan.instances:
                self._rename_owner(session, actor, instance_id, username, to)
            self._history.record(session, actor.username, "admin.user.handover", data={"username": username, "to": to, **plan.counts()})
            with operations.action(operations.ActionContext(session=session, actor=actor.username, now=now)):
                operations.notify([to], "handover", _summary(plan))
            return plan

    def _rename_owner(self, session: Session, actor: Actor, instance_id: int, old: str, new: str) -> None:
        """The instance's owner variables name the successor from now on: its waiting and ready
        steps carry the data the next tasks are assigned from."""
        instance = self._runtime.lock(session, instance_id)
        if instance.status != "running":
            return
        workflow = self._runtime.load(session, instance)
        before = WaitState.of(workflow)
        # Every task's copy: data flows from a finished task to the next ones, and the root holds
        # the start's (a step Spiff readies later inherits from whichever copy it descends from).
        for task in workflow.get_tasks():
            for name in OWNER_VARIABLES:
                if task.data.get(name) == old:
                    task.data[name] = new
        for name in OWNER_VARIABLES:
            if workflow.data.get(name) == old:
                workflow.data[name] = new
        self._history.record(session, actor.username, "handover", instance_id=instance.id, data={"from": old, "to": new})
        self._runtime.advance(session, instance, workflow, actor.username, before)


def _summary(plan: HandoverPlan) -> str:
    """The successor's one notice: what they now own, in the organisation's language (Chinese)."""
    counts = plan.counts()
    parts = [
        f"客户 {counts['customers']} 个",
        f"线索 {counts['leads']} 条",
        f"销售机会 {counts['opportunities']} 个",
        f"应收款 {counts['receivables']} 笔",
        f"待办任务 {counts['tasks']} 项",
        f"进行中的流程 {counts['instances']} 个",
        f"待跟进的行动 {counts['follow_ups']} 项",
    ]
    names = "、".join(name for _id, name in plan.customers[:10])
    text = f"{plan.username} 的工作已交接给您：" + "，".join(parts) + "。"
    return text + (f"客户：{names}{' 等' if len(plan.customers) > 10 else ''}。" if names else "")


def _open_follow_ups(username: str) -> Any:
    """The person's activities whose next step is not done yet (due or still to come)."""
    return select(Activity).where(Activity.assignee == username, Activity.next_at.is_not(None), Activity.done_at.is_(None))
