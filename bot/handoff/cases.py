"""Cases a citizen can ask the status of (objection, remission, payment arrangement), in SQL.

A case is found by its reference together with a second factor, the postcode and house number,
which is stored only as a digest. Wrong tries are counted per chat, so references cannot be
guessed: after `MAX_TRIES` in `TRY_WINDOW` a chat has to wait.
"""

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal, Protocol

from sqlalchemy import DateTime, Index, String, Text, delete, func, select
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlalchemy.orm import Mapped, mapped_column

from bot.history.log import ID, Base, Handoff, HandoffEvent
from bot.history.tenancy import EVERYTHING, Scope, tenant_column
from bot.state import keys

CaseKind = Literal["objection", "remission", "arrangement"]
STATUSES = ("received", "in_progress", "decided")
PREFIXES: dict[CaseKind, str] = {"objection": "BZ", "remission": "KW", "arrangement": "BR"}
# No 0/O, 1/I: easy to read aloud and to type; 32**6 is about a billion references per prefix.
ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
REFERENCE = re.compile(r"\b(BZ|KW|BR)[\s-]?([2-9A-HJ-NP-Z]{6})\b")
POSTCODE = re.compile(r"\b(\d{4})\s?([A-Z]{2})\b")
HOUSE_NUMBER = re.compile(r"\b(\d{1,5})\s?([A-Z]?)\b")
MAX_TRIES = 5
TASK_KINDS = ("task", "message", "callback")
TRY_WINDOW = timedelta(hours=1)


class Case(Base):
    """A case with its status; the address is kept only as a digest, to check the second factor."""

    __tablename__ = "cases"

    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    reference: Mapped[str] = mapped_column(String(16), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    address_digest: Mapped[str] = mapped_column(String(64))
    language: Mapped[str] = mapped_column(String(2))
    detail: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    tenant: Mapped[str] = tenant_column()


class CaseAttempt(Base):
    """A wrong try at a case status from one chat, named by `keys.digest` (kept after /vergeet)."""

    __tablename__ = "case_attempts"
    __table_args__ = (Index("ix_case_attempts_chat_at", "chat_id", "at"),)

    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    chat_id: Mapped[str] = mapped_column(String(80))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


@dataclass(frozen=True)
class Status:
    """What a citizen may hear about a case: no personal details."""

    reference: str
    kind: str
    status: str


def reference(text: str) -> str | None:
    """Read a reference like `BR-7K3M9Q` from what a citizen typed; None if there is none."""
    match = REFERENCE.search(text.upper())
    return f"{match.group(1)}-{match.group(2)}" if match else None


def address(text: str) -> str | None:
    """Read a postcode and house number (`1234 AB 5a`) as `1234AB 5A`; None if not both."""
    upper = text.upper()
    postcode = POSTCODE.search(upper)
    if not postcode:
        return None
    rest = upper[:postcode.start()] + " " + upper[postcode.end():]
    number = HOUSE_NUMBER.search(rest)
    if not number:
        return None
    return f"{postcode.group(1)}{postcode.group(2)} {number.group(1)}{number.group(2)}"


def _digest(reference: str, address: str) -> str:
    return hashlib.sha256(f"{reference}|{address}".encode()).hexdigest()


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)  # SQLite keeps no zone


def _now() -> datetime:
    return datetime.now(UTC)


class CaseBackend(Protocol):
    """Where case statuses come from: Balie's own table, or a tax system behind an adapter."""

    async def find(self, reference: str, address: str) -> Status | None:
        """Return the status of a case, if the reference and the address match."""

    async def create(self, kind: CaseKind, address: str, language: str,
                     detail: str | None = None, tenant: str = "") -> str:
        """Store a new case (of `tenant`, by default the configured one); return its reference."""


