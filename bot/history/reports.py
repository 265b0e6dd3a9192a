"""What supervisors read: the conversation log searched and filtered, and the week in numbers."""

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from statistics import median
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, distinct, exists, func, select
from sqlalchemy.orm import aliased

from bot.history.log import FORM_ANSWER, Handoff, History, Message
from bot.history.tenancy import EVERYTHING, Scope
from bot.listening.polls import AnswerFeedback, Vote

PAGE = 200
EXPORT_LIMIT = 50_000
TOP_INTENTS = 10


@dataclass(frozen=True)
class LogFilter:
    """A search of the citizens' messages; empty fields do not filter."""

    text: str = ""
    start: date | None = None
    end: date | None = None
    channel: str = ""
    language: str = ""
    intent: str = ""
    low_confidence: bool = False
    fallback: bool = False
    handed_off: bool = False
    low_rating: bool = False


@dataclass(frozen=True)
class Row:
    """One citizen message as the log lists it (text masked when it was stored)."""

    id: int
    chat_id: str
    channel: str
    language: str | None
    intent: str | None
    confidence: float | None
    text: str
    created_at: datetime


@dataclass
class Dashboard:
    """The numbers of a period, per day and in total."""

    days: list[date]
    conversations: list[int]
    messages: list[int]
    top_intents: list[tuple[str, int]]
    turns: int = 0
    fallbacks: int = 0
    handoffs: int = 0
    median_wait_s: float | None = None
    median_handling_s: float | None = None
    average_rating: float | None = None
    useful: tuple[int, int] = (0, 0)
    unhelpful: list[tuple[str, int, int]] = field(default_factory=list)
    total_conversations: int = 0
    not_understood: list[Row] = field(default_factory=list)

    @property
    def fallback_rate(self) -> float:
        """Return the share of the citizens' turns Balie did not understand."""
        return self.fallbacks / self.turns if self.turns else 0.0

    @property
    def handoff_rate(self) -> float:
        """Return the share of conversations handed to a person."""
        return self.handoffs / self.total_conversations if self.total_conversations else 0.0


@dataclass(frozen=True)
class TenantNumbers:
    """One tenant's period, to compare with the others'."""

    tenant: str
    questions: int = 0
    fallbacks: int = 0
    handoffs: int = 0
    ratings: int = 0
    average_rating: float | None = None

    @property
    def fallback_rate(self) -> float:
        """Return the share of the citizens' turns Balie did not understand."""
        return self.fallbacks / self.questions if self.questions else 0.0


def _escaped(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _conditions(search: LogFilter, threshold: float, zone: ZoneInfo,
                scope: Scope) -> list[ColumnElement[bool]]:
    """The search in the scope's tenants as SQL; its days are the municipality's days."""
    conditions: list[ColumnElement[bool]] = [Message.direction == "in",
                                             scope.where(Message.tenant)]
    if search.text:
        conditions.append(Message.text.ilike(f"%{_escaped(search.text)}%", escape="\\"))
    if search.start:
        conditions.append(Message.created_at >= _midnight(search.start, zone))
    if search.end:
        conditions.append(Message.created_at < _midnight(search.end + timedelta(days=1), zone))
    for column, value in ((Message.channel, search.channel), (Message.language, search.language),
                          (Message.intent, search.intent)):
        if value:
            conditions.append(column == value)
    if search.low_confidence:
        conditions.append(Message.confidence < threshold)
    if search.fallback:
        reply = aliased(Message)
        # The replies of a turn are stored with the message, at the same moment.
        conditions.append(exists().where(and_(
            reply.chat_id == Message.chat_id, reply.created_at == Message.created_at,
            reply.direction == "out", reply.kind == "fallback")))
    if search.handed_off:
        conditions.append(Message.chat_id.in_(select(Handoff.chat_id)))
    if search.low_rating:
        conditions.append(Message.chat_id.in_(select(Handoff.chat_id).where(Handoff.rating <= 2)))
    return conditions


def _midnight(day: date, zone: ZoneInfo) -> datetime:
    """Return the start of a day on the municipality's clock, in UTC (as stored)."""
    return datetime.combine(day, time(), zone).astimezone(UTC)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)  # SQLite keeps no zone


