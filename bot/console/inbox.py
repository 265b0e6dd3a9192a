"""What the staff inbox shows: queue rows in words, and the live stream of server-sent events."""

import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import redis.asyncio as redis
from sqlalchemy import select

from bot.channels.webchat import STAFF_MESSAGE
from bot.handoff import events, notes
from bot.history.log import Handoff, History, Message
from bot.history.tenancy import Scope
from bot.replies.labels import Labels
from bot.replies.municipality import Municipality
from bot.types import as_language

LANGUAGE_NAMES = {"nl": "Nederlands", "en": "English"}
QUESTION_CHARS = 90
# The visit a handoff belongs to: what the citizen asked in the hour before it was queued.
VISIT = timedelta(hours=1)
WAKE_MS = 2000  # at the latest this often the stream looks again (waits grow, pages go quiet)
STREAM_SECONDS = 300  # then the browser reconnects: a stream never outlives its session long
Snapshot = Callable[[], Awaitable[dict[str, Any]]]


def wait_text(seconds: float) -> str:
    """Write a wait for staff: "minder dan 1 min", "3 min", "1 u 5 min"."""
    minutes = int(seconds // 60)
    if minutes < 1:
        return "minder dan 1 min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} u {minutes} min" if hours else f"{minutes} min"


def channel_name(chat_id: str) -> str:
    """Name a chat's channel as staff know it."""
    return "Webchat" if chat_id.startswith("web:") else "Telegram"


def short(text: str) -> str:
    """Cut a question to one short line."""
    line = " ".join(text.split())
    return line if len(line) <= QUESTION_CHARS else line[:QUESTION_CHARS - 1].rstrip() + "…"


async def open_cases(history: History, scope: Scope,
                     chats: list[str] | None = None) -> list[Handoff]:
    """Return the open live handoffs of the scope's tenants (of these chats), oldest first."""
    query = select(Handoff).where(Handoff.outcome == "open", Handoff.kind == "live",
                                  scope.where(Handoff.tenant))
    if chats is not None:
        query = query.where(Handoff.chat_id.in_(chats))
    async with history.sessions() as session:
        return list((await session.scalars(query.order_by(Handoff.queued_at))).all())


async def about(history: History, labels: Labels, cases: list[Handoff]) -> list[dict[str, Any]]:
    """Describe handoffs for staff: first question (masked, short), topic, channel, language."""
    if not cases:
        return []
    since = min(case.queued_at for case in cases) - VISIT
    query = (select(Message.chat_id, Message.text, Message.intent, Message.created_at)
             .where(Message.chat_id.in_({case.chat_id for case in cases}),
                    Message.direction == "in", Message.kind == "text",
                    Message.created_at >= since)
             .order_by(Message.id))
    async with history.sessions() as session:
        said = (await session.execute(query)).all()
    described = []
    for case in cases:
        start = _aware(case.queued_at) - VISIT
        visit = [row for row in said if row.chat_id == case.chat_id
                 and _aware(row.created_at) >= start]
        described.append({
            "chat": case.chat_id, "case": case.id,
            "question": short(visit[0].text) if visit else "(nog geen vraag getypt)",
            "topic": labels.topic([*(row.intent for row in visit), case.reason]),
            "channel": channel_name(case.chat_id),
            "language": LANGUAGE_NAMES.get(as_language(case.language), case.language),
            "owner": case.agent_name or "", "agent": case.agent_id or "",
        })
    return described


async def transcript(history: History, town: Municipality, chat_id: str,
                     after: int) -> list[dict[str, Any]]:
    """Return a chat's messages after `after` as staff read them, on the town's clock."""
    return [{"id": m.id, "direction": m.direction, "kind": m.kind, "text": m.text,
             "who": ("Burger" if m.direction == "in" else
                     "Medewerker" if m.intent == STAFF_MESSAGE else "Balie"),
             "at": town.local(m.created_at).strftime("%H:%M")}
            for m in await history.conversation(chat_id) if m.id > after]


async def notes_of(history: History, town: Municipality, chat_id: str) -> list[dict[str, str]]:
    """Return staff's notes on a chat, on the town's clock."""
    return [{"author": note.author, "text": note.text,
             "at": town.local(note.at).strftime("%d-%m %H:%M")}
            for note in await notes.of_chat(history, chat_id)]


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)  # SQLite keeps no zone


def event(name: str, data: object) -> str:
    """Write one server-sent event."""
    return f"event: {name}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


async def stream(client: "redis.Redis", alive: Callable[[], Awaitable[bool]],
                 snapshots: dict[str, Snapshot], once: bool = False) -> AsyncIterator[str]:
    """Send each snapshot when it changed, woken by handoff events; end when `alive` is False.

    Every few seconds it looks again anyway: waits grow and web chats are abandoned without
    an event. With `once` it sends the snapshots and ends (a client that cannot stream).
    """
    yield "retry: 3000\n\n"
    sent: dict[str, str] = {}
    newest: Any = await client.xrevrange(events.STREAM, count=1)
    last = newest[0][0] if newest else "0-0"
    ends = time.monotonic() + STREAM_SECONDS
    while time.monotonic() < ends:
        if not await alive():
            yield event("expired", {})
            return
        for name, snapshot in snapshots.items():
            text = event(name, await snapshot())
            if sent.get(name) != text:
                sent[name] = text
                yield text
        if once:
            return
        found: Any = await client.xread({events.STREAM: last}, count=100, block=WAKE_MS)
        if found:
            last = found[0][1][-1][0]
