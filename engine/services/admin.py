"""Administration: users, roles, departments and designer drafts. Admins only; every change audited.

Audit events are history rows without an instance (`action` = `admin.<what>`), with the changed
values in `data` (never a password).
"""

from __future__ import annotations

import re
import secrets
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from engine.bpmn import forms, validation
from engine.errors import Conflict, NotFound, ValidationFailed
from engine.services import fields
from engine.services.identity import Actor, hash_password
from store.models import DefinitionDraft, Department, HistoryEvent, Role, User

if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import datetime

    from engine.authorization import Authorization
    from engine.services.history import HistoryService
    from engine.services.identity import IdentityService
    from store.db import Database

NAME = re.compile(r"^[a-z][a-z0-9_.-]{1,63}$")
LOCALES = ("zh_CN", "en")
MIN_PASSWORD = 8
MAX_DRAFT_BYTES = 5 * 1024 * 1024


def user_view(user: User) -> dict[str, Any]:
    return {
        "username": user.username,
        "display_name": user.display_name,
        "email": user.email,
        "active": user.active,
        "locale": user.locale,
        "roles": user.role_names,
        "department": user.department.code if user.department else None,
        "superior": user.superior.username if user.superior else None,
    }


class AdminService:
    def __init__(
        self,
        *,
        authorization: Authorization,
        clock: Callable[[], datetime],
        db: Database,
        history: HistoryService,
        identity: IdentityService,
    ) -> None:
        self._authorization = authorization
        self._clock = clock
        self._db = db
        self._history = history
        self._identity = identity

    def _require_admin(self, actor: Actor) -> None:
        self._authorization.require_admin(actor, "manage users, roles, departments and drafts")

    def _audit(self, session: Session, actor: Actor, what: str, data: dict[str, Any]) -> None:
        self._history.record(session, actor.username, f"admin.{what}", data=data)

    # --- users ------------------------------------------------------------------------------

    def users(self, session: Session, actor: Actor) -> list[User]:
        self._require_admin(actor)
        return list(
            session.scalars(select(User).options(selectinload(User.department), selectinload(User.superior)).order_by(User.username))
        )

    def _apply_user_fields(self, session: Session, user: User, data: dict[str, Any], errors: dict[str, str]) -> dict[str, Any]:
        changed: dict[str, Any] = {}
        for key, limit in (("display_name", 200), ("email", 254)):
            if key in data:
                value = fields.text(data, key, errors, limit=limit)
                if key == "email" and value and "@" not in value:
                    errors["email"] = "must be an email address"
                elif key not in errors:
                    setattr(user, key, value or ("" if key == "display_name" else None))
                    changed[key] = value
        if "locale" in data:
            if data["locale"] not in LOCALES:
                errors["locale"] = f"must be one of {', '.join(LOCALES)}"
            else:
                user.locale = data["locale"]
                changed["locale"] = data["locale"]
        if "active" in data:
            if not isinstance(data["active"], bool):
                errors["active"] = "must be true or false"
            else:
                user.active = data["active"]
                changed["active"] = data["active"]
        if "roles" in data:
            names = data["roles"]
            roles = {r.name: r for r in session.scalars(select(Role))}
            if not isinstance(names, list) or not all(isinstance(n, str) and n in roles for n in names):
                errors["roles"] = "must be a list of existing roles"
            else:
                user.roles = [roles[n] for n in dict.fromkeys(names)]
                changed["roles"] = sorted(set(names))
        if "department" in data:
            code = data["department"]
            department = session.scalar(select(Department).where(Department.code == code)) if isinstance(code, str) else None
            if code is not None and department is None:
                errors["department"] = "no such department"
            else:
                user.department_id = department.id if department else None
                changed["department"] = code
        if "superior" in data:
            name = data["superior"]
            superior = session.scalar(select(User).where(User.username == name)) if isinstance(name, str) else None
            if name is not None and superior is None:
                errors["superior"] = "no such user"
            elif superior is not None and (superior.username == user.username or user.username in self._chain_above(session, superior)):
                errors["superior"] = "would make a reporting cycle"
            else:
                user.superior_id = superior.id if superior else None
                changed["superior"] = name
        return changed

    @staticmethod
    def _chain_above(session: Session, user: User) -> list[str]:
        """The usernames above `user` in the reporting line, nearest first."""
        chain: list[str] = []
        current = user
        while current.superior_id is not None and len(chain) < 100:
            current = session.get(User, current.superior_id)  # type: ignore[assignment]
            if current is None or current.username in chain:
                break
            chain.append(current.username)
        return chain

    def create_user(self, actor: Actor, data: Any) -> User:
        self._require_admin(actor)
        if not isinstance(data, dict):
            raise ValidationFailed({"data": "must be an object"})
        errors: dict[str, str] = {}
        username = fields.text(data, "username", errors, required=True, limit=64)
        if username and not NAME.match(username):
            errors["username"] = "use 2-64 lower-case letters, digits, '.', '-' or '_', starting with a letter"
        password = data.get("password")
        if not isinstance(password, str) or len(password) < MIN_PASSWORD or len(password) > 1024:
            errors["password"] = f"must be at least {MIN_PASSWORD} characters"
        with self._db.transaction() as session:
            if username and session.scalar(select(User.id).where(User.username == username)) is not None:
                raise Conflict(f"user '{username}' already exists")
            user = User(username=username or "", display_name="", password_hash="", active=True, locale="zh_CN", created_at=self._clock())
            session.add(user)
            changed = self._apply_user_fields(session, user, {k: v for k, v in data.items() if k not in ("username", "password")}, errors)
            if errors:
                raise ValidationFailed(errors)
            user.password_hash = hash_password(password)  # type: ignore[arg-type]
            session.flush()
            self._audit(session, actor, "user.create", {"username": username, **changed})
            return user

    def update_user(self, actor: Actor, username: str, data: Any) -> User:
        self._require_admin(actor)
        if not isinstance(data, dict):
            raise ValidationFailed({"data": "must be an object"})
        unknown = set(data) - {"display_name", "email", "locale", "active", "roles", "department", "superior"}
        if unknown:
            raise ValidationFailed({k: "cannot be changed here" for k in sorted(unknown)})
        with self._db.transaction() as session:
            user = session.scalar(select(User).where(User.username == username))
            if user is None:
                raise NotFound(f"no user '{username}'")
            errors: dict[str, str] = {}
            changed = self._apply_user_fields(session, user, data, errors)
            if errors:
                raise ValidationFailed(errors)
            if user.username == actor.username and (
                changed.get("active") is False or ("roles" in changed and "admin" not in changed["roles"])
            ):
                raise Conflict("admins cannot disable themselves or take away their own admin role")
            if changed.get("active") is False:  # ended, so re-enabling does not revive old cookies and tokens
                self._identity.end_sessions(session, user.id)
            self._audit(session, actor, "user.update", {"username": username, **changed})
        self._identity.forget_tokens(user.id)  # deactivated or roles changed: at once here
        return user

    def reset_password(self, actor: Actor, username: str, password: Any = None) -> str:
        """Set a new password (generated when none is given); returns it once. Ends the user's sessions and tokens."""
        self._require_admin(actor)
        if password is not None and (not isinstance(password, str) or not MIN_PASSWORD <= len(password) <= 1024):
            raise ValidationFailed({"password": f"must be at least {MIN_PASSWORD} characters"})
        new = password or secrets.token_urlsafe(12)
        with self._db.transaction() as session:
            user = session.scalar(select(User).where(User.username == username))
            if user is None:
                raise NotFound(f"no user '{username}'")
            user.password_hash = hash_password(new)
            self._identity.end_sessions(session, user.id)  # every browser session and token
            self._audit(session, actor, "user.password", {"username": username})
        self._identity.forget_tokens(user.id)  # again after the commit: no request re-remembered it meanwhile
        return new

    # --- roles and departments ----------------------------------------------------------------

    def roles(self, session: Session, actor: Actor) -> list[Role]:
        self._require_admin(actor)
        return list(session.scalars(select(Role).order_by(Role.name)))

    def create_role(self, actor: Actor, data: Any) -> Role:
        self._require_admin(actor)
        errors: dict[str, str] = {}
        data = data if isinstance(data, dict) else {}
        name = fields.text(data, "name", errors, required=True, limit=64)
        if name and not NAME.match(name):
            errors["name"] = "use 2-64 lower-case letters, digits, '.', '-' or '_', starting with a letter"
        label = fields.text(data, "label", errors, limit=200) or ""
        if errors:
            raise ValidationFailed(errors)
        with self._db.transaction() as session:
            if session.scalar(select(Role.id).where(Role.name == name)) is not None:
                raise Conflict(f"role '{name}' already exists")
            role = Role(name=name, label=label)
            session.add(role)
            self._audit(session, actor, "role.create", {"name": name, "label": label})
            return role

    def departments(self, session: Session, actor: Actor) -> list[Department]:
        self._require_admin(actor)
        return list(session.scalars(select(Department).order_by(Department.code)))

    def department_exists(self, session: Session, code: str) -> bool:
        return session.scalar(select(Department.id).where(Department.code == code)) is not None

    def save_department(self, actor: Actor, code: str, data: Any, create: bool) -> Department:
        self._require_admin(actor)
        data = data if isinstance(data, dict) else {}
        errors: dict[str, str] = {}
        if not NAME.match(code or ""):
            errors["code"] = "use 2-64 lower-case letters, digits, '.', '-' or '_', starting with a letter"
        name = fields.text(data, "name", errors, required=create)
        name_en = fields.text(data, "name_en", errors)
        with self._db.transaction() as session:
            department = session.scalar(select(Department).where(Department.code == code))
            if create and department is not None:
                raise Conflict(f"department '{code}' already exists")
            if not create and department is None:
                raise NotFound(f"no department '{code}'")
            if department is None:
                department = Department(code=code, name=name or code)
                session.add(department)
            changed: dict[str, Any] = {}
            if name:
                department.name, changed["name"] = name, name
            if "name_en" in data:
                department.name_en, changed["name_en"] = name_en, name_en
            if "manager" in data:
                manager = session.scalar(select(User).where(User.username == data["manager"])) if isinstance(data["manager"], str) else None
                if data["manager"] is not None and manager is None:
                    errors["manager"] = "no such user"
                else:
                    department.manager_id, changed["manager"] = (manager.id if manager else None), data["manager"]
            if "parent" in data:
                parent = (
                    session.scalar(select(Department).where(Department.code == data["parent"])) if isinstance(data["parent"], str) else None
                )
                if data["parent"] is not None and (parent is None or parent.code == code):
                    errors["parent"] = "no such (other) department"
                else:
                    department.parent_id, changed["parent"] = (parent.id if parent else None), data["parent"]
            if errors:
                raise ValidationFailed(errors)
            self._audit(session, actor, "department.create" if create else "department.update", {"code": code, **changed})
            session.flush()
            return department

    def audit_log(
        self,
        session: Session,
        actor: Actor,
        limit: int = 100,
        *,
        user: str | None = None,
        action: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[HistoryEvent]:
        """Administrative changes and deployments, newest first; by who, what and when (`until`
        excluded)."""
        self._require_admin(actor)
        stmt = select(HistoryEvent).where(HistoryEvent.instance_id.is_(None))
        if user:
            stmt = stmt.where(HistoryEvent.user == user)
        if action:
            stmt = stmt.where(HistoryEvent.action == action)
        if since is not None:
            stmt = stmt.where(HistoryEvent.at >= since)
        if until is not None:
            stmt = stmt.where(HistoryEvent.at < until)
        return list(session.scalars(stmt.order_by(HistoryEvent.id.desc()).limit(limit)))

    def audit_people(self, session: Session, actor: Actor) -> list[str]:
        """Everyone the audit log names, for its filter."""
        self._require_admin(actor)
        names = session.scalars(
            select(HistoryEvent.user).where(HistoryEvent.instance_id.is_(None), HistoryEvent.user.is_not(None)).distinct()
        )
        return sorted(n for n in names if n)

    # --- designer drafts ----------------------------------------------------------------------

    def draft(self, session: Session, actor: Actor, key: str) -> DefinitionDraft:
        self._require_admin(actor)
        draft = session.get(DefinitionDraft, key)
        if draft is None:
            raise NotFound(f"no draft of '{key}'")
        return draft

    def drafts(self, session: Session, actor: Actor) -> list[dict[str, Any]]:
        """Every saved draft without its XML (for the designer's list): key, who and when."""
        self._require_admin(actor)
        rows = session.execute(
            select(DefinitionDraft.key, DefinitionDraft.updated_by, DefinitionDraft.updated_at).order_by(DefinitionDraft.key)
        )
        return [{"key": r.key, "updated_by": r.updated_by, "updated_at": r.updated_at} for r in rows]

    def save_draft(self, actor: Actor, key: str, xml: bytes) -> DefinitionDraft:
        """Keep work in progress (not live, not validated beyond being text of a bounded size)."""
        self._require_admin(actor)
        if not isinstance(key, str) or not validation.PROCESS_KEY.fullmatch(key):
            raise ValidationFailed({"key": "must be a process id: a letter or _, then letters, digits, _ . - (at most 128)"})
        if len(xml) > MAX_DRAFT_BYTES:
            raise ValidationFailed({"xml": "is larger than 5 MB"})
        try:
            text = xml.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ValidationFailed({"xml": "must be UTF-8 text"}) from exc
        if not text.strip() or not forms.is_storable_text(text):
            raise ValidationFailed({"xml": "must be non-empty text without NUL characters"})
        with self._db.transaction() as session:
            draft = session.get(DefinitionDraft, key) or DefinitionDraft(key=key)
            draft.xml = text
            draft.updated_by = actor.username
            draft.updated_at = self._clock()
            session.add(draft)
            self._audit(session, actor, "draft.save", {"key": key, "bytes": len(xml)})
            return draft
