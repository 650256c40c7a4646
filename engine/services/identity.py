"""Identity service: users, roles, the reporting hierarchy, password and token checks."""

from __future__ import annotations

import hashlib
import re
import secrets
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import bindparam, delete, event, func, select, text
from sqlalchemy.orm import Session, joinedload

from engine.clock import aware
from engine.errors import NotFound, TooManyAttempts
from store.db import is_sqlite
from store.models import LoginAttempt, LoginSession, Notification, Role, Substitute, User, UserRole

if TYPE_CHECKING:
    from collections.abc import Callable

    from engine.config import Settings

# Browser sessions and API tokens end this long after they began, however much they are used.
SESSION_LIFETIME = timedelta(hours=12)
SESSION_KINDS = ("browser", "api")
# A token's user and roles are remembered this long in each app process: API calls in a burst
# skip the database for authentication. A revocation, deactivation or role change reaches the
# process that made it at once and every other process within this time.
TOKEN_CACHE_SECONDS = 5.0
TOKEN_CACHE_SIZE = 10_000
THROTTLE_WINDOW = timedelta(minutes=15)
# Argon2id with OWASP's recommended minimum (19 MiB, 2 passes, 1 lane): strong, and fast enough
# that a burst of logins does not starve a 2-core server.
_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    """Verifying unknown users against a real hash keeps login timing uniform."""
    return _hasher.hash("not-a-real-password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


@dataclass(frozen=True)
class Actor:
    """Who performs an action, as the engine's authorization checks see them."""

    user_id: int
    username: str
    roles: frozenset[str]

    @property
    def is_admin(self) -> bool:
        return "admin" in self.roles


def actor_of(user: User) -> Actor:
    return Actor(user.id, user.username, frozenset(user.role_names))


_TOKEN_ACTOR = (
    select(User.id, User.username, Role.name)
    .join(LoginSession, LoginSession.user_id == User.id)
    .outerjoin(UserRole, UserRole.user_id == User.id)
    .outerjoin(Role, Role.id == UserRole.role_id)
    .where(
        LoginSession.token_hash == bindparam("token_hash"),
        LoginSession.kind == "api",
        LoginSession.expires_at >= bindparam("now"),
        User.active.is_(True),
    )
    .add_columns(LoginSession.expires_at)
)


class IdentityService:
    def __init__(self, *, clock: Callable[[], datetime], settings: Settings) -> None:
        self._clock = clock
        self._zone = settings.timezone
        self._tokens: OrderedDict[str, tuple[float, Actor, datetime]] = OrderedDict()
        self._token_lock = threading.Lock()
        # per username, from anywhere: stops guessing one account; per address: stops spraying many
        self.max_failures_per_user = settings.login_max_failures_per_user
        self.max_failures_per_account = settings.login_max_failures_per_account
        self.max_failures_per_address = settings.login_max_failures_per_address

    def authenticate(self, session: Session, username: str, password: str, ip: str = "-") -> User | None:
        """The user, or None for bad credentials; TooManyAttempts while throttled.

        Throttled per account from one address (a guesser cannot lock its holder out from
        elsewhere), per account from everywhere (a larger backstop) and per address. Attempts on
        one account or from one address take their turn (`_one_at_a_time`), so the limits hold
        exactly under any concurrency. A failure is written in the caller's transaction, which the
        caller commits (to both login routes a failure is an answer, not an exception); never in
        a second one, which would take a second pooled connection while the first is held.
        """
        username, ip = username[:64], ip[:64]
        _one_at_a_time(session, f"login user {username}", f"login address {ip}")
        self._check_throttle(session, username, ip)
        user = session.scalar(select(User).where(User.username == username))
        known = user is not None and user.active
        valid = verify_password(user.password_hash if user is not None and known else _dummy_hash(), password)
        if user is None or not (known and valid):
            session.add(LoginAttempt(username=username, ip=ip, at=self._clock()))
            session.flush()
            if known:
                self._tell_when_throttled(session, username, ip)
            return None
        session.execute(delete(LoginAttempt).where(LoginAttempt.username == username, LoginAttempt.ip == ip))
        if _hasher.check_needs_rehash(user.password_hash):  # hashed with older parameters
            user.password_hash = hash_password(password)
        return user

    def _failures(self, session: Session, username: str, ip: str) -> tuple[int, int, int]:
        """Failed logins in the window: (account from this address, account, address)."""
        since = self._clock() - THROTTLE_WINDOW
        recent = LoginAttempt.at > since
        pair = session.scalar(select(func.count()).where(LoginAttempt.username == username, LoginAttempt.ip == ip, recent)) or 0
        account = session.scalar(select(func.count()).where(LoginAttempt.username == username, recent)) or 0
        address = session.scalar(select(func.count()).where(LoginAttempt.ip == ip, recent)) or 0
        return pair, account, address

    def _check_throttle(self, session: Session, username: str, ip: str) -> None:
        pair, account, address = self._failures(session, username, ip)
        if pair >= self.max_failures_per_user or account >= self.max_failures_per_account or address >= self.max_failures_per_address:
            raise TooManyAttempts(f"too many failed logins; try again in {THROTTLE_WINDOW.seconds // 60} minutes")

    def _tell_when_throttled(self, session: Session, username: str, ip: str) -> None:
        """The holder hears of it once, when the failure that throttles their account is written
        (kind `login_throttled`, the message is the address the guesses came from)."""
        pair, account, _address = self._failures(session, username, ip)
        if pair == self.max_failures_per_user or account == self.max_failures_per_account:
            session.add(Notification(username=username, at=self._clock(), kind="login_throttled", message=ip))

    # --- sessions and tokens: server-side records, ended by deleting them ---------------------

    def start_session(self, session: Session, user: User, kind: str, address: str = "", user_agent: str = "") -> str:
        """A new browser session or API token for `user`; returns its secret (kept only hashed)."""
        if kind not in SESSION_KINDS:
            raise ValueError(f"unknown session kind {kind!r}")
        secret = secrets.token_urlsafe(32)
        now = self._clock()
        session.execute(delete(LoginSession).where(LoginSession.user_id == user.id, LoginSession.expires_at < now))
        session.add(
            LoginSession(
                token_hash=_token_hash(secret),
                user_id=user.id,
                kind=kind,
                created_at=now,
                expires_at=now + SESSION_LIFETIME,
                address=address[:64],
                user_agent=user_agent[:200],
            )
        )
        return secret

    @staticmethod
    def public_id(secret: str) -> str:
        """The id a session is listed by (LoginSession.public_id) from its secret."""
        return _token_hash(secret)[:16]

    def issue_token(self, session: Session, user: User, address: str = "", user_agent: str = "") -> str:
        return self.start_session(session, user, "api", address, user_agent)

    def user_for_session(self, session: Session, secret: str) -> User | None:
        """The active user of a live browser session, roles included (one statement: every page
        asks it first), or None."""
        return session.scalar(
            select(User)
            .options(joinedload(User.roles))
            .join(LoginSession, LoginSession.user_id == User.id)
            .where(
                LoginSession.token_hash == _token_hash(secret),
                LoginSession.kind == "browser",
                LoginSession.expires_at >= self._clock(),
                User.active.is_(True),
            )
        )

    def sessions_of(self, session: Session, user_id: int) -> list[LoginSession]:
        """The user's live sessions and tokens, newest first."""
        return list(
            session.scalars(
                select(LoginSession)
                .where(LoginSession.user_id == user_id, LoginSession.expires_at >= self._clock())
                .order_by(LoginSession.created_at.desc(), LoginSession.token_hash)
            )
        )

    def end_session(self, session: Session, secret: str) -> None:
        """Logout: the record goes, so a copy of the cookie or token made before no longer works."""
        key = _token_hash(secret)
        session.execute(delete(LoginSession).where(LoginSession.token_hash == key))
        with self._token_lock:
            self._tokens.pop(key, None)

    def end_session_by_id(self, session: Session, user_id: int, public_id: str) -> bool:
        """End one of the user's own sessions by the id the lists show; False when none matches."""
        if not re.fullmatch(r"[0-9a-f]{16}", public_id or ""):
            return False
        found = session.scalars(
            select(LoginSession.token_hash).where(LoginSession.user_id == user_id, LoginSession.token_hash.startswith(public_id))
        ).all()
        if len(found) != 1:
            return False
        session.execute(delete(LoginSession).where(LoginSession.token_hash == found[0]))
        with self._token_lock:
            self._tokens.pop(found[0], None)
        return True

    def end_sessions(self, session: Session, user_id: int, keep: str | None = None) -> int:
        """End every session and token of a user (password reset, deactivation), but `keep`'s."""
        condition = LoginSession.user_id == user_id
        if keep is not None:
            condition = condition & (LoginSession.token_hash != _token_hash(keep))
        ended = session.execute(delete(LoginSession).where(condition)).rowcount or 0
        self.forget_tokens(user_id)
        return ended

    def forget_tokens(self, user_id: int) -> None:
        """Drop this process's remembered tokens of a user whose access just changed."""
        with self._token_lock:
            for key in [k for k, (_at, actor, _expires) in self._tokens.items() if actor.user_id == user_id]:
                del self._tokens[key]

    def actor_for_token(self, session: Session, token: str) -> Actor | None:
        """The active user a live token belongs to, with their roles: one statement, or none when
        this process checked the token in the last TOKEN_CACHE_SECONDS."""
        key = _token_hash(token)
        now = self._clock()
        with self._token_lock:
            hit = self._tokens.get(key)
        if hit is not None and time.monotonic() - hit[0] < TOKEN_CACHE_SECONDS and aware(hit[2]) >= now:
            return hit[1]
        rows = session.execute(_TOKEN_ACTOR, {"token_hash": key, "now": now}).all()
        if not rows:
            return None
        actor = Actor(rows[0].id, rows[0].username, frozenset(r.name for r in rows if r.name is not None))
        with self._token_lock:
            self._tokens[key] = (time.monotonic(), actor, rows[0].expires_at)
            self._tokens.move_to_end(key)
            while len(self._tokens) > TOKEN_CACHE_SIZE:
                self._tokens.popitem(last=False)
        return actor

    def user(self, session: Session, username: str) -> User:
        user = session.scalar(select(User).where(User.username == username))
        if user is None:
            raise NotFound(f"no user '{username}'")
        return user

    def actor(self, session: Session, username: str) -> Actor:
        return actor_of(self.user(session, username))

    def display_names(self, session: Session) -> dict[str, str]:
        """username -> the name people know them by, for every user (organisations are small)."""
        return {r.username: r.display_name or r.username for r in session.execute(select(User.username, User.display_name))}

    def role_labels(self, session: Session) -> dict[str, str]:
        """role name -> its label, for every role."""
        return {r.name: r.label for r in session.execute(select(Role.name, Role.label))}

    def subordinates(self, session: Session, username: str, direct_only: bool = False) -> set[str]:
        """The users who report to `username`, directly or (by default) through others.

        One recursive query that reads only the reporting line, whatever the size of the
        organisation; remembered for the rest of the session, as authorization asks it repeatedly
        within one request.
        """
        memo = session.info.setdefault("crmflow_subordinates", {})
        key = (username, direct_only)
        if key not in memo:
            query = _DIRECT_REPORTS if direct_only else _ALL_REPORTS
            memo[key] = set(session.scalars(query, {"username": username})) - {username}
        return set(memo[key])

    def today(self) -> date:
        """Today in the organisation's time zone (a substitute's dates are local dates)."""
        return self._clock().astimezone(self._zone).date()

    def principals(self, session: Session, username: str) -> tuple[Actor, ...]:
        """Whom `username` stands in for today (out of office, 代理): the active users whose
        substitute they are for a date range covering today. Asked only when the person's own
        rights do not already allow an action; remembered for the rest of the session."""
        memo = session.info.setdefault("crmflow_principals", {})
        if username not in memo:
            roles: dict[tuple[int, str], set[str]] = {}
            for row in session.execute(_PRINCIPALS, {"substitute": username, "today": self.today()}):
                found = roles.setdefault((row.id, row.username), set())
                if row.name is not None:
                    found.add(row.name)
            memo[username] = tuple(Actor(uid, name, frozenset(r)) for (uid, name), r in sorted(roles.items(), key=lambda i: i[0][1]))
        return memo[username]


_PRINCIPALS = (
    select(User.id, User.username, Role.name)
    .join(Substitute, Substitute.username == User.username)
    .outerjoin(UserRole, UserRole.user_id == User.id)
    .outerjoin(Role, Role.id == UserRole.role_id)
    .where(
        Substitute.substitute == bindparam("substitute"),
        Substitute.starts_on <= bindparam("today"),
        Substitute.ends_on >= bindparam("today"),
        User.active.is_(True),
    )
)


def _reports() -> tuple[Any, Any]:
    boss = select(User.id).where(User.username == bindparam("username")).scalar_subquery()
    direct = select(User.username).where(User.superior_id == boss)
    line = select(User.id, User.username).where(User.superior_id == boss).cte("reports", recursive=True)
    # UNION (not UNION ALL) ends the recursion even if the data ever held a reporting cycle.
    line = line.union(select(User.id, User.username).join(line, User.superior_id == line.c.id))
    return direct, select(line.c.username)


_DIRECT_REPORTS, _ALL_REPORTS = _reports()


@event.listens_for(Session, "after_flush")
def _forget_reporting_lines(session: Session, _context: Any) -> None:
    """A user written in this session may have a new superior (or roles, or a substitute): ask
    the database again."""
    written = (*session.new, *session.dirty, *session.deleted)
    if any(isinstance(obj, User) for obj in written):
        session.info.pop("crmflow_subordinates", None)
    if any(isinstance(obj, (User, Substitute, UserRole)) for obj in written):
        session.info.pop("crmflow_principals", None)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


_ADVISORY_LOCK = text("SELECT pg_advisory_xact_lock(:key)")
_SQLITE_WRITE_LOCK = text("UPDATE login_attempts SET id = id WHERE id = -1")


def _one_at_a_time(session: Session, *names: str) -> None:
    """Make transactions about the same names (an account, an address) take their turn until they
    commit. PostgreSQL: transaction-level advisory locks, taken in one order so that two logins
    never wait for each other; SQLite: the database's write lock, which a write statement takes."""
    if is_sqlite(session.get_bind()):
        session.execute(_SQLITE_WRITE_LOCK)
        return
    keys = sorted({int.from_bytes(hashlib.sha256(n.encode()).digest()[:8], "big", signed=True) for n in names})
    for key in keys:
        session.execute(_ADVISORY_LOCK, {"key": key})
