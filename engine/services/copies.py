"""抄送 (CC): the people a request copies, chosen by the requester when they start it, may read it
(they are linked to it as participants, so it is in their lists and its page opens for them) and
are told of its outcome (notice kind `cc`). A process package names the start-form field that holds
them (`ProcessParts.cc_field`); the field holds usernames, separated by commas or 、."""

from __future__ import annotations

import re

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from engine import operations
from engine.errors import ValidationFailed
from store.models import InstancePerson, ProcessInstance, User

MAX_COPIED = 20
SEPARATORS = re.compile(r"[,，、;；\s]+")


def people_in(text: object) -> list[str]:
    return [p for p in SEPARATORS.split(text) if p] if isinstance(text, str) else []


def checked(session: Session, text: object, requester: str) -> str:
    """The field's usernames, each an active user, the requester left out, in the order given;
    422 on the field for anyone unknown."""
    names = list(dict.fromkeys(p for p in people_in(text) if p != requester))
    if len(names) > MAX_COPIED:
        raise ValidationFailed({"cc": f"copy at most {MAX_COPIED} people"})
    known = set(session.scalars(select(User.username).where(User.username.in_(names), User.active.is_(True)))) if names else set()
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ValidationFailed({"cc": f"no such user: {', '.join(unknown[:5])}"})
    return ",".join(names)


def link(session: Session, instance: ProcessInstance, text: object) -> None:
    """The copied people may read the request: participant links (the starter's is the trigger's)."""
    names = [n for n in people_in(text) if n != instance.started_by]
    if names:
        session.execute(insert(InstancePerson), [{"username": n, "instance_id": instance.id} for n in names])


def tell_outcome(instance: ProcessInstance, text: object, outcome: object, actor: str | None = None) -> None:
    """Within the action's operations context: each copied person is told how it ended."""
    names = [n for n in people_in(text) if n != actor]
    title = (instance.data or {}).get("title") or instance.business_key or f"#{instance.id}"
    operations.notify(names, "cc", f"{title}: {outcome or '—'}")
