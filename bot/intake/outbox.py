"""Every outgoing message of an update is marked before and after its send.

`balie:<chat_id>:out:<update_id>` is a hash while the update is handled: `tries` counts how
often a worker started it, and field `<n>` is `sending` or `sent` for the update's n-th
outgoing message; it is deleted as the update leaves its inbox (`bot.intake.inbox.pop`). A
worker that takes over an update after a crash computes the answer again and skips every
message marked `sent`. A message still marked `sending` was under way when the worker died:
Telegram cannot say whether it arrived, so it is sent again (logged and counted). A citizen
may then, rarely, see one answer twice, but never none.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import Any, TypeVar, cast

import redis.asyncio as redis
from redis.exceptions import RedisError
from telegram.error import RetryAfter

from bot.intake.budget import RateLimit
from bot.ops import metrics
from bot.state import keys

log = logging.getLogger(__name__)
T = TypeVar("T")
RETRIES = 5
MARK_TRIES = 20  # about 30 s
CURRENT: ContextVar["Outbox | None"] = ContextVar("outbox", default=None)
LIMIT: ContextVar[RateLimit | None] = ContextVar("rate_limit", default=None)


class Outbox:
    """The outgoing messages of one update, each sent once (twice only after a crash mid-send)."""

    def __init__(self, client: "redis.Redis", chat: str, update_id: int, ttl: int) -> None:
        self.client = client
        self.key = keys.sends(chat, update_id)
        self.ttl = ttl
        self.number = 0
        self.redelivered = False
        self.broken = False

    async def begin(self) -> None:
        """Count an attempt; a second one means a worker died (or Redis failed) half-way."""
        async with self.client.pipeline(transaction=True) as pipe:
            pipe.hincrby(self.key, "tries", 1)
            pipe.expire(self.key, self.ttl)
            tries, _ = await pipe.execute()
        self.redelivered = int(tries) > 1

    async def send(self, call: Callable[[], Awaitable[T]]) -> T | None:
        """Send the next message unless an earlier attempt sent it."""
        field = str(self.number)
        self.number += 1
        try:
            status = None
            if self.redelivered:  # only an update started before has marks
                status = cast(bytes | None, await self.client.hget(self.key, field))
            if status == b"sent":
                return None
            if status:
                metrics.IN_DOUBT.inc()
                log.warning("message in doubt sent again",
                            extra={"key": self.key, "number": field})

            async def marked() -> T:
                # Marked only now, after any wait for the send rate: the doubt is this call.
                await self.client.hset(self.key, field, "sending")
                return await call()

            result = await retrying(marked)
            await self._mark_sent(field)
        except (RedisError, OSError):
            # Without its marks the update must not count as finished: it is tried again.
            self.broken = True
            raise
        return result

    async def _mark_sent(self, field: str) -> None:
        """Note that the message arrived, outlasting a short Redis outage.

        A worker taking the update over meanwhile would send it again.
        """
        for attempt in range(MARK_TRIES):
            try:
                await self.client.hset(self.key, field, "sent")
                return
            except (RedisError, OSError):
                if attempt == MARK_TRIES - 1:
                    raise
                await asyncio.sleep(min(0.1 * 2**attempt, 2.0))


async def retrying(call: Callable[[], Awaitable[T]]) -> T:
    """Make a Bot API call within the shared rate; after a 429 wait as long as Telegram asks."""
    limit = LIMIT.get()
    for attempt in range(RETRIES):
        if limit:
            await limit.acquire()
        try:
            return await call()
        except RetryAfter as error:
            if attempt == RETRIES - 1:
                raise
            metrics.RETRY_AFTER.inc()
            wait: Any = error.retry_after
            seconds = wait if isinstance(wait, int | float) else wait.total_seconds()
            if limit:
                await limit.pause(seconds)  # every worker holds its sends
            else:
                await asyncio.sleep(seconds)
    raise AssertionError("unreachable")


async def send(call: Callable[[], Awaitable[T]]) -> T | None:
    """Send through the current update's outbox, or directly outside an update."""
    outbox = CURRENT.get()
    if outbox is None:
        return await retrying(call)
    return await outbox.send(call)