def csv_safe(value: object) -> str:
    """Keep a spreadsheet from running a cell of citizen text as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in {"=", "+", "-", "@", "\t", "\r"} else text


def _row(message: Message) -> Row:
    return Row(message.id, message.chat_id, message.channel, message.language, message.intent,
               message.confidence, message.text, message.created_at)


class Reports:
    """Reads the log for the supervisor's pages."""

    def __init__(self, history: History, threshold: float, zone: ZoneInfo) -> None:
        self.history = history
        self.threshold = threshold
        self.zone = zone

    async def search(self, search: LogFilter, scope: Scope = EVERYTHING,
                     limit: int = PAGE) -> list[Row]:
        """Return the newest citizen messages of the scope's tenants that match, up to `limit`."""
        query = (select(Message).where(*_conditions(search, self.threshold, self.zone, scope))
                 .order_by(Message.id.desc()).limit(limit))
        await self.history.settle()
        async with self.history.sessions() as session:
            return [_row(message) for message in (await session.scalars(query)).all()]

    async def intents(self, scope: Scope = EVERYTHING) -> list[str]:
        """Return the intents that occur in the scope's log, for the filter's choices."""
        query = select(Message.intent).where(Message.intent.is_not(None),
                                             scope.where(Message.tenant)).distinct()
        await self.history.settle()
        async with self.history.sessions() as session:
            return sorted(str(intent) for intent in (await session.scalars(query)).all())

    def _first(self, days: int, today: date | None) -> date:
        """Return the first of the last `days` days (today included), the municipality's days."""
        return (today or datetime.now(self.zone).date()) - timedelta(days=days - 1)

    async def dashboard(self, days: int, scope: Scope = EVERYTHING,
                        today: date | None = None) -> Dashboard:
        """Count the scope's last `days` days (today included) of the municipality's calendar."""
        first = self._first(days, today)
        since = _midnight(first, self.zone)
        await self.history.settle()
        async with self.history.sessions() as session:
            inbound = (await session.execute(
                select(Message.chat_id, Message.created_at, Message.intent, Message.kind,
                       Message.confidence)
                .where(Message.direction == "in", Message.created_at >= since,
                       scope.where(Message.tenant)))).all()
            fallbacks = int(await session.scalar(select(func.count()).select_from(Message).where(
                Message.direction == "out", Message.kind == "fallback",
                Message.created_at >= since, scope.where(Message.tenant))) or 0)
            handoffs = (await session.execute(
                select(Handoff.chat_id, Handoff.waited_seconds, Handoff.handled_seconds,
                       Handoff.rating).where(Handoff.queued_at >= since,
                                             scope.where(Handoff.tenant)))).all()
            feedback = (await session.execute(
                select(AnswerFeedback.intent, AnswerFeedback.useful)
                .where(AnswerFeedback.created_at >= since,
                       scope.where(AnswerFeedback.tenant)))).all()
        calendar = [first + timedelta(days=offset) for offset in range(days)]
        per_day: dict[date, set[str]] = {day: set() for day in calendar}
        messages: Counter[date] = Counter()
        for chat_id, created_at, *_ in inbound:
            day = _aware(created_at).astimezone(self.zone).date()
            if day in per_day:
                per_day[day].add(chat_id)
                messages[day] += 1
        # Only what Balie understood counts as asked; the rest is under "not understood", and
        # an answer to a form's question is no question.
        intents = Counter(intent for _, _, intent, kind, confidence in inbound
                          if intent and kind == "text" and (confidence or 0) >= self.threshold
                          and not intent.startswith(FORM_ANSWER))
        waits = [w for _, w, _, _ in handoffs if w is not None]
        handled = [h for _, _, h, _ in handoffs if h is not None]
        ratings = [r for _, _, _, r in handoffs if r is not None]
        thumbs: dict[str, list[int]] = {}
        for intent, useful in feedback:
            thumbs.setdefault(intent, [0, 0])[0 if useful else 1] += 1
        unhelpful = sorted(((intent, up, down) for intent, (up, down) in thumbs.items() if down),
                           key=lambda item: (-item[2], item[0]))[:TOP_INTENTS]
        return Dashboard(
            days=calendar,
            conversations=[len(per_day[day]) for day in calendar],
            messages=[messages[day] for day in calendar],
            top_intents=intents.most_common(TOP_INTENTS),
            turns=sum(1 for *_, kind, _ in inbound if kind == "text"),
            fallbacks=fallbacks,
            handoffs=len({chat for chat, *_ in handoffs}),
            median_wait_s=median(waits) if waits else None,
            median_handling_s=median(handled) if handled else None,
            average_rating=sum(ratings) / len(ratings) if ratings else None,
            useful=(sum(1 for _, useful in feedback if useful), len(feedback)),
            unhelpful=unhelpful,
            total_conversations=len({chat for chat, *_ in inbound}),
            not_understood=await self.search(LogFilter(start=first, fallback=True), scope,
                                             limit=10),
        )

    async def compare(self, days: int, tenants: Sequence[str],
                      today: date | None = None) -> list[TenantNumbers]:
        """Count the last `days` days per tenant, side by side, in the order given."""
        since = _midnight(self._first(days, today), self.zone)
        turns = Message.direction == "in", Message.kind == "text", Message.created_at >= since
        failed = (Message.direction == "out", Message.kind == "fallback",
                  Message.created_at >= since)
        await self.history.settle()
        async with self.history.sessions() as session:
            questions = {tenant: int(count) for tenant, count in await session.execute(
                select(Message.tenant, func.count()).where(*turns).group_by(Message.tenant))}
            fallbacks = {tenant: int(count) for tenant, count in await session.execute(
                select(Message.tenant, func.count()).where(*failed).group_by(Message.tenant))}
            handed = await session.execute(
                select(Handoff.tenant, func.count(distinct(Handoff.chat_id)),
                       func.count(Handoff.rating), func.avg(Handoff.rating))
                .where(Handoff.queued_at >= since).group_by(Handoff.tenant))
            # PostgreSQL averages as a Decimal.
            handoffs = {tenant: (int(chats), int(rated), None if mean is None else float(mean))
                        for tenant, chats, rated, mean in handed}
        return [TenantNumbers(tenant, questions.get(tenant, 0), fallbacks.get(tenant, 0),
                              *handoffs.get(tenant, (0, 0, None)))
                for tenant in tenants]

    async def comments(self, scope: Scope = EVERYTHING,
                       limit: int = 100) -> list[tuple[datetime, str, str]]:
        """Return the scope's citizens' comments, newest first: after a handoff, and on polls."""
        async with self.history.sessions() as session:
            after_handoff = (await session.execute(
                select(Handoff.closed_at, Handoff.rating, Handoff.comment)
                .where(Handoff.comment.is_not(None), scope.where(Handoff.tenant))
                .order_by(Handoff.id.desc()).limit(limit)
            )).all()
            on_polls = (await session.execute(
                select(Vote.created_at, Vote.poll_id, Vote.comment)
                .where(Vote.comment.is_not(None), scope.where(Vote.tenant))
                .order_by(Vote.created_at.desc()).limit(limit)
            )).all()
        found = [(at, f"gesprek met medewerker, cijfer {rating}" if rating
                  else "gesprek met medewerker", str(text))
                 for at, rating, text in after_handoff if at] + [
                 (at, f"peiling {poll}", str(text)) for at, poll, text in on_polls]
        return sorted(found, key=lambda item: item[0], reverse=True)[:limit]
