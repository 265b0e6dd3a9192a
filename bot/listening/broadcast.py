"""Broadcasts to subscribers: within the shared send budget, resumable after a crash.

Creating a broadcast fixes its recipients (one `deliveries` row each, status pending). The
worker takes them in order. Before each send a row becomes `sending`, afterwards `sent`,
`blocked` (the citizen blocked the bot: they are unsubscribed) or `failed`. A crash leaves at
most the rows that were being sent as `sending`. A resumed run marks them `in_doubt` and does
not send them again: Telegram cannot tell whether they arrived, and a citizen must not get a
message twice. Everything still `pending` is sent. Each send takes from the budget the workers'
answers use (`bot.intake.budget`), up to the broadcast's ceiling per second.
"""

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import DateTime, Integer, String, func, select, update
from sqlalchemy.orm import Mapped, mapped_column

from bot.history.log import ID, Base, History
from bot.history.tenancy import ALL, tenant_column
from bot.intake.budget import RateLimit
from bot.listening.announcements import Newsroom, Subscription

BATCH = 200


class Broadcast(Base):
    """An announcement or poll sent to the subscribers of a topic (or all subscribers)."""

    __tablename__ = "broadcasts"

    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    announcement_id: Mapped[int | None] = mapped_column(ID)
    poll_id: Mapped[int | None] = mapped_column(ID)
    topic: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    tenant: Mapped[str] = tenant_column()  # whose subscribers; `*`: everyone's


class Delivery(Base):
    """One recipient of a broadcast and how far their message got."""

    __tablename__ = "deliveries"

    broadcast_id: Mapped[int] = mapped_column(ID, primary_key=True)
    chat_id: Mapped[str] = mapped_column(String(80), primary_key=True)
    language: Mapped[str] = mapped_column(String(2))
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Blocked(Exception):
    """The citizen blocked the bot (Telegram answers 403)."""


class RetryLater(Exception):
    """Telegram asks to wait before sending again (429 with retry_after)."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"retry after {seconds} s")
        self.seconds = seconds


Send = Callable[[str, str], Awaitable[None]]
Progress = Callable[[dict[str, int]], None]


@dataclass(frozen=True)
class Report:
    """How a broadcast run ended: counts per status, and its sends per second of the budget."""

    broadcast: int
    counts: dict[str, int]
    seconds: float
    retries: int
    per_second: Counter[int]

    @property
    def rate(self) -> float:
        """Return the messages sent per second in this run."""
        return self.counts.get("sent_now", 0) / self.seconds if self.seconds else 0.0

    @property
    def peak(self) -> int:
        """Return the most sends the budget counted in one second of this run."""
        return max(self.per_second.values(), default=0)


class Broadcaster:
    """Creates broadcasts and runs (or resumes) them."""

    def __init__(self, history: History, newsroom: Newsroom) -> None:
        self.history = history
        self.newsroom = newsroom

    async def create(
        self, topic: str | None, announcement_id: int | None = None, poll_id: int | None = None,
        tenant: str = ALL,
    ) -> int:
        """Fix the recipients: a tenant's (or everyone's) subscribers of the topic, or of any."""
        async with self.history.sessions.begin() as session:
            broadcast = Broadcast(announcement_id=announcement_id, poll_id=poll_id, topic=topic,
                                  created_at=datetime.now(UTC), tenant=tenant)
            session.add(broadcast)
            await session.flush()
            query = select(Subscription.chat_id, func.min(Subscription.language)).group_by(
                Subscription.chat_id)
            if topic is not None:
                query = query.where(Subscription.topic == topic)
            if tenant != ALL:
                query = query.where(Subscription.tenant == tenant)
            for chat_id, language in (await session.execute(query)).all():
                session.add(Delivery(broadcast_id=broadcast.id, chat_id=chat_id,
                                     language=language, status="pending", attempts=0))
            return broadcast.id

    async def get(self, broadcast_id: int) -> Broadcast | None:
        """Return a broadcast."""
        async with self.history.sessions() as session:
            return await session.get(Broadcast, broadcast_id)

    async def unfinished(self) -> list[int]:
        """Return the broadcasts that still have recipients to send to."""
        async with self.history.sessions() as session:
            rows = await session.scalars(select(Broadcast.id).where(
                Broadcast.finished_at.is_(None)).order_by(Broadcast.id))
            return list(rows.all())

    async def counts(self, broadcast_id: int) -> dict[str, int]:
        """Return the number of recipients per status."""
        async with self.history.sessions() as session:
            rows = await session.execute(
                select(Delivery.status, func.count()).where(
                    Delivery.broadcast_id == broadcast_id).group_by(Delivery.status))
            return {status: count for status, count in rows.all()}

    async def _set(self, broadcast_id: int, chat_id: str, status: str, **values: object) -> None:
        async with self.history.sessions.begin() as session:
            await session.execute(update(Delivery).where(
                Delivery.broadcast_id == broadcast_id, Delivery.chat_id == chat_id,
            ).values(status=status, **values))

    async def run(
        self, broadcast_id: int, send: Send, budget: RateLimit, ceiling: int,
        progress: Progress | None = None, max_attempts: int = 3,
    ) -> Report:
        """Send to every pending recipient, at most `ceiling` sends a second of the budget.

        Safe to call again after a crash.
        """
        async with self.history.sessions.begin() as session:
            await session.execute(update(Delivery).where(
                Delivery.broadcast_id == broadcast_id, Delivery.status == "sending",
            ).values(status="in_doubt"))
        started, sent_now, retries, per_second = time.monotonic(), 0, 0, Counter[int]()
        while True:
            async with self.history.sessions() as session:
                batch = (await session.execute(select(Delivery.chat_id, Delivery.language).where(
                    Delivery.broadcast_id == broadcast_id, Delivery.status == "pending",
                ).order_by(Delivery.chat_id).limit(BATCH))).all()
            if not batch:
                break
            for chat_id, language in batch:
                attempts = 0
                await self._set(broadcast_id, chat_id, "sending")
                while True:
                    second = await budget.acquire(ceiling)
                    per_second[second] += 1
                    attempts += 1
                    try:
                        await send(chat_id, language)
                        status = "sent"
                        sent_now += 1
                    except Blocked:
                        status = "blocked"
                        await self.newsroom.unsubscribe(chat_id)
                    except RetryLater as wait:
                        retries += 1
                        await budget.pause(wait.seconds)  # answers hold their sends too
                        continue
                    except Exception:
                        if attempts < max_attempts:
                            await asyncio.sleep(attempts)
                            continue
                        status = "failed"
                    break
                await self._set(broadcast_id, chat_id, status, attempts=attempts,
                                sent_at=datetime.now(UTC) if status == "sent" else None)
                if progress:
                    progress({"sent_now": sent_now})
        async with self.history.sessions.begin() as session:
            await session.execute(update(Broadcast).where(Broadcast.id == broadcast_id)
                                  .values(finished_at=datetime.now(UTC)))
        counts = await self.counts(broadcast_id) | {"sent_now": sent_now}
        return Report(broadcast_id, counts, time.monotonic() - started, retries, per_second)
