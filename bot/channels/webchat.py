"""The web chat: browser turns through the pipeline, replies as JSON, staff words via an outbox.

A citizen's page holds a signed token naming its chat (`web:<random>`); nothing else in a
request can choose the chat, so nobody reads another citizen's conversation. The token names
the chat for as long as its state lives; ending the chat (or /vergeet) revokes it. What staff
say arrives later: it waits in a Redis list per chat until a page of that browser collects it.
"""

import asyncio
import json
import re
import secrets
import socket
import string
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from itsdangerous import BadSignature, URLSafeSerializer

from bot.channels.notices import follow, join, notice
from bot.handoff.desk import HandoffDesk, beat
from bot.handoff.events import Event
from bot.history.log import History, Message
from bot.history.masking import LABELS
from bot.pipeline import Balie
from bot.state import keys
from bot.state.store import ChatState, StateStore, this_minute
from bot.types import Language, Reply, Turn, TurnKind, as_language

CHANNEL = "web"
CITIZENS = "citizens-web"
OUTBOX_SECONDS = 24 * 3600
MAX_OUTBOX = 200
STAFF_MESSAGE = "utter_handoff_staff_message"
DisplayName = Callable[[str], Awaitable[str]]


def stamped(replies: list[Reply], at: datetime) -> list[dict[str, Any]]:
    """Return replies as plain data for the page, with the time they were said."""
    return [{"text": reply.text, "buttons": [vars(button) for button in reply.buttons],
             **_when(at)} for reply in replies]


def _when(at: datetime) -> dict[str, str]:
    """A moment on the municipality's clock: hours and minutes to show, ISO for <time>."""
    return {"at": at.strftime("%H:%M"), "time": at.isoformat(timespec="seconds")}


def _masked(text: str) -> bool:
    return any(label in text for label in LABELS.values())


