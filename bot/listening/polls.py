"""Polls to test policy, and thumbs up/down under answers: what citizens think, per intent."""

import csv
import io
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, Integer, String, Text, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from bot.history.cache import Refreshed
from bot.history.log import ID, Base, History
from bot.history.masking import mask
from bot.history.tenancy import ALL, EVERYTHING, Scope, tenant_column
from bot.types import Language

SCALE = [{"nl": str(n), "en": str(n)} for n in range(1, 6)]
CACHE_SECONDS = 10.0


class Poll(Base):
    """A short question with 2 to 5 options (or a 1 to 5 scale), optionally with a comment."""

    __tablename__ = "polls"

    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    question_nl: Mapped[str] = mapped_column(Text)
    question_en: Mapped[str] = mapped_column(Text)
    options: Mapped[list[dict[str, str]]] = mapped_column(JSON)
    free_text: Mapped[bool] = mapped_column(Boolean)
    topic: Mapped[str | None] = mapped_column(String(32))
    after_intent: Mapped[str | None] = mapped_column(String(64))
    active: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    tenant: Mapped[str] = tenant_column()  # `*`: for every tenant of the collaboration

    def question(self, language: Language) -> str:
        """Return the question in a language."""
        return self.question_en if language == "en" else self.question_nl

    def labels(self, language: Language) -> list[str]:
        """Return the option labels in a language."""
        return [option[language] for option in self.options]


class Vote(Base):
    """One citizen's answer to a poll: one per chat."""

    __tablename__ = "votes"

    poll_id: Mapped[int] = mapped_column(ID, primary_key=True)
    chat_id: Mapped[str] = mapped_column(String(80), primary_key=True)
    choice: Mapped[int] = mapped_column(Integer)
    intent: Mapped[str | None] = mapped_column(String(64))
    comment: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    tenant: Mapped[str] = tenant_column()  # the voter's


class AnswerFeedback(Base):
    """A thumbs up or down under an answer."""

    __tablename__ = "answer_feedback"

    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    chat_id: Mapped[str] = mapped_column(String(80))
    intent: Mapped[str] = mapped_column(String(64))
    useful: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    tenant: Mapped[str] = tenant_column()


@dataclass(frozen=True)
class Results:
    """Counts per option and the comments, grouped by the intent the citizen last asked about."""

    poll: Poll
    counts: list[int]
    comments: dict[str, list[str]]

    @property
    def total(self) -> int:
        """Return the number of votes."""
        return sum(self.counts)

    def chart(self, width: int = 30) -> str:
        """Draw the counts as a text bar chart."""
        top = max(self.counts) or 1
        labels = self.poll.labels("nl")
        pad = max(len(label) for label in labels)
        return "\n".join(
            f"{label:>{pad}} | {'█' * round(width * count / top):<{width}} {count}"
            for label, count in zip(labels, self.counts, strict=True)
        )


