"""Every outgoing message of an update is marked once it was sent.

`balie:<chat_id>:out:<update_id>` is a hash while the update is handled: `tries` counts how
often a worker took the update (`bot.intake.inbox` counts it as it hands the update over), and
field `<n>` is `sent` for the update's n-th outgoing message. It is deleted as the update
leaves its inbox (`DrainLock.pop`). A worker that takes over an update after a crash computes
the answer again and skips every message marked `sent`; one not marked may have been under way
when the worker died: Telegram cannot say whether it arrived, so it is sent again (logged as in
doubt, and counted). A citizen may then, rarely, see one answer twice, but never none.

The marks cost no round trip of their own on a first attempt: a message's mark goes with the
next message's round trip for the shared send rate, or, for the last one, with the pop, which
deletes the marks anyway (what stays is the message whose buttons now show). The first message
was counted in the send rate as the update was handed over, and the chat's messages whose
buttons are taken off were read then too.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar

import redis.asyncio as redis
from redis.exceptions import RedisError
from telegram.error import RetryAfter

from bot.intake.budget import RATE, RateLimit
from bot.ops import metrics
from bot.state import keys
from bot.state.store import READY, Lua, finish

if TYPE_CHECKING:
    from bot.intake.inbox import Handed

log = logging.getLogger(__name__)
T = TypeVar("T")
RETRIES = 5
MARK_TRIES = 20  # about 30 s
CURRENT: ContextVar["Outbox | None"] = ContextVar("outbox", default=None)
LIMIT: ContextVar[RateLimit | None] = ContextVar("rate_limit", default=None)
# Before a message, in one round trip: mark the one before it sent (ARGV[4], its buttons'
# message ARGV[5] onto KEYS[3] for ARGV[6] s); {-1} when an earlier attempt sent this one; {the
# milliseconds to wait} for the shared send rate (ARGV[7], when there is one); else it is
# counted in the rate: {0, then, when ARGV[3] is 1, the ids on list KEYS[2], which is emptied}.
_BEFORE = Lua(RATE + """
if ARGV[4] ~= '' then
  redis.call('hset', KEYS[1], ARGV[4], 'sent')
  redis.call('expire', KEYS[1], ARGV[2])
  if ARGV[5] ~= '' then
    redis.call('rpush', KEYS[3], ARGV[5])
    redis.call('expire', KEYS[3], ARGV[6])
  end
end
if redis.call('hget', KEYS[1], ARGV[1]) == 'sent' then return {-1} end
if ARGV[7] then
  local wait = rate(KEYS[4], KEYS[5], ARGV[7], ARGV[8])
  if wait > 0 then return {wait} end
end
local shown = {}
if ARGV[3] == '1' then
  shown = redis.call('lrange', KEYS[2], 0, -1)
  redis.call('del', KEYS[2])
end
return {0, unpack(shown)}
""")
# After a send to another chat than the update's: mark it sent and note its buttons' message.
_SENT = Lua("""
redis.call('hset', KEYS[1], ARGV[1], 'sent')
redis.call('rpush', KEYS[2], ARGV[2])
redis.call('expire', KEYS[2], ARGV[3])
""")
SKIPPED = -1


class Remember(NamedTuple):
    """A list a sent message's id goes onto (the messages whose buttons still work)."""

    key: str
    seconds: int


@dataclass
class TakeOff:
    """A list of earlier messages whose buttons go: emptied as the next message is sent."""

    key: str
    shown: list[bytes] = field(default_factory=list)


@dataclass(frozen=True)
class _Unmarked:
    """A message sent whose mark waits for the next round trip."""

    number: str
    remember: Remember | None
    message_id: str


class Outbox:
    """The outgoing messages of one update, each sent once (twice only after a crash mid-send).

    `handed` is the update as the worker took it (`bot.intake.inbox.Handed`).
    """

    def __init__(self, client: "redis.Redis", chat: str, handed: "Handed", ttl: int) -> None:
        self.client = client
        self.key = handed.marks
        self.markup = keys.markup(chat)
        self.ttl = ttl
        self.number = 0
        self.redelivered = handed.tries > 1
        self.slot = handed.slot
        self.shown = handed.shown
        self.off: list[bytes] = []
        self.unmarked: _Unmarked | None = None
        self.broken = False

    def taken_off(self, message_id: int) -> None:
        """Note that a message's buttons went meanwhile (the one pressed): not taken off again."""
        self.shown = [shown for shown in self.shown if shown != str(message_id).encode()]

    def settled(self) -> dict[str, Any]:
        """What the pop settles (bot.intake.inbox): buttons taken off, the message showing some."""
        settle: dict[str, Any] = {"off": [i.decode() for i in self.off]} if self.off else {}
        if self.unmarked and self.unmarked.remember:
            settle.update(remember=self.unmarked.message_id,
                          seconds=self.unmarked.remember.seconds)
        return settle

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
        if take_off and take_off.key == self.markup:
            take_off.shown, self.off, self.shown = self.shown, self.shown, []
            take_off = None
        tries = 0

        async def before() -> None:
            nonlocal tries
            tries += 1
            if self.slot and not (self.redelivered or self.unmarked or take_off):
                self.slot = False  # counted in the rate as the update was handed over
                return
            await self._before(number, take_off if tries == 1 else None,
                               doubt=self.redelivered and tries == 1)

        try:
            try:
                result = await retrying(call, before)
            except _Sent:
                return None
            message_id = str(result["message_id"]) if remember else ""  # type: ignore[index]
            if remember and remember.key != self.markup:
                await self._mark_sent(number, remember, message_id)
            else:
                self.unmarked = _Unmarked(number, remember, message_id)
        except (RedisError, OSError):
            # Without its marks the update must not count as finished: it is tried again.
            self.broken = True
            raise
        return result

    async def _before(self, number: str, take_off: TakeOff | None, doubt: bool) -> None:
        """Mark the message before this one, skip this one if sent, wait for the send rate.

        With `doubt` (an update tried again) a message not marked sent is in doubt.
        """
        limit = LIMIT.get()
        while True:
            unmarked = self.unmarked
            rate_keys, rate_args = limit.now() if limit else ([], [])
            found: Any = await _BEFORE(self.client, [
                self.key, take_off.key if take_off else self.key,
                unmarked.remember.key if unmarked and unmarked.remember else self.key,
                *rate_keys,
            ], [number, self.ttl, int(take_off is not None), unmarked.number if unmarked else "",
                unmarked.message_id if unmarked else "",
                unmarked.remember.seconds if unmarked and unmarked.remember else 0, *rate_args])
            self.unmarked = None
            if int(found[0]) <= 0:
                break
            await finish(self.client, READY.get())  # the chat's next turn need not wait too
            await asyncio.sleep(int(found[0]) / 1000)
        if found[0] == SKIPPED:
            raise _Sent
        if take_off:
            take_off.shown = found[1:]
        if doubt:
            metrics.IN_DOUBT.inc()
            log.warning("message in doubt sent again", extra={"key": self.key, "number": number})

    async def _mark_sent(self, number: str, remember: Remember, message_id: str) -> None:
        """Note that a message to another chat arrived, outlasting a short Redis outage.

        A worker taking the update over meanwhile would send it again.
        """
        await persist(partial(_SENT, self.client, [self.key, remember.key],
                              [number, message_id, remember.seconds]))


async def persist(call: Callable[[], Awaitable[object]]) -> None:
    """Make a Redis call that notes a message sent, trying again through a short outage."""
    for attempt in range(MARK_TRIES):
        try:
            await call()
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
