"""Exactly-once sending per update: every outgoing message is marked before and after its send.

`balie:<chat_id>:out:<update_id>` is a hash while the update is handled: `tries` counts how
often a worker started it, and field `<n>` is `sending:<attempt>` or `sent` for the update's
n-th outgoing message; it is deleted when the update is finished. A worker that takes over an
update after a crash computes the answer again but skips every message already marked: `sent`
ones arrived, and a `sending` one is in doubt (Telegram cannot say whether it arrived), so it
is logged and not sent again.
"""

import asyncio
import logging
import secrets
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import Any, TypeVar, cast

import redis.asyncio as redis
from redis.exceptions import RedisError
from telegram.error import RetryAfter

from bot import metrics
from bot.ratelimit import RateLimit
from bot.state import key

log = logging.getLogger(__name__)
T = TypeVar("T")
RETRIES = 5
CURRENT: ContextVar["Outbox | None"] = ContextVar("outbox", default=None)
LIMIT: ContextVar[RateLimit | None] = ContextVar("rate_limit", default=None)


class Outbox:
    """The outgoing messages of one update, each sent at most once."""

    def __init__(self, client: "redis.Redis", chat: str, update_id: int, ttl: int) -> None:
        self.client = client
        self.key = key(chat, f"out:{update_id}")
        self.ttl = ttl
        self.number = 0
        self.redelivered = False
        self.broken = False
        self.token = secrets.token_hex(4)

    async def begin(self) -> None:
        """Count an attempt; a second one means a worker died (or Redis failed) half-way."""
        async with self.client.pipeline(transaction=True) as pipe:
            pipe.hincrby(self.key, "tries", 1)
            pipe.expire(self.key, self.ttl)
            tries, _ = await pipe.execute()
        self.redelivered = int(tries) > 1

    async def _claim(self, field: str, mark: str) -> bool:
        """Mark a message as being sent; True if this attempt's mark is there."""
        if await self.client.hsetnx(self.key, field, mark):
            return True
        # A repeated HSETNX (redis-py retries when an answer was lost) finds our own mark.
        return bool(await self.client.hget(self.key, field) == mark.encode())

    async def finish(self) -> None:
        """Forget the marks: the update leaves the inbox next, and a replay is a seen update."""
        await self.client.delete(self.key)

    async def send(self, call: Callable[[], Awaitable[T]]) -> T | None:
        """Send the next message unless an earlier attempt sent it or may have sent it."""
        field = str(self.number)
        self.number += 1
        try:
            mark = f"sending:{self.token}"
            if not await self._claim(field, mark):
                status = cast(bytes | None, await self.client.hget(self.key, field))
                if status and status.startswith(b"sending"):
                    metrics.IN_DOUBT.inc()
                    log.warning("message in doubt not sent again",
                                extra={"key": self.key, "number": field})
                return None
            result = await retrying(call)
            await self.client.hset(self.key, field, "sent")
        except (RedisError, OSError):
            # Without its marks the update must not count as finished: it is tried again.
            self.broken = True
            raise
        return result


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
