"""Announcements tied to current events, and the citizens who subscribed to a topic."""

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Boolean, DateTime, String, Text, delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped, mapped_column

from bot.history.cache import Refreshed
from bot.history.log import ID, Base, History
from bot.history.tenancy import ALL, EVERYTHING, Scope, tenant_column
from bot.nlu.content import Topic
from bot.types import Language

CACHE_SECONDS = 10.0


class Announcement(Base):
    """A supervisor's message, valid for a while, shown in answers and/or broadcast."""

    __tablename__ = "announcements"

    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    topic: Mapped[str | None] = mapped_column(String(32))
    text_nl: Mapped[str] = mapped_column(Text)
    text_en: Mapped[str] = mapped_column(Text)
    valid_from: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    valid_until: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    inline: Mapped[bool] = mapped_column(Boolean)
    created_by: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    tenant: Mapped[str] = tenant_column()  # `*`: for every tenant of the collaboration

    def text(self, language: Language) -> str:
        """Return the text in a language."""
        return self.text_en if language == "en" else self.text_nl


class Subscription(Base):
    """A citizen's chat subscribed to a topic."""

    __tablename__ = "subscriptions"

    chat_id: Mapped[str] = mapped_column(String(80), primary_key=True)
    topic: Mapped[str] = mapped_column(String(32), primary_key=True)
    language: Mapped[str] = mapped_column(String(2))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    tenant: Mapped[str] = tenant_column()


@dataclass(frozen=True)
class Shown:
    """An announcement as shown under answers: its topic's intents and its texts."""

    intents: frozenset[str] | None
    texts: dict[Language, str]


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class Newsroom:
    """Creates announcements, finds the ones to show with an answer, keeps subscriptions.

    A chat whose tenant is not known yet is the configured municipality's (`history.tenant`).
    """

    def __init__(self, history: History, topics: dict[str, Topic]) -> None:
        self.history = history
        self.topics = topics
        self._inline = Refreshed(self._read_inline, CACHE_SECONDS)

    def _check(self, topic: str | None, valid_from: datetime, valid_until: datetime) -> None:
        if topic is not None and topic not in self.topics:
            raise ValueError(f"unknown topic {topic!r}; known: {', '.join(self.topics)}")
        if valid_until <= valid_from:
            raise ValueError("an announcement must end after it starts")

    async def announce(
        self, text_nl: str, text_en: str, valid_from: datetime, valid_until: datetime,
        topic: str | None, inline: bool, created_by: str, tenant: str = ALL,
    ) -> Announcement:
        """Store an announcement for one tenant, or for all of them (`*`)."""
        self._check(topic, valid_from, valid_until)
        announcement = Announcement(
            topic=topic, text_nl=text_nl, text_en=text_en, valid_from=valid_from,
            valid_until=valid_until, inline=inline, created_by=created_by,
            created_at=datetime.now(UTC), tenant=tenant,
        )
        async with self.history.sessions.begin() as session:
            session.add(announcement)
        self._inline.clear()
        return announcement

    async def get(self, announcement_id: int) -> Announcement | None:
        """Return an announcement."""
        async with self.history.sessions() as session:
            return await session.get(Announcement, announcement_id)

    async def change(
        self, announcement_id: int, text_nl: str, text_en: str, valid_from: datetime,
        valid_until: datetime, topic: str | None, inline: bool,
    ) -> bool:
        """Change an announcement's texts, period, topic and place; False if there is none."""
        self._check(topic, valid_from, valid_until)
        async with self.history.sessions.begin() as session:
            announcement = await session.get(Announcement, announcement_id)
            if announcement is None:
                return False
            announcement.text_nl, announcement.text_en = text_nl, text_en
            announcement.valid_from, announcement.valid_until = valid_from, valid_until
            announcement.topic, announcement.inline = topic, inline
        self._inline.clear()
        return True

    async def withdraw(self, announcement_id: int) -> bool:
        """End an announcement now (one that had not started never starts); False if none."""
        now = datetime.now(UTC)
        async with self.history.sessions.begin() as session:
            announcement = await session.get(Announcement, announcement_id)
            if announcement is None or _aware(announcement.valid_until) <= now:
                return False
            announcement.valid_from = min(_aware(announcement.valid_from), now)
            announcement.valid_until = now
        self._inline.clear()
        return True

    async def upcoming(self, scope: Scope = EVERYTHING) -> list[Announcement]:
        """Return the scope's announcements that are valid now or later, soonest first."""
        async with self.history.sessions() as session:
            return list((await session.scalars(
                select(Announcement).where(Announcement.valid_until > datetime.now(UTC),
                                           scope.where(Announcement.tenant))
                .order_by(Announcement.valid_from, Announcement.id)
            )).all())

    async def _read_inline(self) -> list[Announcement]:
        async with self.history.sessions() as session:
            return list((await session.scalars(
                select(Announcement).where(Announcement.inline.is_(True))
                .where(Announcement.valid_until > datetime.now(UTC))
                .order_by(Announcement.id)
            )).all())

    async def for_answer(self, intent: str, language: Language, at: datetime,
                         tenant: str = "") -> list[str]:
        """Return the texts of announcements valid at `at` whose topic covers this intent.

        Those are the chat's tenant's and the collaboration's.
        """
        texts = []
        shown = {tenant or self.history.tenant, ALL}
        for announcement in await self._inline.get():
            if announcement.tenant not in shown or not (
                    _aware(announcement.valid_from) <= at < _aware(announcement.valid_until)):
                continue
            topic = self.topics.get(announcement.topic or "")
            if topic is None or intent in topic.intents:
                texts.append(announcement.text(language))
        return texts

    async def subscribe(self, chat_id: str, topic: str, language: Language,
                        tenant: str = "") -> None:
        """Subscribe a chat of a tenant to a topic (again is fine)."""
        tenant = tenant or self.history.tenant
        values = {"chat_id": chat_id, "topic": topic, "language": language,
                  "created_at": datetime.now(UTC), "tenant": tenant}
        dialect = self.history.engine.dialect.name
        insert = pg_insert if dialect == "postgresql" else sqlite_insert
        statement = insert(Subscription).values(**values)
        statement = statement.on_conflict_do_update(
            index_elements=["chat_id", "topic"], set_={"language": language, "tenant": tenant})
        async with self.history.sessions.begin() as session:
            await session.execute(statement)

    async def unsubscribe(self, chat_id: str, topic: str | None = None) -> None:
        """Unsubscribe a chat from one topic, or from everything."""
        query = delete(Subscription).where(Subscription.chat_id == chat_id)
        if topic is not None:
            query = query.where(Subscription.topic == topic)
        async with self.history.sessions.begin() as session:
            await session.execute(query)

    async def subscribed(self, chat_id: str) -> set[str]:
        """Return the topics a chat is subscribed to."""
        async with self.history.sessions() as session:
            rows = await session.scalars(
                select(Subscription.topic).where(Subscription.chat_id == chat_id))
            return set(rows.all())
