"""Console accounts: roles, passwords, and an atomic lock-out after failed logins."""

import logging
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal, get_args

from sqlalchemy import Boolean, DateTime, Integer, String, Text, case, func, select, update
from sqlalchemy.orm import Mapped, mapped_column

from bot.history.audit import Audit, entry
from bot.history.log import ID, Base, History
from bot.history.passwords import Passwords, weakness
from bot.history.tenancy import EVERYTHING, Scope

log = logging.getLogger(__name__)

Role = Literal["staff", "supervisor", "admin"]
ROLES: tuple[Role, ...] = get_args(Role)
STAFF_ROLES: tuple[Role, ...] = ("staff", "supervisor")  # the roles that take over chats
EndSessions = Callable[[int], Awaitable[None]]
MAX_FAILED_LOGINS = 5
LOCK_OUT = timedelta(minutes=15)


class User(Base):
    """Somebody who may log in to the console."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    # The name citizens see on this user's chat messages; without one, the login name.
    display_name: Mapped[str | None] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(256))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # The tenants whose chats and pages the user works with: `*` (all), or keys with commas.
    tenants: Mapped[str] = mapped_column(Text, default="*")

    @property
    def scope(self) -> Scope:
        """Return the tenants this user belongs to."""
        return Scope.of(self.tenants)


@dataclass(frozen=True)
class Login:
    """The outcome of a password check: the user, or why not (`bad`, `locked`)."""

    user: User | None
    refusal: str = ""


class AccountError(ValueError):
    """A user could not be created or changed (name taken, weak password, unknown role).

    Its text is English (the command line); `dutch` says the same on the console's pages.
    """

    def __init__(self, english: str, dutch: str) -> None:
        super().__init__(english)
        self.dutch = dutch


def scope_of(text: str, known: Collection[str]) -> Scope:
    """Read the tenants typed for a user (`*`, or keys with commas); refuse unknown keys."""
    scope = Scope.of(text)
    if scope.tenants is not None and (not scope.tenants or not scope.tenants <= set(known)):
        raise AccountError(f"tenants are * or some of {', '.join(known)}",
                           f"Kies een of meer gemeenten uit {', '.join(known)}, of *.")
    return scope


class Accounts:
    """Creates, lists and checks console users; every change is audited.

    Passwords are hashed with argon2id at this cost (passes over the memory, and KiB of it),
    at most `concurrency` at a time, in threads of their own. `end_sessions` ends a user's
    console sessions when they are switched off or get another role or password.
    """

    def __init__(self, history: History, time_cost: int, memory_kib: int,
                 concurrency: int = 1, end_sessions: EndSessions | None = None) -> None:
        self.history = history
        self.passwords = Passwords(time_cost, memory_kib, concurrency)
        self.end_sessions = end_sessions

    async def add(self, name: str, role: str, password: str, actor: str,
                  scope: Scope = EVERYTHING) -> User:
        """Create a user of these tenants; refuse a taken name, unknown role or weak password."""
        name = name.strip()
        if role not in ROLES:
            raise AccountError(f"unknown role {role!r}; choose one of {', '.join(ROLES)}",
                               f"Kies een rol uit {', '.join(ROLES)}.")
        if not name or len(name) > 64:
            raise AccountError("a name needs 1 to 64 characters",
                               "Een naam heeft 1 tot 64 tekens.")
        hashed = await self._hash_strong(password, name)
        async with self.history.sessions.begin() as session:
            if await session.scalar(select(User.id).where(User.name == name)):
                raise AccountError(f"a user named {name!r} exists",
                                   f"Er is al een gebruiker {name}.")
            user = User(name=name, role=role, password_hash=hashed, active=True,
                        failed_logins=0, created_at=datetime.now(UTC), tenants=scope.text)
            session.add(user)
            session.add(entry(actor, "user_added", f"{name} ({role}, {scope.text})"))
        return user

    async def change(self, name: str, actor: str, *, role: str | None = None,
                     active: bool | None = None, scope: Scope | None = None) -> None:
        """Change a user's role or tenants or (de)activate them; unlocks a locked account too.

        Nobody changes their own role or tenants or switches themselves off.
        """
        if role is not None and role not in ROLES:
            raise AccountError(f"unknown role {role!r}", f"Kies een rol uit {', '.join(ROLES)}.")
        async with self.history.sessions.begin() as session:
            user = await session.scalar(select(User).where(User.name == name))
            if user is None:
                raise AccountError(f"no user named {name!r}", f"Er is geen gebruiker {name}.")
            changes: list[str] = []
            if role is not None and role != user.role:
                user.role = role
                changes.append(f"role={role}")
            if active is not None and active != user.active:
                user.active = active
                changes.append(f"active={active}")
            if scope is not None and scope.text != user.tenants:
                user.tenants = scope.text
                changes.append(f"tenants={scope.text}")
            if changes and name == actor:
                raise AccountError(
                    "you cannot change your own role or tenants or switch yourself off",
                    "Je eigen rol of gemeenten wijzigen of jezelf uitzetten kan niet.")
            user.failed_logins, user.locked_until = 0, None
            session.add(entry(actor, "user_changed", f"{name}: {', '.join(changes) or 'unlock'}"))
        if changes:
            await self._end_sessions(user.id)

    async def set_password(self, name: str, password: str, actor: str) -> None:
        """Give a user a new password (their own change, or an admin's reset); audited."""
        user = await self.named(name)
        if user is None:
            raise AccountError(f"no user named {name!r}", f"Er is geen gebruiker {name}.")
        hashed = await self._hash_strong(password, user.name)
        async with self.history.sessions.begin() as session:
            await session.execute(update(User).where(User.id == user.id).values(
                password_hash=hashed, failed_logins=0, locked_until=None))
            session.add(entry(actor, "password_changed" if actor == name else "password_reset",
                              name))
        await self._end_sessions(user.id)

    async def rename(self, name: str, display_name: str, actor: str) -> None:
        """Set the name citizens see for a user (empty: the login name again); audited."""
        shown = " ".join(display_name.split())
        if len(shown) > 64:
            raise AccountError("a display name has at most 64 characters",
                               "Een naam voor burgers heeft maximaal 64 tekens.")
        async with self.history.sessions.begin() as session:
            user = await session.scalar(select(User).where(User.name == name))
            if user is None:
                raise AccountError(f"no user named {name!r}", f"Er is geen gebruiker {name}.")
            user.display_name = shown or None
            session.add(entry(actor, "user_changed", f"{name}: display_name={shown!r}"))

    async def display_name(self, name: str) -> str:
        """Return the name citizens see for a staff member.

        That is the display name, else the login name with a capital (staff in the Telegram
        group have no account: theirs as well).
        """
        async with self.history.sessions() as session:
            shown = await session.scalar(select(User.display_name).where(User.name == name))
        return shown or name[:1].upper() + name[1:]

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

    async def named(self, name: str) -> User | None:
        """Return a user by name, or None."""
        async with self.history.sessions() as session:
            return await session.scalar(select(User).where(User.name == name.strip()))

    async def login(self, name: str, password: str, source: str) -> Login:
        """Check a password to log in; audited either way."""
        attempt = await self.check(name, password, source)
        if attempt.user:
            await self._audit(entry(f"{attempt.user.name}@{source}", "login"))
        return attempt

    async def check(self, name: str, password: str, source: str) -> Login:
        """Check a user's password; lock the account for a while after repeated failures.

        Every refusal costs one argon2 check, so an unknown name, a locked account and a
        wrong password take equally long. No transaction stays open during the check.
        """
        user = await self.named(name)
        if user is None or not user.active:
            await self.passwords.waste(password)
            await self._audit(entry(f"anonymous@{source}", "login_failed", name[:64]))
            log.warning("login refused: unknown or inactive user", extra={"source": source})
            return Login(None, "bad")
        actor = f"{user.name}@{source}"
        failures = await self._count_failure(user.id)
        if failures is None:
            await self.passwords.waste(password)
            await self._audit(entry(actor, "login_locked"))
            log.warning("login refused: locked", extra={"user": user.name, "source": source})
            return Login(None, "locked")
        if not await self.passwords.verify(user.password_hash, password):
            locked = failures >= MAX_FAILED_LOGINS
            await self._audit(entry(actor, "login_failed"),
                              *([entry(actor, "locked_out")] if locked else []))
            log.warning("login refused: wrong password", extra={
                "user": user.name, "source": source, "failures": failures})
            return Login(None, "bad")
        rehashed = (await self.passwords.hash(password)
                    if self.passwords.needs_rehash(user.password_hash) else user.password_hash)
        async with self.history.sessions.begin() as session:
            await session.execute(update(User).where(User.id == user.id).values(
                failed_logins=0, locked_until=None, password_hash=rehashed))
        return Login(user)

    async def _count_failure(self, user_id: int) -> int | None:
        """Count an attempt as failed before its check, in one UPDATE … RETURNING.

        Return the failures so far, or None while the account is locked. The attempt that
        reaches the limit locks the account; a right password undoes both. So however many
        attempts arrive at once, at most MAX_FAILED_LOGINS passwords are really checked.
        """
        now = datetime.now(UTC)
        failures = case((User.locked_until.is_(None), User.failed_logins + 1), else_=1)
        query = (update(User)
                 .where(User.id == user_id, (User.locked_until.is_(None))
                        | (User.locked_until <= now))
                 .values(failed_logins=failures,
                         locked_until=case((failures >= MAX_FAILED_LOGINS, now + LOCK_OUT),
                                           else_=None))
                 .returning(User.failed_logins))
        async with self.history.sessions.begin() as session:
            return await session.scalar(query)

    async def _end_sessions(self, user_id: int) -> None:
        if self.end_sessions is not None:
            await self.end_sessions(user_id)

    async def _hash_strong(self, password: str, name: str) -> str:
        refusal = weakness(password, name)
        if refusal:
            raise AccountError(*refusal)
        return await self.passwords.hash(password)

    async def _audit(self, *rows: Audit) -> None:
        async with self.history.sessions.begin() as session:
            session.add_all(rows)
