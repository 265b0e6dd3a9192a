"""The conversation log in SQL: every inbound and outbound message, masked before it is stored.

A turn's rows go through the write-behind queue in Redis (bot.history.backlog) when the
History has one (every `Services` gives it one); reads of a chat write what is queued first.
"""

import asyncio
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from alembic import command
from alembic.config import Config
from sqlalchemy import (
    BigInteger,
    DateTime,
    Float,
    Index,
    Integer,
    String,
    Text,
    event,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from bot.history.masking import NOTHING, Keep, mask
from bot.history.tenancy import tenant_column

if TYPE_CHECKING:
    from bot.history.backlog import Backlog

MIGRATIONS = Path(__file__).parent / "migrations"
# SQLite only auto-increments an INTEGER primary key; PostgreSQL gets a BIGINT.
ID = BigInteger().with_variant(Integer, "sqlite")
# A citizen's answer to a form's question ("3000", a BSN) is logged as intent `form:<form>`:
# an answer, not a question, so it is not counted as what citizens asked.
FORM_ANSWER = "form:"


class Base(DeclarativeBase):
    """Declarative base of Balie's tables."""


class Message(Base):
    """One message in or out of a conversation."""

    __tablename__ = "messages"
    __table_args__ = (Index("ix_messages_chat_created", "chat_id", "created_at"),)

    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    chat_id: Mapped[str] = mapped_column(String(80))
    channel: Mapped[str] = mapped_column(String(16))
    direction: Mapped[str] = mapped_column(String(3))
    kind: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text)
    language: Mapped[str | None] = mapped_column(String(2))
    intent: Mapped[str | None] = mapped_column(String(64), index=True)
    confidence: Mapped[float | None] = mapped_column(Float)
    latency_ms: Mapped[float | None] = mapped_column(Float)
    update_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    # Made when a turn's rows are queued: a batch written twice adds nothing the second time.
    row_key: Mapped[str | None] = mapped_column(String(24), index=True, unique=True)
    tenant: Mapped[str] = tenant_column()


@dataclass(frozen=True)
class Entry:
    """A message to record; its text is masked on the way in."""

    chat_id: str
    channel: str
    direction: str
    kind: str
    text: str
    language: str | None = None
    intent: str | None = None
    confidence: float | None = None
    latency_ms: float | None = None
    update_id: int | None = None
    tenant: str = ""


def _sqlite_pragmas(connection: Any, _: Any) -> None:
    """Write-ahead logging: readers don't wait for the writer, and commits need no full sync."""
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _upgrade(connection: Connection, tenant: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    config.attributes["tenant"] = tenant  # whose the rows are that predate tenants
    command.upgrade(config, "head")


POOL_SIZE = 16
POOL_OVERFLOW = 8
# Longer texts are masked in a worker thread, so the event loop goes on serving meanwhile.
MASK_IN_THREAD_CHARS = 2000


class History:
    """Writes and reads the conversation log; an entry without a tenant is `tenant`'s."""

    def __init__(self, engine: AsyncEngine, keep: Keep = NOTHING, tenant: str = "") -> None:
        self.engine = engine
        self.keep = keep
        self.tenant = tenant
        self.sessions = async_sessionmaker(engine, expire_on_commit=False)
        self.backlog: Backlog | None = None

    @classmethod
    async def open(cls, url: str, keep: Keep = NOTHING, tenant: str = "") -> "History":
        """Connect and bring the schema up to date with the migrations.

        `tenant` is the configured municipality: rows from before tenants become its own.
        """
        sqlite = url.startswith("sqlite")
        # A worker's lanes log at the same time: room for them, so no connection is opened
        # and closed per message.
        pool = {} if sqlite else {"pool_size": POOL_SIZE, "max_overflow": POOL_OVERFLOW}
        engine = create_async_engine(url, pool_pre_ping=True, **pool)
        if sqlite:
            Path(url.split("///", 1)[1]).parent.mkdir(parents=True, exist_ok=True)
            event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        try:
            async with engine.begin() as connection:
                await connection.run_sync(_upgrade, tenant)
        except BaseException:
            await engine.dispose()
            raise
        return cls(engine, keep, tenant)

    async def close(self) -> None:
        """Release the connections."""
        await self.engine.dispose()

    async def log(self, entries: list[Entry]) -> None:
        """Log a turn's messages masked: queued, or stored at once when there is no queue."""
        if self.backlog is None:
            await self.record(entries)
        else:
            await self.backlog.write(entries)

    async def settle(self) -> None:
        """Write the rows still queued, so that what is read next includes them."""
        if self.backlog is not None:
            await self.backlog.flush()

    async def record(self, entries: list[Entry], at: datetime | None = None) -> None:
        """Store messages with personal data masked (at `at`, by default now)."""
        await self.store(await self.masked(entries), at)

    async def masked(self, entries: list[Entry]) -> list[Entry]:
        """Return the entries with personal data masked, long texts in a worker thread."""
        if sum(len(entry.text) for entry in entries) <= MASK_IN_THREAD_CHARS:
            return self._masked(entries)
        return await asyncio.to_thread(self._masked, entries)

    def _masked(self, entries: list[Entry]) -> list[Entry]:
        return [replace(entry, text=mask(entry.text, self.keep)) for entry in entries]

    async def store(self, entries: list[Entry], at: datetime | None = None) -> None:
        """Store messages whose texts are masked already (at `at`, by default now)."""
        now = at or datetime.now(UTC)
        await self.insert([{**entry.__dict__, "created_at": now} for entry in entries])

    async def insert(self, rows: list[dict[str, Any]]) -> None:
        """Insert message rows in one statement, skipping those whose `row_key` is there."""
        dialect = postgresql if self.engine.dialect.name == "postgresql" else sqlite
        rows = [{**row, "tenant": row.get("tenant") or self.tenant} for row in rows]
        # Rows as parameters of one statement, compiled once and cached: SQLAlchemy sends them
        # as one INSERT with all rows ("insertmanyvalues"), atomic by itself, so no BEGIN and
        # COMMIT round trips.
        statement = dialect.insert(Message.__table__).on_conflict_do_nothing()
        async with self.engine.connect() as connection:
            autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
            await autocommit.execute(statement, rows)

    async def conversation(self, chat_id: str) -> list[Message]:
        """Return a chat's messages, oldest first, queued ones included."""
        await self.settle()
        async with self.sessions() as session:
            query = select(Message).where(Message.chat_id == chat_id).order_by(Message.id)
            return list((await session.scalars(query)).all())


class Handoff(Base):
    """One request for a person: from queueing to hand-back, with its times and rating."""

    __tablename__ = "handoffs"

    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    chat_id: Mapped[str] = mapped_column(String(80), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    language: Mapped[str] = mapped_column(String(2))
    reason: Mapped[str | None] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(Text)
    queued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    agent_id: Mapped[str | None] = mapped_column(String(64))
    agent_name: Mapped[str | None] = mapped_column(String(128))
    outcome: Mapped[str] = mapped_column(String(16))
    waited_seconds: Mapped[float | None] = mapped_column(Float)
    handled_seconds: Mapped[float | None] = mapped_column(Float)
    rating: Mapped[int | None] = mapped_column(Integer)
    comment: Mapped[str | None] = mapped_column(Text)
    tenant: Mapped[str] = tenant_column()


class HandoffEvent(Base):
    """One transition of a handoff, or a refused attempt, with who did it and when."""

    __tablename__ = "handoff_events"

    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    handoff_id: Mapped[int] = mapped_column(BigInteger, index=True)
    event: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(128))
    detail: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
