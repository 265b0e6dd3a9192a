"""Console accounts: roles, argon2 password hashes, and lock-out after failed logins."""

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import Literal, get_args

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Boolean, DateTime, Integer, String, func, select
from sqlalchemy.orm import Mapped, mapped_column

from bot.history.audit import entry
from bot.history.log import ID, Base, History

log = logging.getLogger(__name__)

Role = Literal["staff", "supervisor", "admin"]
ROLES: tuple[Role, ...] = get_args(Role)
STAFF_ROLES: tuple[Role, ...] = ("staff", "supervisor")  # the roles that take over chats
MAX_FAILED_LOGINS = 5
LOCK_OUT = timedelta(minutes=15)
MIN_PASSWORD = 12


class User(Base):
    """Somebody who may log in to the console."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(256))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


@dataclass(frozen=True)
class Login:
    """The outcome of a login attempt: the user, or why not (`bad`, `locked`)."""

    user: User | None
    refusal: str = ""


class AccountError(ValueError):
    """A user could not be created or changed (name taken, weak password, unknown role)."""


def _aware(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes; they were stored as UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class Accounts:
    """Creates, lists and checks console users; every change is audited.

    Passwords are hashed with argon2id at this cost: passes over the memory, and KiB of it.
    """

    def __init__(self, history: History, time_cost: int, memory_kib: int) -> None:
        self.history = history
        self.hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib)

    @cached_property
    def _nobodys_hash(self) -> str:
        """Return the hash checked for an unknown name, so a login takes as long either way."""
        return self.hasher.hash("not a password of anyone")

    async def add(self, name: str, role: str, password: str, actor: str) -> User:
        """Create a user; refuse a taken name, an unknown role or a short password."""
        name = name.strip()
        if role not in ROLES:
            raise AccountError(f"unknown role {role!r}; choose one of {', '.join(ROLES)}")
        if not name or len(name) > 64:
            raise AccountError("a name needs 1 to 64 characters")
        if len(password) < MIN_PASSWORD:
            raise AccountError(f"a password needs at least {MIN_PASSWORD} characters")
        async with self.history.sessions.begin() as session:
            if await session.scalar(select(User.id).where(User.name == name)):
                raise AccountError(f"a user named {name!r} exists")
            user = User(name=name, role=role, password_hash=self.hasher.hash(password),
                        active=True, failed_logins=0, created_at=datetime.now(UTC))
            session.add(user)
            session.add(entry(actor, "user_added", f"{name} ({role})"))
        return user

    async def change(self, name: str, actor: str, *, role: str | None = None,
                     active: bool | None = None) -> None:
        """Change a user's role or (de)activate them; unlocks a locked account too."""
        if role is not None and role not in ROLES:
            raise AccountError(f"unknown role {role!r}")
        async with self.history.sessions.begin() as session:
            user = await session.scalar(select(User).where(User.name == name))
            if user is None:
                raise AccountError(f"no user named {name!r}")
            changes: list[str] = []
            if role is not None and role != user.role:
                user.role = role
                changes.append(f"role={role}")
            if active is not None and active != user.active:
                user.active = active
                changes.append(f"active={active}")
            user.failed_logins, user.locked_until = 0, None
            session.add(entry(actor, "user_changed", f"{name}: {', '.join(changes) or 'unlock'}"))

    async def users(self) -> list[User]:
        """Return every user by name."""
        async with self.history.sessions() as session:
            return list((await session.scalars(select(User).order_by(User.name))).all())

    async def count(self, roles: tuple[str, ...] = ROLES) -> int:
        """Return how many active users have one of these roles."""
        async with self.history.sessions() as session:
            query = select(func.count()).select_from(User).where(
                User.role.in_(roles), User.active.is_(True))
            return int(await session.scalar(query) or 0)

    async def get(self, user_id: int) -> User | None:
        """Return an active user by id (for a session), or None."""
        async with self.history.sessions() as session:
            user = await session.get(User, user_id)
            return user if user and user.active else None

    async def login(self, name: str, password: str, source: str) -> Login:
        """Check a password; lock the account for a while after repeated failures."""
        now = datetime.now(UTC)
        async with self.history.sessions.begin() as session:
            user = await session.scalar(select(User).where(User.name == name.strip()))
            if user is None or not user.active:
                self._verify(self._nobodys_hash, password)
                session.add(entry(f"anonymous@{source}", "login_failed", name[:64]))
                log.warning("login refused: unknown or inactive user", extra={"source": source})
                return Login(None, "bad")
            if user.locked_until and _aware(user.locked_until) > now:
                session.add(entry(f"{user.name}@{source}", "login_locked"))
                log.warning("login refused: locked", extra={"user": user.name, "source": source})
                return Login(None, "locked")
            if not self._verify(user.password_hash, password):
                user.failed_logins += 1
                if user.failed_logins >= MAX_FAILED_LOGINS:
                    user.locked_until, user.failed_logins = now + LOCK_OUT, 0
                    session.add(entry(f"{user.name}@{source}", "locked_out"))
                session.add(entry(f"{user.name}@{source}", "login_failed"))
                log.warning("login refused: wrong password", extra={
                    "user": user.name, "source": source, "failures": user.failed_logins})
                return Login(None, "bad")
            user.failed_logins, user.locked_until = 0, None
            if self.hasher.check_needs_rehash(user.password_hash):
                user.password_hash = self.hasher.hash(password)
            session.add(entry(f"{user.name}@{source}", "login"))
            return Login(user)

    def _verify(self, hashed: str, password: str) -> bool:
        try:
            return self.hasher.verify(hashed, password)
        except (VerificationError, InvalidHashError):
            return False
