"""Out of office (代理人, DOMAIN.md "Sales work between processes"): a person, their superior or an
admin names a substitute for a date range; during it the substitute sees and may act on the work
offered or assigned to the absent person (engine.authorization.stands_in_for), the history says
whom they acted for, and it ends by itself on its last day.

One arrangement per person; dates are days in the organisation's time zone, both inclusive."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import operations
from engine.errors import NotFound, ValidationFailed
from engine.services.identity import Actor
from store.models import Substitute, User

if TYPE_CHECKING:
    from engine.authorization import Authorization
    from engine.operations import ActionContext
    from engine.services.history import HistoryService
    from engine.services.identity import IdentityService
    from store.db import Database

# An absence is named for at most this long (a parental leave; longer is a handover, not a substitute).
LONGEST_ABSENCE = timedelta(days=366)


@dataclass(frozen=True)
class Arrangement:
    """One substitute arrangement as the pages and the API show it."""

    username: str
    substitute: str
    starts_on: date
    ends_on: date
    set_by: str
    active: bool

    def as_dict(self) -> dict[str, Any]:
        return {
            "username": self.username,
            "substitute": self.substitute,
            "from": self.starts_on.isoformat(),
            "until": self.ends_on.isoformat(),
            "set_by": self.set_by,
            "active": self.active,
        }


class SubstituteService:
    def __init__(
        self,
        *,
        authorization: Authorization,
        clock: Callable[[], datetime],
        context: Callable[..., ActionContext],
        db: Database,
        history: HistoryService,
        identity: IdentityService,
    ) -> None:
        self._authorization = authorization
        self._clock = clock
        self._context = context
        self._db = db
        self._history = history
        self._identity = identity

    def _arrangement(self, row: Substitute) -> Arrangement:
        today = self._identity.today()
        return Arrangement(row.username, row.substitute, row.starts_on, row.ends_on, row.set_by, row.starts_on <= today <= row.ends_on)

    def _person(self, session: Session, actor: Actor, username: str) -> User:
        user = session.scalar(select(User).where(User.username == username))
        if user is None:
            raise NotFound(f"no user '{username}'")
        self._authorization.check_name_substitute(session, actor, username)
        return user

    def get(self, session: Session, actor: Actor, username: str) -> Arrangement | None:
        """The person's arrangement, current or coming; None when there is none or it has ended."""
        self._person(session, actor, username)
        row = session.get(Substitute, username)
        if row is None or row.ends_on < self._identity.today():
            return None
        return self._arrangement(row)

    def choices(self, session: Session, actor: Actor, username: str) -> list[User]:
        """Whom the person may name: every other active user."""
        self._person(session, actor, username)
        return list(session.scalars(select(User).where(User.active.is_(True), User.username != username).order_by(User.username)))

    def covering(self, session: Session, actor: Actor) -> list[Arrangement]:
        """The absences the actor is named to cover, current and coming, soonest first."""
        rows = session.scalars(
            select(Substitute)
            .where(Substitute.substitute == actor.username, Substitute.ends_on >= self._identity.today())
            .order_by(Substitute.starts_on, Substitute.username)
        )
        return [self._arrangement(r) for r in rows]

    def name(self, actor: Actor, username: str, data: Any) -> Arrangement:
        """Name (or change) the person's substitute; the substitute is told."""
        with self._db.transaction() as session:
            person = self._person(session, actor, username)
            substitute, starts_on, ends_on = self._checked(session, username, data)
            row = session.get(Substitute, username, with_for_update=True)
            if row is None:
                row = Substitute(username=username)
                session.add(row)
            row.substitute, row.starts_on, row.ends_on = substitute, starts_on, ends_on
            row.set_by, row.set_at = actor.username, self._clock()
            session.flush()
            details = {"username": username, "substitute": substitute, "from": starts_on.isoformat(), "until": ends_on.isoformat()}
            self._history.record(session, actor.username, "substitute.set", data=details)
            with operations.action(self._context(session, actor.username)):
                who = person.display_name or username
                operations.notify([substitute], "substitute", f"{who}：{starts_on.isoformat()} — {ends_on.isoformat()}")
            return self._arrangement(row)

    def clear(self, actor: Actor, username: str) -> bool:
        """End the person's arrangement now (whether it had begun or not); False when there was none."""
        with self._db.transaction() as session:
            self._person(session, actor, username)
            row = session.get(Substitute, username, with_for_update=True)
            if row is None:
                return False
            self._history.record(session, actor.username, "substitute.clear", data={"username": username, "substitute": row.substitute})
            session.delete(row)
            return True

    def _checked(self, session: Session, username: str, data: Any) -> tuple[str, date, date]:
        if not isinstance(data, Mapping):
            raise ValidationFailed({"body": "must be a JSON object"})
        errors: dict[str, str] = {}
        substitute = data.get("username")
        if not isinstance(substitute, str) or not substitute:
            errors["username"] = "is required"
        elif substitute == username:
            errors["username"] = "must be someone else"
        elif session.scalar(select(User.id).where(User.username == substitute, User.active.is_(True))) is None:
            errors["username"] = "no active user with this name"
        starts_on, ends_on = _day(data, "from", errors), _day(data, "until", errors)
        if starts_on and ends_on:
            if ends_on < starts_on:
                errors["until"] = "must be on or after the first day"
            elif ends_on < self._identity.today():
                errors["until"] = "is in the past"
            elif ends_on - starts_on >= LONGEST_ABSENCE:
                errors["until"] = f"at most {LONGEST_ABSENCE.days} days after the first day (hand the work over instead)"
        if errors:
            raise ValidationFailed(errors)
        assert isinstance(substitute, str) and starts_on and ends_on
        return substitute, starts_on, ends_on


def _day(data: Mapping[str, Any], key: str, errors: dict[str, str]) -> date | None:
    value = data.get(key)
    if not isinstance(value, str) or not value:
        errors[key] = "is required (YYYY-MM-DD)"
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        errors[key] = "must be a date (YYYY-MM-DD)"
        return None