class SqlCases:
    """The reference `CaseBackend`: the `cases` table, plus the wrong tries per chat.

    A case or task without a tenant is `tenant`'s, the configured municipality's.
    """

    def __init__(self, engine: AsyncEngine, tenant: str = "") -> None:
        self.sessions = async_sessionmaker(engine, expire_on_commit=False)
        self.tenant = tenant

    async def find(self, reference: str, address: str) -> Status | None:
        """Return the status of a case, if the reference and the address match."""
        async with self.sessions() as session:
            case = await session.scalar(select(Case).where(Case.reference == reference))
        if case is None or not secrets.compare_digest(
                case.address_digest, _digest(reference, address)):
            return None
        return Status(case.reference, case.kind, case.status)

    async def create(self, kind: CaseKind, address: str, language: str,
                     detail: str | None = None, tenant: str = "",
                     status: str = "received") -> str:
        """Store a new case under a fresh reference; return the reference."""
        code = f"{PREFIXES[kind]}-{''.join(secrets.choice(ALPHABET) for _ in range(6))}"
        now = _now()
        async with self.sessions.begin() as session:
            session.add(Case(reference=code, kind=kind, status=status, language=language,
                             address_digest=_digest(code, address), detail=detail,
                             created_at=now, updated_at=now, tenant=tenant or self.tenant))
        return code

    async def set_status(self, reference: str, status: str) -> None:
        """Move a case on (for staff and for tests)."""
        if status not in STATUSES:
            raise ValueError(f"unknown status {status!r}, not one of {STATUSES}")
        async with self.sessions.begin() as session:
            case = await session.scalar(select(Case).where(Case.reference == reference))
            if case is None:
                raise KeyError(reference)
            case.status, case.updated_at = status, _now()

    async def task(self, chat_id: str, language: str, reason: str | None, note: str,
                   kind: str = "task", tenant: str = "") -> int:
        """Put a request for staff in the queue as a non-live task; return its handoff id.

        A task is a payment arrangement request (`task`) or what a citizen left out of hours
        (`message`, `callback`); staff handle it without taking over the chat.
        """
        now = _now()
        async with self.sessions.begin() as session:
            case = Handoff(chat_id=chat_id, kind=kind, language=language, reason=reason,
                           note=note, queued_at=now, outcome="open",
                           tenant=tenant or self.tenant)
            session.add(case)
            await session.flush()
            session.add(HandoffEvent(handoff_id=case.id, event="queued", actor="citizen", at=now))
        return case.id

    async def tasks(self, scope: Scope = EVERYTHING) -> list[Handoff]:
        """Return the open non-live tasks of the scope's tenants, oldest first."""
        async with self.sessions() as session:
            query = (select(Handoff).where(Handoff.kind.in_(TASK_KINDS),
                                           Handoff.outcome == "open", scope.where(Handoff.tenant))
                     .order_by(Handoff.queued_at))
            return list((await session.scalars(query)).all())

    async def finish_task(self, task_id: int, actor: str,
                          scope: Scope = EVERYTHING) -> str | None:
        """Mark an open task of the scope done; return its chat, None when there is none."""
        return await self._end_task(task_id, actor, "done", scope)

    async def withdraw(self, chat_id: str, kinds: tuple[str, ...]) -> list[int]:
        """The citizen takes back their open tasks of these kinds; return which they were."""
        async with self.sessions() as session:
            ids = list((await session.scalars(select(Handoff.id).where(
                Handoff.chat_id == chat_id, Handoff.kind.in_(kinds),
                Handoff.outcome == "open"))).all())
        for task_id in ids:
            await self._end_task(task_id, "citizen", "withdrawn")
        return ids

    async def _end_task(self, task_id: int, actor: str, outcome: str,
                        scope: Scope = EVERYTHING) -> str | None:
        now = _now()
        async with self.sessions.begin() as session:
            task = await session.get(Handoff, task_id)
            if (task is None or task.kind not in TASK_KINDS or task.outcome != "open"
                    or not scope.allows(task.tenant)):
                return None
            task.outcome, task.closed_at = outcome, now
            if outcome == "done":
                task.agent_name = actor
                task.handled_seconds = round((now - _aware(task.queued_at)).total_seconds(), 3)
            session.add(HandoffEvent(handoff_id=task.id, event=outcome, actor=actor, at=now))
            return task.chat_id

    async def wrong_tries(self, chat_id: str) -> tuple[int, datetime | None]:
        """Return the wrong tries of a chat in the window, and when the oldest of them expires."""
        since = _now() - TRY_WINDOW
        async with self.sessions.begin() as session:
            await session.execute(delete(CaseAttempt).where(CaseAttempt.at < since))
            count, oldest = (await session.execute(
                select(func.count(), func.min(CaseAttempt.at)).where(
                    CaseAttempt.chat_id == keys.digest(chat_id), CaseAttempt.at >= since))).one()
        if oldest is not None and oldest.tzinfo is None:
            oldest = oldest.replace(tzinfo=UTC)  # SQLite keeps no time zone
        return int(count), oldest + TRY_WINDOW if oldest else None

    async def wrong_try(self, chat_id: str) -> None:
        """Count a wrong try of a chat."""
        async with self.sessions.begin() as session:
            session.add(CaseAttempt(chat_id=keys.digest(chat_id), at=_now()))