class Polls:
    """Creates polls, records votes (one per citizen) and feedback, and reports on them.

    A chat whose tenant is not known yet is the configured municipality's (`history.tenant`).
    """

    def __init__(self, history: History) -> None:
        self.history = history
        self._after = Refreshed(self._read_after, CACHE_SECONDS)

    async def create(
        self, question_nl: str, question_en: str, options: list[dict[str, str]] | None,
        free_text: bool = False, topic: str | None = None, after_intent: str | None = None,
        tenant: str = ALL,
    ) -> Poll:
        """Store a poll for one tenant or all (`*`); no options means a 1 to 5 scale."""
        options = options or SCALE
        if not 2 <= len(options) <= 5:
            raise ValueError("a poll has 2 to 5 options")
        poll = Poll(question_nl=question_nl, question_en=question_en, options=options,
                    free_text=free_text, topic=topic, after_intent=after_intent, active=True,
                    created_at=datetime.now(UTC), tenant=tenant)
        async with self.history.sessions.begin() as session:
            session.add(poll)
        self._after.clear()
        return poll

    async def get(self, poll_id: int) -> Poll | None:
        """Return a poll."""
        async with self.history.sessions() as session:
            return await session.get(Poll, poll_id)

    async def every(self, scope: Scope = EVERYTHING) -> list[tuple[Poll, int]]:
        """Return the scope's polls with their number of votes, newest first."""
        async with self.history.sessions() as session:
            rows = (await session.execute(
                select(Poll, func.count(Vote.chat_id)).outerjoin(Vote, Vote.poll_id == Poll.id)
                .where(scope.where(Poll.tenant))
                .group_by(Poll.id).order_by(Poll.id.desc()))).all()
        return [(poll, int(votes)) for poll, votes in rows]

    async def close(self, poll_id: int) -> bool:
        """Stop a poll taking votes and being asked; False if it is unknown or closed."""
        async with self.history.sessions.begin() as session:
            poll = await session.get(Poll, poll_id)
            if poll is None or not poll.active:
                return False
            poll.active = False
        self._after.clear()
        return True

    async def after(self, intent: str, tenant: str = "") -> Poll | None:
        """Return the newest active poll asked after answers of this intent in a tenant's chat.

        That is one of the tenant's polls, or one of the collaboration's.
        """
        asked = {tenant or self.history.tenant, ALL}
        found = [poll for poll in await self._after.get()
                 if poll.after_intent == intent and poll.tenant in asked]
        return found[-1] if found else None

    async def _read_after(self) -> list[Poll]:
        async with self.history.sessions() as session:
            return list((await session.scalars(
                select(Poll).where(Poll.active.is_(True), Poll.after_intent.is_not(None))
                .order_by(Poll.id)
            )).all())

    async def vote(self, poll_id: int, chat_id: str, choice: int, intent: str | None,
                   tenant: str = "") -> bool:
        """Record a vote; False for an unknown or closed poll, a bad choice, or a second vote."""
        poll = await self.get(poll_id)
        if poll is None or not poll.active or not 0 <= choice < len(poll.options):
            return False
        try:
            async with self.history.sessions.begin() as session:
                session.add(Vote(poll_id=poll_id, chat_id=chat_id, choice=choice, intent=intent,
                                 created_at=datetime.now(UTC),
                                 tenant=tenant or self.history.tenant))
        except IntegrityError:
            return False
        return True

    async def comment(self, poll_id: int, chat_id: str, text: str) -> None:
        """Add the citizen's free-text answer to their vote, masked."""
        async with self.history.sessions.begin() as session:
            vote = await session.get(Vote, (poll_id, chat_id))
            if vote is not None:
                vote.comment = mask(text)

    async def voted(self, poll_id: int, chat_id: str) -> bool:
        """Tell whether a chat has voted in a poll."""
        async with self.history.sessions() as session:
            return await session.get(Vote, (poll_id, chat_id)) is not None

    async def results(self, poll_id: int, scope: Scope = EVERYTHING) -> Results:
        """Count the votes of the scope's citizens per option and group the comments by intent."""
        poll = await self.get(poll_id)
        if poll is None:
            raise ValueError(f"no poll {poll_id}")
        async with self.history.sessions() as session:
            votes = (await session.scalars(select(Vote).where(
                Vote.poll_id == poll_id, scope.where(Vote.tenant)))).all()
        counts = [0] * len(poll.options)
        comments: dict[str, list[str]] = {}
        for vote in votes:
            counts[vote.choice] += 1
            if vote.comment:
                comments.setdefault(vote.intent or "-", []).append(vote.comment)
        return Results(poll, counts, comments)

    async def feedback(self, chat_id: str, intent: str, useful: bool, tenant: str = "") -> None:
        """Record a thumbs up or down for an answer in a tenant's chat."""
        async with self.history.sessions.begin() as session:
            session.add(AnswerFeedback(chat_id=chat_id, intent=intent, useful=useful,
                                       created_at=datetime.now(UTC),
                                       tenant=tenant or self.history.tenant))

    async def feedback_per_intent(self) -> dict[str, tuple[int, int]]:
        """Return (up, down) per intent."""
        async with self.history.sessions() as session:
            rows = await session.execute(
                select(AnswerFeedback.intent, AnswerFeedback.useful, func.count())
                .group_by(AnswerFeedback.intent, AnswerFeedback.useful))
        totals: dict[str, list[int]] = {}
        for intent, useful, count in rows:
            totals.setdefault(intent, [0, 0])[0 if useful else 1] += count
        return {intent: (up, down) for intent, (up, down) in sorted(totals.items())}


def to_csv(header: list[str], rows: list[list[Any]], delimiter: str = ",") -> str:
    """Write rows as CSV text."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()
