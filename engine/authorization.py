"""Who may do what: every allow and deny of the product, decided here and nowhere else.

The services ask before they act (and raise the error named here), the REST API gets those errors,
and the pages ask the same questions to decide which buttons to show, so a button is never offered
for an action the engine would refuse, nor hidden for one it would allow.

The seeds' rule (seed 001): a task is for its candidates (roles or users) and its assignee; a direct
superior has the rights of the subordinate (except delete); an indirect superior may view. Work is
handed (assigned, delegated) only to people who may perform it. Four-eyes: nobody performs a task
that excludes them (the requester of an approval, who proposed the resolution an instruction
decides; `tasks.excluded_users`), not by claim, completion, assignment, delegation or as a
superior. A message is delivered only by whom its catch event names (`messageFrom`). Admins may do
everything else but are still named in the history. Out of office (代理): while someone is
away, their substitute has their rights on the open work assigned or offered to them (view, claim,
unclaim, complete), never their rights as a superior, and the history says whom they acted for.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, Select, exists, or_, select, true, union
from sqlalchemy.orm import Session

from engine import process_parts
from engine.errors import Conflict, Forbidden, NotFound, ValidationFailed
from engine.services import task_counts
from engine.services.assignment import may_leave_out
from engine.services.identity import Actor
from store.models import (
    Activity,
    Customer,
    InstancePerson,
    Lead,
    Opportunity,
    ProcessDefinition,
    ProcessInstance,
    Role,
    Task,
    TaskCandidate,
    TaskEscalation,
    User,
    UserRole,
)

if TYPE_CHECKING:
    from engine.services.identity import IdentityService

# Who sees every customer (DOMAIN.md): the sales assistants (seed 001), the sales director, the gm.
CUSTOMER_WIDE_ROLES = frozenset({"sales_assistant", "sales_director", "gm"})
CUSTOMER_SERVICE_ROLES = frozenset({"cs_agent", "cs_supervisor"})


@dataclass(frozen=True)
class TaskActions:
    """What the actor may do with a task right now; the task page shows exactly these buttons."""

    claim: bool
    unclaim: bool
    complete: bool
    reassign: bool
    delegate: bool

    def as_dict(self) -> dict[str, bool]:
        return {
            "claim": self.claim,
            "unclaim": self.unclaim,
            "complete": self.complete,
            "reassign": self.reassign,
            "delegate": self.delegate,
        }


class Authorization:
    def __init__(self, *, identity: IdentityService) -> None:
        self._identity = identity

    # --- facts the rules are made of -----------------------------------------------------------

    def is_candidate(self, session: Session, actor: Actor, task: Any) -> bool:
        """Offered to the actor by role or by name: from the row's own candidate columns (the
        candidates table is for worklist queries); from the candidate rows (open tasks only) when a
        column is too full to name everyone."""
        roles = {r for r in task.candidate_roles.split(",") if r}
        users = {u for u in task.candidate_users.split(",") if u}
        if actor.roles & roles or actor.username in users:
            return True
        if not (may_leave_out(task.candidate_roles) or may_leave_out(task.candidate_users)):
            return False
        return bool(session.scalar(select(exists().where(TaskCandidate.task_id == task.id, task_counts.candidate_clause(actor)))))

    @staticmethod
    def is_excluded(task: Any, username: str) -> bool:
        """Four-eyes: the task may never be performed by this person."""
        return username in (task.excluded_users or "").split(",")

    def _refuse_excluded(self, task: Any, actor: Actor) -> None:
        if self.is_excluded(task, actor.username):
            raise Forbidden("four-eyes: you started this request or proposed what this step decides, so someone else must decide it")

    def is_superior_of(self, session: Session, actor: Actor, username: str | None, direct_only: bool = False) -> bool:
        return bool(username) and username in self._identity.subordinates(session, actor.username, direct_only)

    # --- administration -------------------------------------------------------------------------

    @staticmethod
    def may_administer(actor: Actor) -> bool:
        """Users, roles, departments, the designer, deployments, versions, migrations, incidents."""
        return actor.is_admin

    def require_admin(self, actor: Actor, what: str) -> None:
        if not self.may_administer(actor):
            raise Forbidden(f"only admins {what}")

    # --- processes and instances ----------------------------------------------------------------

    @staticmethod
    def may_start(definition: ProcessDefinition, actor: Actor) -> bool:
        """By hand, by its starter groups or users (anyone when it names none); never a process that
        starts by its timer or a message."""
        meta = definition.start_meta or {}
        if not meta.get("manual", True):
            return False
        groups, users = meta.get("starter_groups") or [], meta.get("starter_users") or []
        if actor.is_admin or (not groups and not users):
            return True
        return bool(actor.roles & set(groups)) or actor.username in users

    def may_read_definition(self, definition: ProcessDefinition, actor: Actor) -> bool:
        """A definition's start form and its whole XML (scripts included) are for those who may
        start it and for admins; others meet the process only through the instances they may see."""
        return self.may_administer(actor) or self.may_start(definition, actor)

    def require_read_definition(self, definition: ProcessDefinition, actor: Actor) -> None:
        if not self.may_read_definition(definition, actor):
            raise NotFound(f"no process definition '{definition.key}'")

    def require_start(self, definition: ProcessDefinition, actor: Actor) -> None:
        if not self.may_start(definition, actor):
            raise Forbidden(f"you may not start '{definition.key}'")

    def _team(self, session: Session, actor: Actor) -> list[str]:
        return sorted({actor.username} | self._identity.subordinates(session, actor.username))

    def visible_instances_clause(self, session: Session, actor: Actor, column: Any = ProcessInstance.id) -> ColumnElement[bool]:
        """Whether the actor may see the instance whose id is `column` (admins: all), instance by
        instance: a primary-key
        look-up of the instance's participant links and offered steps (for one instance or a
        search's few matches). Besides admins, who may see an instance: those who took part in it
        or one of whose reports did (started it, held or completed one of its tasks: the
        participant links), and those an open task of it is offered to."""
        if actor.is_admin:
            return true()
        took_part = select(InstancePerson.instance_id).where(InstancePerson.username.in_(self._team(session, actor)))
        offered = select(TaskCandidate.instance_id).where(task_counts.candidate_clause(actor))
        return or_(
            took_part.where(InstancePerson.instance_id == column).exists(),
            offered.where(TaskCandidate.instance_id == column).exists(),
        )

    def visible_instance_sets(self, session: Session, actor: Actor) -> list[Select[tuple[int]]] | None:
        """The same rule for a whole list (None: all): one set of instance ids per person of the
        team and per key the actor's open steps are offered by, each a range of one index in id
        order, so a page is the newest ids of each set merged and never a pass over them all."""
        if actor.is_admin:
            return None
        took_part = [select(InstancePerson.instance_id).where(InstancePerson.username == p) for p in self._team(session, actor)]
        offered = [
            select(TaskCandidate.instance_id).where(TaskCandidate.kind == kind, TaskCandidate.name == name)
            for kind, name in task_counts.candidate_keys(actor)
        ]
        return took_part + offered

    def may_monitor(self, session: Session, actor: Actor) -> bool:
        """The monitor: admins (everything) and supervisors, anyone with reports (their subtree:
        the instances visible_instances_clause gives them)."""
        return actor.is_admin or bool(self._identity.subordinates(session, actor.username, direct_only=True))

    def monitor_people(self, session: Session, actor: Actor) -> frozenset[str] | None:
        """Whose work the monitor counts for the actor: everyone's for admins (None), else the
        organisation subtree: themselves and everyone reporting to them."""
        if actor.is_admin:
            return None
        return frozenset({actor.username} | self._identity.subordinates(session, actor.username))

    def require_monitor(self, session: Session, actor: Actor) -> None:
        if not self.may_monitor(session, actor):
            raise Forbidden("the monitor is for supervisors and admins")

    def may_view_instance(self, session: Session, actor: Actor, instance: ProcessInstance) -> bool:
        """As visible_instances_clause; and, out of office, the instances of the open tasks the actor
        stands in for. Remembered for the rest of the session (a task page asks it for the form's
        data, the history and the files)."""
        if actor.is_admin:
            return True
        memo = session.info.setdefault("crmflow_may_view_instance", {})
        key = (actor.username, instance.id)
        if key not in memo:
            memo[key] = self._may_view_instance(session, actor, instance)
        return bool(memo[key])

    def _may_view_instance(self, session: Session, actor: Actor, instance: ProcessInstance) -> bool:
        if session.scalar(select(exists().where(ProcessInstance.id == instance.id, self.visible_instances_clause(session, actor)))):
            return True
        if not self._identity.principals(session, actor.username):
            return False
        open_tasks = session.scalars(select(Task).where(Task.instance_id == instance.id, Task.status == "open"))
        return any(self.stands_in_for(session, actor, task) for task in open_tasks)

    @staticmethod
    def may_budget(actor: Actor) -> bool:
        """Department budgets: set and read by finance and admins (seed 000)."""
        return actor.is_admin or "finance" in actor.roles

    def require_budgets(self, actor: Actor) -> None:
        if not self.may_budget(actor):
            raise Forbidden("budgets are for finance and admins")

    @staticmethod
    def may_withdraw(actor: Actor, instance: ProcessInstance) -> bool:
        """撤回: a request's requester takes it back while it runs, if its process allows it."""
        return instance.started_by == actor.username and process_parts.parts_of(instance.process_key).withdrawable

    def check_withdraw(self, actor: Actor, instance: ProcessInstance) -> None:
        if not self.may_withdraw(actor, instance):
            raise Forbidden("only the requester may withdraw a request, and only of a process that allows it")

    @staticmethod
    def may_urge(actor: Actor, instance: ProcessInstance) -> bool:
        """催办: the requester nudges whoever the open steps wait for."""
        return instance.started_by == actor.username

    def check_urge(self, actor: Actor, instance: ProcessInstance) -> None:
        if not self.may_urge(actor, instance):
            raise Forbidden("only the requester may urge the approvers")

    @staticmethod
    def may_deliver(actor: Actor, instance: ProcessInstance, senders: list[str]) -> bool:
        """A message is delivered by whom its catch event names (`messageFrom`: roles and/or
        `initiator`), or by an admin; an event naming nobody takes messages from admins only.
        Senders must also be able to see the instance (the caller checks that first: 404)."""
        if actor.is_admin:
            return True
        return any((s == "initiator" and instance.started_by == actor.username) or s in actor.roles for s in senders)

    def check_deliver(self, actor: Actor, instance: ProcessInstance, name: str, senders: list[str]) -> None:
        if not self.may_deliver(actor, instance, senders):
            who = ", ".join(senders) if senders else "admins"
            raise Forbidden(f"message '{name}' to this instance may be delivered only by: {who}")

    # --- customers (DOMAIN.md "The customer file": visibility) ----------------------------------

    def customers_clause(self, session: Session, actor: Actor) -> ColumnElement[bool]:
        """The customers the actor may see: their own; their reports' (superiors, seed 001); every
        one for the sales assistants (seed 001: shared with them), the sales director, the gm and
        admins; for customer-service staff, the customers of the complaints they work on."""
        if actor.is_admin or actor.roles & CUSTOMER_WIDE_ROLES:
            return true()
        people = {actor.username} | self._identity.subordinates(session, actor.username)
        owned = Customer.owner.in_(sorted(people))
        if not actor.roles & CUSTOMER_SERVICE_ROLES:
            return owned
        # One set of ids, driven from the person's own customers and the complaints they took part
        # in (started, held or completed a task of, or were copied on: instance_people, a range of
        # its key), so that the database never probes every customer (an OR would), nor every task
        # the person ever held (the tasks an OR of assignee and completed_by matches: a seq scan).
        mine = select(Customer.id).where(owned)
        took_part = (
            select(ProcessInstance.customer_id)
            .join(InstancePerson, InstancePerson.instance_id == ProcessInstance.id)
            .where(
                InstancePerson.username == actor.username,
                ProcessInstance.process_key == "complaint_handling",
                ProcessInstance.customer_id.is_not(None),
            )
        )
        return Customer.id.in_(union(mine, took_part).scalar_subquery())

    @staticmethod
    def may_create_customer(actor: Actor) -> bool:
        """By hand: sales staff, their director and assistants, the gm and admins (customers also
        come from qualified leads)."""
        return actor.is_admin or bool(actor.roles & (CUSTOMER_WIDE_ROLES | {"sales"}))

    def require_create_customer(self, actor: Actor) -> None:
        if not self.may_create_customer(actor):
            raise Forbidden("only sales staff, the sales assistants and director, the gm or an admin create customers")

    @staticmethod
    def may_merge_customers(actor: Actor) -> bool:
        """Two records of one company become one: admins and the sales director (DOMAIN.md)."""
        return actor.is_admin or "sales_director" in actor.roles

    def require_merge_customers(self, actor: Actor) -> None:
        if not self.may_merge_customers(actor):
            raise Forbidden("only the sales director or an admin may merge customers")

    def may_view_customer(self, session: Session, actor: Actor, customer: Customer) -> bool:
        if actor.is_admin or actor.roles & CUSTOMER_WIDE_ROLES or customer.owner == actor.username:
            return True
        return bool(session.scalar(select(exists().where(Customer.id == customer.id, self.customers_clause(session, actor)))))

    def require_view_customer(self, session: Session, actor: Actor, customer: Customer | None, customer_id: int) -> Customer:
        """The customer, or 404 for one the actor may not see (its existence is not revealed)."""
        if customer is None or not self.may_view_customer(session, actor, customer):
            raise NotFound(f"no customer {customer_id}")
        return customer

    def may_edit_customer(self, session: Session, actor: Actor, customer: Customer) -> bool:
        """Fields and contacts: the owner, the owner's direct superior (an indirect one views), the
        sales assistants who keep the file, the sales director, admins."""
        if actor.is_admin or actor.roles & {"sales_director", "sales_assistant"} or customer.owner == actor.username:
            return True
        return self.is_superior_of(session, actor, customer.owner, direct_only=True)

    def may_reassign_customer(self, session: Session, actor: Actor, customer: Customer) -> bool:
        """The owner changes by the owner's superiors, the sales director or an admin, not the owner."""
        if actor.is_admin or "sales_director" in actor.roles:
            return True
        return self.is_superior_of(session, actor, customer.owner)

    def check_edit_customer(self, session: Session, actor: Actor, customer: Customer, owner_changes: bool) -> None:
        if not self.may_edit_customer(session, actor, customer):
            raise Forbidden("only the owner, their superior, the sales assistants, the sales director or an admin may change this customer")
        if owner_changes and not self.may_reassign_customer(session, actor, customer):
            raise Forbidden("only the owner's superiors, the sales director or an admin may give this customer to someone else")

    def opportunities_clause(self, session: Session, actor: Actor) -> ColumnElement[bool]:
        """Opportunities as customers: their owner, the owner's superiors, the sales assistants and
        director, the gm and admins."""
        if actor.is_admin or actor.roles & CUSTOMER_WIDE_ROLES:
            return true()
        return Opportunity.owner.in_(sorted({actor.username} | self._identity.subordinates(session, actor.username)))

    @staticmethod
    def may_see_receivables(actor: Actor) -> bool:
        """The receivables board is for the sales side (everyone else sees none on it)."""
        return actor.is_admin or bool(actor.roles & (CUSTOMER_WIDE_ROLES | {"sales"}))

    def receivables_clause(self, session: Session, actor: Actor, owner: ColumnElement[Any]) -> ColumnElement[bool]:
        """Receivables as customers: the sales assistants who record the payments, the sales
        director, the gm and admins see all; a salesperson theirs (`owner`: the instance's owner
        variable) and their reports'."""
        if actor.is_admin or actor.roles & CUSTOMER_WIDE_ROLES:
            return true()
        return owner.in_(sorted({actor.username} | self._identity.subordinates(session, actor.username)))

    def check_edit_opportunity(self, session: Session, actor: Actor, opportunity: Opportunity) -> None:
        """Stage, value, expected close: the owner, their direct superior, the sales assistants and
        director, admins."""
        allowed = actor.is_admin or actor.roles & {"sales_director", "sales_assistant"} or opportunity.owner == actor.username
        if not allowed and not self.is_superior_of(session, actor, opportunity.owner, direct_only=True):
            raise Forbidden("only the owner, their superior, the sales assistants or director or an admin may change this opportunity")

    def may_hand_out_opportunities(self, session: Session, actor: Actor) -> bool:
        """Whether the pipeline offers "give to" at all: the director, admins, anyone with reports."""
        return (
            actor.is_admin
            or "sales_director" in actor.roles
            or bool(self._identity.subordinates(session, actor.username, direct_only=True))
        )

    def check_reassign_opportunity(self, session: Session, actor: Actor, opportunity: Opportunity) -> None:
        """Given to someone else by the sales director (seed 001: long-untouched opportunities) or
        the owner's superiors."""
        if not (actor.is_admin or "sales_director" in actor.roles or self.is_superior_of(session, actor, opportunity.owner)):
            raise Forbidden("only the sales director, the owner's superiors or an admin may give this opportunity to someone else")

    def check_customer_owner(self, session: Session, actor: Actor, owner: str) -> None:
        """A new customer is the creator's, or (given by them) a report's; the sales director and
        admins give customers to anyone."""
        if owner != actor.username and not (
            actor.is_admin or "sales_director" in actor.roles or self.is_superior_of(session, actor, owner)
        ):
            raise ValidationFailed({"owner": "you may create customers for yourself or for people who report to you"})

    def may_view_lead(self, session: Session, actor: Actor, lead: Lead) -> bool:
        """A lead as a customer is seen (its owner, their superiors, the customer-wide roles,
        admins), and by whoever may see its qualification process."""
        if actor.is_admin or actor.roles & CUSTOMER_WIDE_ROLES or lead.owner == actor.username:
            return True
        if lead.owner and self.is_superior_of(session, actor, lead.owner):
            return True
        instance = session.get(ProcessInstance, lead.instance_id) if lead.instance_id else None
        return instance is not None and self.may_view_instance(session, actor, instance)

    def may_close_follow_up(self, session: Session, actor: Actor, activity: Activity) -> bool:
        """A follow-up is closed by its assignee, by whoever assigned it, by the assignee's
        superiors and admins, and by the assignee's substitute while they are away."""
        if actor.is_admin or actor.username in (activity.assignee, activity.created_by):
            return True
        if self.is_superior_of(session, actor, activity.assignee):
            return True
        return any(p.username == activity.assignee for p in self._identity.principals(session, actor.username))

    def check_activity_assignee(self, session: Session, actor: Actor, assignee: str) -> None:
        """An activity is one's own, or assigned by a superior to a report (seed 000)."""
        if assignee != actor.username and not actor.is_admin and not self.is_superior_of(session, actor, assignee):
            raise Forbidden("you may assign an activity only to someone who reports to you")

    # --- out of office (代理) --------------------------------------------------------------------

    def stands_in_for(self, session: Session, actor: Actor, task: Any) -> str | None:
        """The absent person whose open work this task is and whom the actor substitutes today: it
        is assigned to them, or offered to them and unclaimed. Four-eyes holds for both: nobody
        acts for the requester, nor on what they themselves may not do."""
        if task.status != "open" or self.is_excluded(task, actor.username):
            return None
        for principal in self._identity.principals(session, actor.username):
            if self.is_excluded(task, principal.username):
                continue
            if task.assignee == principal.username:
                return principal.username
            if task.assignee is None and self.is_candidate(session, principal, task):
                return principal.username
        return None

    @staticmethod
    def may_name_substitute_for(actor: Actor, username: str, is_superior: bool) -> bool:
        """A person names their own substitute; so may their superiors and admins."""
        return actor.username == username or actor.is_admin or is_superior

    def check_name_substitute(self, session: Session, actor: Actor, username: str) -> None:
        if not self.may_name_substitute_for(actor, username, self.is_superior_of(session, actor, username)):
            raise Forbidden("only the person, their superiors or an admin may name their substitute")

    # --- tasks ----------------------------------------------------------------------------------

    def may_view_task(self, session: Session, actor: Actor, task: Any) -> bool:
        if actor.is_admin or task.assignee == actor.username or task.completed_by == actor.username:
            return True
        if self.is_candidate(session, actor, task):  # offered to them: they may learn it is taken or done
            return True
        reports = self._identity.subordinates(session, actor.username)
        if reports & {task.assignee, task.completed_by, task.started_by}:
            return True
        if session.get(TaskEscalation, (task.id, actor.username)) is not None:  # told to chase it
            return True
        return self.stands_in_for(session, actor, task) is not None

    def check_claim(self, session: Session, actor: Actor, task: Task) -> str | None:
        """Refuses, or allows; the absent person the actor claims it for, when it is their work."""
        self._refuse_excluded(task, actor)
        if task.assignee is not None:
            raise Conflict(f"task {task.id} is already claimed by {task.assignee}")
        if self.is_candidate(session, actor, task):
            return None
        principal = self.stands_in_for(session, actor, task)
        if principal is None:
            raise Forbidden("you are not a candidate for this task")
        return principal

    def acts_for_assignee(self, session: Session, actor: Actor, task: Any) -> bool:
        """The assignee's direct superior has their rights on the task; an indirect one only views."""
        return bool(task.assignee) and self.is_superior_of(session, actor, task.assignee, direct_only=True)

    def _may_unclaim_own(self, session: Session, actor: Actor, task: Task) -> bool:
        return task.assignee == actor.username or actor.is_admin or self.acts_for_assignee(session, actor, task)

    def may_unclaim(self, session: Session, actor: Actor, task: Task) -> bool:
        return self._may_unclaim_own(session, actor, task) or self.stands_in_for(session, actor, task) is not None

    def check_unclaim(self, session: Session, actor: Actor, task: Task) -> str | None:
        """Refuses, or allows; the absent assignee the actor acts for, when it is theirs."""
        if self._may_unclaim_own(session, actor, task):
            return None
        principal = self.stands_in_for(session, actor, task)
        if principal is None:
            raise Forbidden("only the assignee, their direct superior or an admin may unclaim this task")
        return principal

    def performers(self, session: Session, task: Task) -> list[User]:
        """Active people who may perform the task: those it is offered to, by role or by name. Work
        is handed only to them, so it never leaves the people it was routed to."""
        roles = [r for r in task.candidate_roles.split(",") if r]
        users = [u for u in task.candidate_users.split(",") if u]
        if may_leave_out(task.candidate_roles) or may_leave_out(task.candidate_users):
            names = session.scalars(select(TaskCandidate).where(TaskCandidate.task_id == task.id))
            for row in names:
                (roles if row.kind == "role" else users).append(row.name)
        if not roles and not users:
            return []
        by_role = select(UserRole.user_id).join(Role, Role.id == UserRole.role_id).where(Role.name.in_(roles))
        found = session.scalars(
            select(User).where(User.active.is_(True), or_(User.id.in_(by_role), User.username.in_(users))).order_by(User.username)
        )
        return [u for u in found if not self.is_excluded(task, u.username)]

    def may_reassign(self, session: Session, actor: Actor, task: Task) -> bool:
        """Admins; the assignee's direct superior; for an unassigned task, anyone with direct reports
        (they hand it to one of them) or a candidate (they take it themselves)."""
        if actor.is_admin:
            return True
        if task.assignee:
            return self.acts_for_assignee(session, actor, task)
        return bool(self._identity.subordinates(session, actor.username, direct_only=True)) or self.is_candidate(session, actor, task)

    def _may_hand_to(self, session: Session, actor: Actor, task: Task, username: str) -> bool:
        if actor.is_admin or task.assignee:
            return True  # may_reassign already holds: the admin or the assignee's direct superior
        return username == actor.username or self.is_superior_of(session, actor, username, direct_only=True)

    def _stranded(self, session: Session, actor: Actor, task: Task) -> list[User]:
        """For an admin, a task nobody may perform (four-eyes left only its requester, who has no
        superior: the general manager's own special expense) may go to anyone not excluded."""
        if not actor.is_admin or self.performers(session, task):
            return []
        found = session.scalars(select(User).where(User.active.is_(True)).order_by(User.username))
        return [u for u in found if not self.is_excluded(task, u.username)]

    def assignees(self, session: Session, actor: Actor, task: Task) -> list[User]:
        """Whom the actor may hand the task to (the reassign list on the task page)."""
        if task.status != "open" or not self.may_reassign(session, actor, task):
            return []
        people = self.performers(session, task) or self._stranded(session, actor, task)
        return [u for u in people if u.username != task.assignee and self._may_hand_to(session, actor, task, u.username)]

    def check_assign(self, session: Session, actor: Actor, task: Task, username: str) -> None:
        if not self.may_reassign(session, actor, task):
            raise Forbidden("only the assignee's direct superior or an admin may reassign this task")
        if self.is_excluded(task, username):
            raise ValidationFailed({"username": "four-eyes: started this request or proposed what this step decides"})
        people = self.performers(session, task) or self._stranded(session, actor, task)
        if username not in {u.username for u in people}:
            raise ValidationFailed({"username": "may not perform this task: it is offered to other roles or people"})
        if not self._may_hand_to(session, actor, task, username):
            raise Forbidden("you may hand an unassigned task only to yourself or to someone who reports to you directly")

    def delegates(self, session: Session, actor: Actor, task: Task) -> list[User]:
        """Delegation (转交) is the assignee's own move, to a colleague the task is offered to."""
        if task.assignee != actor.username:
            return []
        return [u for u in self.performers(session, task) if u.username != actor.username]

    def check_delegate(self, session: Session, actor: Actor, task: Task, username: str) -> None:
        if task.assignee != actor.username:
            raise Forbidden("only the assignee may delegate this task")
        if self.is_excluded(task, username):
            raise ValidationFailed({"username": "four-eyes: started this request or proposed what this step decides"})
        if username not in {u.username for u in self.delegates(session, actor, task)}:
            raise ValidationFailed({"username": "is not a colleague this task is offered to"})

    def _may_complete_own(self, session: Session, actor: Actor, task: Any) -> bool:
        if self.is_excluded(task, actor.username):
            return False
        if task.assignee is None:
            return self.is_candidate(session, actor, task)
        return task.assignee == actor.username or self.acts_for_assignee(session, actor, task)

    def may_complete(self, session: Session, actor: Actor, task: Any) -> bool:
        return self._may_complete_own(session, actor, task) or self.stands_in_for(session, actor, task) is not None

    def check_complete(self, session: Session, actor: Actor, task: Any) -> str | None:
        """An unassigned task is for its candidates (the completer claims it); an assigned one for
        its assignee and their direct superiors. A candidate who finds it taken lost a race: 409.
        Returns the absent person the actor completes it for, when it is their work."""
        self._refuse_excluded(task, actor)
        if self._may_complete_own(session, actor, task):
            return None
        principal = self.stands_in_for(session, actor, task)
        if principal is not None:
            return principal
        if task.assignee is None:
            raise Forbidden("you are not a candidate for this task; claim it first")
        if self.is_candidate(session, actor, task):
            raise Conflict(f"task {task.id} is already claimed by {task.assignee}")
        raise Forbidden(f"this task is assigned to {task.assignee}")

    def task_actions(self, session: Session, actor: Actor, task: Task) -> TaskActions:
        if task.status != "open" or getattr(task, "suspended", False):
            return TaskActions(claim=False, unclaim=False, complete=False, reassign=False, delegate=False)
        return TaskActions(
            claim=task.assignee is None
            and not self.is_excluded(task, actor.username)
            and (self.is_candidate(session, actor, task) or self.stands_in_for(session, actor, task) is not None),
            unclaim=task.assignee is not None and self.may_unclaim(session, actor, task),
            complete=self.may_complete(session, actor, task),
            reassign=self.may_reassign(session, actor, task),
            delegate=task.assignee == actor.username,
        )
