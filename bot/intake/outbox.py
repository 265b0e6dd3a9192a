"""Every outgoing message of an update is marked before and after its send.

`balie:<chat_id>:out:<update_id>` is a hash while the update is handled: `tries` counts how
often a worker started its turn (`StateStore.begin` counts it), and field `<n>` is `sending` or
`sent` for the update's n-th outgoing message, read and written in the one round trip before
and the one after each send; it is deleted as the update leaves its inbox (`inbox.pop`). A
worker that takes over an update after a crash computes the answer again and skips every
message marked `sent`. A message still marked `sending` was under way when the worker died:
Telegram cannot say whether it arrived, so it is sent again (logged and counted). A citizen
may then, rarely, see one answer twice, but never none.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, NamedTuple, TypeVar, cast

import redis.asyncio as redis
from redis.exceptions import RedisError
from telegram.error import RetryAfter

from bot.intake.budget import RATE, RateLimit
from bot.ops import metrics
from bot.state import keys

log = logging.getLogger(__name__)
T = TypeVar("T")
RETRIES = 5
MARK_TRIES = 20  # about 30 s
CURRENT: ContextVar["Outbox | None"] = ContextVar("outbox", default=None)
LIMIT: ContextVar[RateLimit | None] = ContextVar("rate_limit", default=None)
# Before each try at a message, in one round trip: {-1} when an earlier attempt sent it; {the
# milliseconds to wait} for the shared send rate (ARGV[4], when there is one); else it is marked
# `sending` and counted in the rate: {0}, or {-2} when it was `sending` already (in doubt),
# followed, when ARGV[3] is 1, by the ids on list KEYS[2], which is emptied (`TakeOff`).
_SENDING = RATE + """
local status = redis.call('hget', KEYS[1], ARGV[1])
if status == 'sent' then return {-1} end
if ARGV[4] then
  local wait = rate(KEYS[3], KEYS[4], ARGV[4], ARGV[5])
  if wait > 0 then return {wait} end
end
redis.call('hset', KEYS[1], ARGV[1], 'sending')
redis.call('expire', KEYS[1], ARGV[2])
local shown = {}
if ARGV[3] == '1' then
  shown = redis.call('lrange', KEYS[2], 0, -1)
  redis.call('del', KEYS[2])
end
return {status and -2 or 0, unpack(shown)}
"""
# After a send: mark it sent and, for a message whose buttons work, note its id (KEYS[2]).
_SENT = """
redis.call('hset', KEYS[1], ARGV[1], 'sent')
if KEYS[2] then
  redis.call('rpush', KEYS[2], ARGV[2])
  redis.call('expire', KEYS[2], ARGV[3])
end
"""
SKIPPED = -1
IN_DOUBT = -2


class Remember(NamedTuple):
    """A list a sent message's id goes onto (the messages whose buttons still work)."""

    key: str
    seconds: int


@dataclass
class TakeOff:
    """A list of earlier messages whose buttons go: emptied as the next message is sent."""

    key: str
    shown: list[bytes] = field(default_factory=list)


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
        """Count an attempt; a second one means a worker died (or Redis failed) half-way.

        A citizen's turn counts it in the script that begins the turn (`StateStore.begin`).
        """
        async with self.client.pipeline(transaction=True) as pipe:
            pipe.hincrby(self.key, "tries", 1)
            pipe.expire(self.key, self.ttl)
            tries, _ = await pipe.execute()
        self.redelivered = int(tries) > 1

    async def send(
        self, call: Callable[[], Awaitable[T]], remember: Remember | None = None,
        take_off: TakeOff | None = None,
    ) -> T | None:
        """Send the next message unless an earlier attempt sent it.

        With `remember`, the `message_id` of the answer (JSON) goes onto that list with its mark;
        with `take_off`, that list is read into `take_off.shown` and emptied as it is marked.
        """
        number = str(self.number)
        self.number += 1
        tries = 0

        async def sending() -> None:
            # Marked only now, after any wait for the send rate: the doubt is this call.
            nonlocal tries
            tries += 1
            limit = LIMIT.get()
            names = [self.key, take_off.key if take_off else self.key]
            args: list[str | int] = [number, self.ttl, int(bool(take_off and tries == 1))]
            while True:
                rate_keys, rate_args = limit.now() if limit else ([], [])
                found: Any = await cast(Any, self.client.eval(
                    _SENDING, 2 + len(rate_keys), *names, *rate_keys, *args, *rate_args))
                if int(found[0]) <= 0:
                    break
                await asyncio.sleep(int(found[0]) / 1000)
            if found[0] == SKIPPED:
                raise _Sent
            if take_off and tries == 1:
                take_off.shown = found[1:]
            if found[0] == IN_DOUBT and tries == 1:
                metrics.IN_DOUBT.inc()
                log.warning("message in doubt sent again",
                            extra={"key": self.key, "number": number})

        try:
            try:
                result = await retrying(call, sending)
            except _Sent:
                return None
            await self._mark_sent(number, (remember, result) if remember else None)
        except (RedisError, OSError):
            # Without its marks the update must not count as finished: it is tried again.
            self.broken = True
            raise
        return result

    async def _mark_sent(self, number: str, remember: tuple[Remember, Any] | None) -> None:
        """Note that the message arrived, outlasting a short Redis outage.

        A worker taking the update over meanwhile would send it again.
        """
        names = [self.key]
        args: list[str | int] = [number]
        if remember:
            names.append(remember[0].key)
            args += [remember[1]["message_id"], remember[0].seconds]
        for attempt in range(MARK_TRIES):
            try:
                await cast(Any, self.client.eval(_SENT, len(names), *names, *args))
                return
            except (RedisError, OSError):
                if attempt == MARK_TRIES - 1:
                    raise
                await asyncio.sleep(min(0.1 * 2**attempt, 2.0))


class _Sent(Exception):
    """An earlier attempt sent this message."""


async def retrying(
    call: Callable[[], Awaitable[T]], before: Callable[[], Awaitable[object]] | None = None
) -> T:
    """Make a Bot API call within the shared rate; after a 429 wait as long as Telegram asks.

    `before` runs before each try instead of waiting for the rate (the outbox's marks do both).
    """
    limit = LIMIT.get()
    if before is None and limit:
        before = limit.acquire
    for attempt in range(RETRIES):
        if before:
            await before()
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


async def send(
    call: Callable[[], Awaitable[T]], remember: Remember | None = None,
    take_off: TakeOff | None = None,
) -> T | None:
    """Send through the current update's outbox, or directly outside an update.

    `remember` and `take_off` are done by the outbox; outside an update the caller does them.
    """
    outbox = CURRENT.get()
    if outbox is None:
        return await retrying(call)
    return await outbox.send(call, remember, take_off)
