"""The web chat: browser turns through the pipeline, replies as JSON, staff words via an outbox.

A citizen's page holds a signed token naming its chat (`web:<random>`); nothing else in a
request can choose the chat, so nobody reads another citizen's conversation. What staff say
arrives later: it waits in a Redis list per chat until the page collects it.
"""

import asyncio
import json
import secrets
import socket
import time
from dataclasses import asdict
from typing import Any

from itsdangerous import BadSignature, URLSafeSerializer

from bot.channels.notices import follow, join, notice
from bot.handoff.events import Event
from bot.history.log import History
from bot.pipeline import Balie
from bot.state import keys
from bot.state.store import ChatState, StateStore, this_minute
from bot.types import Reply, Turn, TurnKind, as_language

CHANNEL = "web"
CITIZENS = "citizens-web"
OUTBOX_SECONDS = 24 * 3600
MAX_OUTBOX = 200


def as_json(replies: list[Reply]) -> list[dict[str, Any]]:
    """Return replies as plain data for the page."""
    return [asdict(reply) for reply in replies]


class WebChat:
    """Turns from the page, tokens for its chats, and the outbox staff messages go to."""

    def __init__(self, balie: Balie, store: StateStore, history: History, secret: str) -> None:
        self.balie = balie
        self.store = store
        self.history = history
        self.tokens = URLSafeSerializer(secret, salt="balie-webchat")

    async def open(self, language: str) -> tuple[str, str]:
        """Start a new chat in the page's language: return its id and the token the page keeps."""
        chat_id = f"{CHANNEL}:{secrets.token_urlsafe(16)}"
        await self.store.save(chat_id, ChatState(language=as_language(language)))
        return chat_id, self.tokens.dumps(chat_id)

    async def chat_of(self, token: str | None) -> str | None:
        """Return the chat a token names, or None for a missing, forged or revoked one.

        /vergeet revokes the chat's token (`bot.history.retention.forget`).
        """
        chat_id = self._named(token)
        if chat_id is None or await self.store.client.sismember(keys.REVOKED,
                                                                keys.digest(chat_id)):
            return None
        return chat_id

    async def sender(self, token: str | None) -> tuple[str | None, int | None]:
        """Return the chat a token names (as `chat_of`), and the seconds to wait if it is flooded.

        In one round trip. The turn that crosses the limit still gets Balie's notice; the ones
        after it wait.
        """
        chat_id = self._named(token)
        if chat_id is None:
            return None, None
        async with self.store.client.pipeline(transaction=False) as pipe:
            pipe.sismember(keys.REVOKED, keys.digest(chat_id))
            pipe.get(this_minute(chat_id))
            revoked, turns = await pipe.execute()
        if revoked:
            return None, None
        if int(turns or 0) <= self.balie.flood_per_minute:
            return chat_id, None
        return chat_id, 60 - int(time.time()) % 60

    async def say(self, chat_id: str, kind: TurnKind, text: str,
                  language: str | None = None) -> list[dict[str, Any]]:
        """Handle what the citizen typed or pressed; return Balie's replies."""
        turn = Turn(chat_id=chat_id, channel=CHANNEL, kind=kind, text=text,
                    language_hint=language)
        return as_json(await self.balie.handle(turn))

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

    async def transcript(self, chat_id: str) -> list[dict[str, str]]:
        """Return the chat so far (as logged, so masked) for a page that was reloaded."""
        messages = await self.history.conversation(chat_id)
        return [{"direction": m.direction, "text": m.text} for m in messages]

    async def relay(self) -> "asyncio.Task[None]":
        """Start putting what staff do with web citizens' handoffs in their outboxes."""
        client = self.store.client
        await join(client, CITIZENS)
        return asyncio.create_task(follow(client, CITIZENS, socket.gethostname(), self._tell))

    async def _tell(self, event: Event) -> None:
        told = notice(event)
        if told is None or not told.chat_id.startswith(f"{CHANNEL}:"):
            return
        replies = await self.balie.notify(told.chat_id, CHANNEL, told.response, told.values,
                                          case=told.case)
        outbox = keys.web_outbox(told.chat_id)
        async with self.store.client.pipeline(transaction=True) as pipe:
            for reply in as_json(replies):
                pipe.rpush(outbox, json.dumps(reply, ensure_ascii=False))
            pipe.ltrim(outbox, -MAX_OUTBOX, -1)
            pipe.expire(outbox, OUTBOX_SECONDS)
            await pipe.execute()