class WebChat:
    """Turns from the page, tokens for its chats, and the outbox staff messages go to.

    `display_name` turns a staff member's login name into the name citizens see.
    """

    def __init__(self, balie: Balie, store: StateStore, history: History, desk: HandoffDesk,
                 secret: str, display_name: DisplayName) -> None:
        self.balie = balie
        self.store = store
        self.history = history
        self.desk = desk
        self.town = balie.renderer.town
        self.display_name = display_name
        self.tokens = URLSafeSerializer(secret, salt="balie-webchat")

    def now(self) -> datetime:
        """Return now on the municipality's clock."""
        return self.town.local(datetime.now(UTC))

    async def open(self, language: str, tenant: str = "") -> tuple[str, str]:
        """Start a new chat in the page's language: return its id and the token the page keeps.

        A page of one municipality's site (`/chat?gemeente=<tenant>`) opens its chats for it.
        """
        chat_id = f"{CHANNEL}:{secrets.token_urlsafe(16)}"
        town = self.balie.tenants.chosen(tenant)
        await self.store.save(chat_id, ChatState(language=as_language(language),
                                                 tenant=town.key if town else ""))
        return chat_id, self.tokens.dumps(chat_id)

    async def chat_of(self, token: str | None) -> str | None:
        """Return the chat a token names, or None for a missing, forged, revoked or expired one.

        /vergeet and "end chat" revoke the chat's token; a chat whose state expired is gone.
        """
        chat_id, _ = await self.sender(token)
        return chat_id

    async def sender(
        self, token: str | None, heard: bool = False
    ) -> tuple[str | None, int | None]:
        """Return the chat a token names (as `chat_of`), and the seconds to wait if it is flooded.

        In one round trip, with the page's heartbeat when it was `heard` from (a message or a
        poll; noted for a revoked chat too, which `HandoffDesk.abandon` forgets). The turn that
        crosses the limit still gets Balie's notice; the ones after it wait.
        """
        chat_id = self._named(token)
        if chat_id is None:
            return None, None
        async with self.store.client.pipeline(transaction=False) as pipe:
            pipe.sismember(keys.REVOKED, keys.digest(chat_id))
            pipe.exists(keys.state(chat_id))
            pipe.get(this_minute(chat_id))
            if heard:
                beat(pipe, chat_id)  # the page is open: not abandoned
            revoked, alive, turns, *_ = await pipe.execute()
        if revoked or not alive:
            return None, None
        if int(turns or 0) <= self.balie.flood_per_minute:
            return chat_id, None
        return chat_id, 60 - int(time.time()) % 60

    async def say(self, chat_id: str, kind: TurnKind, text: str,
                  language: str | None = None) -> dict[str, Any]:
        """Handle what the citizen typed or pressed; return Balie's replies.

        With them the chat's language now (/taal may have changed it) and whether the chat
        ended (/vergeet).
        """
        answered = await self.balie.answer(Turn(chat_id=chat_id, channel=CHANNEL, kind=kind,
                                                text=text, language_hint=language))
        return {"replies": stamped(answered.replies, self.now()),
                "language": answered.language, "ended": answered.ended}

    async def speak(self, chat_id: str, language: Language) -> None:
        """Make the page's language the chat's language (the page's language link)."""
        async with self.store.locked(chat_id):
            state = await self.store.load(chat_id)
            state.language, state.language_locked = language, True
            await self.store.save(chat_id, state)

    async def end(self, chat_id: str) -> None:
        """End the chat for the citizen: out of the queue or away from staff, token revoked.

        The conversation stays in the log for its normal retention (/vergeet erases it).
        """
        if await self.desk.ticket(chat_id) is not None:
            await self.desk.close(chat_id, "citizen")
        await self.store.client.sadd(keys.REVOKED, keys.digest(chat_id))

    def _named(self, token: str | None) -> str | None:
        """Return the web chat a token names by its signature, revoked or not."""
        if not token:
            return None
        try:
            chat_id = self.tokens.loads(token)
        except BadSignature:
            return None
        if not isinstance(chat_id, str) or not chat_id.startswith(f"{CHANNEL}:"):
            return None
        return chat_id

    async def collect(self, chat_id: str) -> list[dict[str, Any]]:
        """Take the replies waiting in the chat's outbox."""
        client = self.store.client
        async with client.pipeline(transaction=True) as pipe:
            pipe.lrange(keys.web_outbox(chat_id), 0, -1)
            pipe.delete(keys.web_outbox(chat_id))
            waiting, _ = await pipe.execute()
        return [json.loads(item) for item in waiting]

    async def transcript(self, chat_id: str) -> dict[str, Any]:
        """Return the chat so far for a page that opens it again, and the chat's language.

        As logged, so the citizen's words are masked (`masked` says so). The /start the page
        sent is left out, a pressed button is the citizen's choice, staff messages name their
        writer, and the buttons that still work come back under the messages that showed them.
        What waits in the outbox is in the log too: it is taken (`waiting`, for the page to pass
        to the browser's other tabs), not shown twice.
        """
        waiting = await self.collect(chat_id)
        messages = await self.history.conversation(chat_id)
        state = await self.store.load(chat_id)
        if messages and messages[0].kind == "command" and messages[0].text == "/start":
            messages = messages[1:]
        shown = [self._shown(m) for m in messages]
        self._live_buttons(messages, shown, state)
        return {"messages": shown, "language": state.language, "waiting": waiting}

    def _shown(self, message: Message) -> dict[str, Any]:
        text = message.text
        shown: dict[str, Any] = {"direction": message.direction, "buttons": [],
                                 **_when(self.town.local(message.created_at))}
        if message.direction == "in":
            if message.kind == "button" and text.startswith("[") and text.endswith("]"):
                text = text[1:-1]
            shown["masked"] = message.kind == "text" and _masked(text)
        elif message.intent == STAFF_MESSAGE:
            said = self._staff_words(as_language(message.language)).fullmatch(text)
            if said:
                text, shown["staff"] = said["text"], said["agent"]
        shown["text"] = text
        return shown

    def _staff_words(self, language: Language) -> "re.Pattern[str]":
        """Return the pattern of a logged staff message: who, and what they wrote."""
        template = self.balie.renderer.responses[STAFF_MESSAGE][language].text
        parts = []
        for literal, name, _, _ in string.Formatter().parse(template):
            parts.append(re.escape(literal))
            if name:
                parts.append(f"(?P<{name}>.*?)" if name == "agent" else f"(?P<{name}>.*)")
        return re.compile("".join(parts), re.DOTALL)

    def _live_buttons(self, messages: list[Message], shown: list[dict[str, Any]],
                      state: ChatState) -> None:
        """Put the buttons that still work back under the messages of the turn that bound them.

        Notices from the staff side without buttons (logged under their response's name) may
        have come after that turn.
        """
        pending = state.pending
        if pending is None:
            return
        responses = self.balie.renderer.responses

        def notice_without_buttons(message: Message) -> bool:
            variants = responses.get(message.intent or "", {}) if message.kind == "handoff" else {}
            return bool(variants) and not any(variant.buttons for variant in variants.values())

        outs = [n for n, m in enumerate(messages) if m.direction == "out"]
        while outs and notice_without_buttons(messages[outs[-1]]):
            outs.pop()
        sizes = pending.sizes or [len(pending.options)]
        if len(outs) < len(sizes):
            return
        option = 0
        for at, size in zip(outs[-len(sizes):], sizes, strict=True):
            shown[at]["buttons"] = [{"title": pending.titles[n], "data": f"{pending.nonce}:{n}"}
                                    for n in range(option, option + size)
                                    if n < len(pending.titles)]
            option += size

    async def relay(self) -> "asyncio.Task[None]":
        """Start putting what staff do with web citizens' handoffs in their outboxes."""
        client = self.store.client
        await join(client, CITIZENS)
        return asyncio.create_task(follow(client, CITIZENS, socket.gethostname(), self._tell))

    async def _tell(self, event: Event) -> None:
        told = notice(event)
        if told is None or not told.chat_id.startswith(f"{CHANNEL}:"):
            return
        values = dict(told.values)
        if "agent" in values:  # citizens see the staff member's display name
            values["agent"] = await self.display_name(str(values["agent"]))
        replies = stamped(await self.balie.notify(told.chat_id, CHANNEL, told.response, values,
                                                  case=told.case), self.now())
        if told.response == STAFF_MESSAGE:  # the page labels it with the writer's name
            replies = [{**reply, "text": str(values["text"]), "staff": values["agent"]}
                       for reply in replies]
        outbox = keys.web_outbox(told.chat_id)
        async with self.store.client.pipeline(transaction=True) as pipe:
            for reply in replies:
                pipe.rpush(outbox, json.dumps(reply, ensure_ascii=False))
            pipe.ltrim(outbox, -MAX_OUTBOX, -1)
            pipe.expire(outbox, OUTBOX_SECONDS)
            await pipe.execute()
