"""The update stream and per-chat inboxes: intake appends, workers drain one chat at a time.

`balie:updates` is a Redis Stream with an entry per accepted update, read by the consumer group
`workers`; each chat's inbox holds its updates not yet handled, oldest first (keys in
`bot.state.keys`). Only the inbox holds the update itself, and only until it is handled: a
stream entry names the chat and the update id, and is deleted once handled. Both are trimmed
by age, so nothing stays when no worker runs.

A stream entry only says "chat X has news". Whoever reads it drains X's inbox in order while
holding X's drain lock, so the messages of one chat are handled one at a time and in order, by
whichever worker, while other chats go in parallel. A worker that finds the lock taken
acknowledges its entry: the holder looks at the inbox again after releasing the lock.
"""

import asyncio
import json
import logging
import secrets
from dataclasses import dataclass, field
from typing import Any

import redis.asyncio as redis
from redis.exceptions import RedisError, ResponseError

from bot.intake.budget import PAUSE, RATE, RateLimit
from bot.state import keys
from bot.state.store import BEGIN_LUA, Lua, Opening, Ready, trim_by_age

log = logging.getLogger(__name__)
# The scripts that hand a chat's update to a worker: taking the drain lock, and popping the
# handled update. Both begin the turn of the update they hand over (`prefetch`), so the turn
# costs no round trip of its own: its attempt counted in its send marks, the turn begun
# (`BEGIN_LUA`: seen, flood, chat lock, state, ticket), a send counted in the shared rate for
# its first message (unless a replay or flooded quiet) and the chat's messages with buttons read
# (taken off once it answers). Layout, shared by both:
# KEYS: the five of `Opening`, rate pause and second, markup list, inbox, drain lock, stream.
# ARGV: the five of `Opening`, send marks' prefix and TTL, rate limit ('': none) and now (ms),
# drain token, drain lock ms.
_HANDOVER = BEGIN_LUA + RATE + """
local function release(token, entry, group)
  if redis.call('get', KEYS[10]) == token then redis.call('del', KEYS[10]) end
  local left = redis.call('llen', KEYS[9])
  if left == 0 and entry ~= '' then
    redis.call('xack', KEYS[11], group, entry)
    redis.call('xdel', KEYS[11], entry)
  end
  return left
end
local function prefetch(head)
  local ok, update = pcall(function() return cjson.decode(head).update_id end)
  if not ok or type(update) ~= 'number' then return {} end
  update = string.format('%d', update)
  local sends = ARGV[6] .. update
  local tries = redis.call('hincrby', sends, 'tries', 1)
  redis.call('expire', sends, ARGV[7])
  local begun = begin(KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], ARGV[1], ARGV[2], ARGV[3],
                      ARGV[4], ARGV[5], update, tries > 1)
  local slot = -1
  if begun[1] >= 0 and begun[1] <= tonumber(ARGV[3]) + 1 then
    slot = 0
    if ARGV[8] ~= '' then slot = rate(KEYS[6], KEYS[7], ARGV[8], ARGV[9]) end
  end
  return {update, tries, slot, redis.call('lrange', KEYS[8], 0, -1), begun}
end
"""
# Take the drain lock (read back after a repeat) and hand over the inbox's head: {0} held
# elsewhere (then the stream entry ARGV[12] is acknowledged and deleted, unless ARGV[14] says
# the worker is patient: the holder looks at the inbox again as it releases), {1, head,
# prefetched}, or {1, false, {}, 0} when nothing waits (a holder handled it meanwhile): the
# lock is released and the entry done.
_TAKE = Lua(_HANDOVER + """
if not redis.call('set', KEYS[10], ARGV[10], 'nx', 'px', ARGV[11])
    and redis.call('get', KEYS[10]) ~= ARGV[10] then
  if ARGV[12] ~= '' and ARGV[14] ~= '1' then
    redis.call('xack', KEYS[11], ARGV[13], ARGV[12])
    redis.call('xdel', KEYS[11], ARGV[12])
  end
  return {0}
end
local head = redis.call('lindex', KEYS[9], 0)
if not head then return {1, false, {}, release(ARGV[10], ARGV[12], ARGV[13])} end
return {1, head, prefetch(head)}
""")
# Release the drain lock if it is ours and count the updates left in the inbox; with none left,
# acknowledge and delete the stream entry (ARGV[12]) that brought the worker here.
_RELEASE = Lua(_HANDOVER + "return release(ARGV[10], ARGV[12], ARGV[13])")
# Pop the handled update (ARGV[12]; a plain LPOP repeated by redis-py after a lost answer would
# drop the next one too) and delete its send marks (KEYS[12]): a replay is then a seen update.
# First settle its turn and sends (ARGV[16], JSON): the turn's end (`StateStore.end`: "state"
# for "ttl" seconds and the log's "batch" onto KEYS[13], done while the chat's "lock" is ours or
# free, and the lock released), the buttons taken off ("off") and the message whose buttons now
# show ("remember", for "seconds"). Then hand over the next update, or with none next or
# ARGV[15] "last" release the drain lock: {next, {}, the updates left}.
_POP = Lua(_HANDOVER + """
local settle = cjson.decode(ARGV[16])
if settle.lock then
  local held = redis.call('get', KEYS[3])
  if held == settle.lock or not held then
    if settle.state then redis.call('set', KEYS[4], settle.state, 'ex', settle.ttl) end
    if settle.batch then redis.call('rpush', KEYS[13], settle.batch) end
    redis.call('del', KEYS[3])
  end
end
for _, id in ipairs(settle.off or {}) do redis.call('lrem', KEYS[8], 0, id) end
if settle.remember then
  redis.call('rpush', KEYS[8], settle.remember)
  redis.call('expire', KEYS[8], settle.seconds)
end
if redis.call('lindex', KEYS[9], 0) == ARGV[12] then redis.call('lpop', KEYS[9]) end
redis.call('del', KEYS[12])
local head = redis.call('lindex', KEYS[9], 0)
if head and ARGV[15] ~= 'last' then return {head, prefetch(head)} end
return {head, {}, release(ARGV[10], ARGV[13], ARGV[14])}
""")
STREAM = keys.UPDATES
GROUP = "workers"
NO_CHAT = "tg:0"


def chat_of(update: dict[str, Any]) -> str:
    """Return the chat an update belongs to (`tg:<id>`), or NO_CHAT when it has none."""
    for name, value in update.items():
        if name == "update_id" or not isinstance(value, dict):
            continue
        for holder in (value, value.get("message")):
            if isinstance(holder, dict) and isinstance(holder.get("chat"), dict):
                return f"tg:{holder['chat'].get('id', 0)}"
        sender = value.get("from") or value.get("user")
        if isinstance(sender, dict):
            return f"tg:{sender.get('id', 0)}"
    return NO_CHAT


async def append(
    client: "redis.Redis", updates: list[dict[str, Any]], maxlen: int, max_age: int
) -> None:
    """Write updates to the stream and their chats' inboxes in one transaction.

    An update without a chat has nobody to answer: it is logged by id and kind, and dropped.
    """
    async with client.pipeline(transaction=True) as pipe:
        for update in updates:
            chat = chat_of(update)
            if chat == NO_CHAT:
                log.warning("update without a chat dropped", extra={
                    "update": update["update_id"], "kinds": sorted(set(update) - {"update_id"})})
                continue
            raw = json.dumps(update, ensure_ascii=False, separators=(",", ":"))
            pipe.rpush(keys.inbox(chat), raw)
            pipe.expire(keys.inbox(chat), max_age)
            pipe.xadd(STREAM, {"chat": chat, "update": update["update_id"]}, maxlen=maxlen,
                      approximate=True)
        trim_by_age(pipe, STREAM, max_age)
        await pipe.execute()


async def create_group(client: "redis.Redis") -> None:
    """Create the workers' consumer group (and the stream) unless it exists."""
    try:
        await client.xgroup_create(STREAM, GROUP, id="0", mkstream=True)
    except ResponseError as error:
        if "BUSYGROUP" not in str(error):
            raise


@dataclass
class Handed:
    """An update handed to a worker with its turn begun (bot.state.store.READY).

    `marks` is the key of its send marks; `update_id` is None for an update whose id could not
    be read (nothing was begun); `slot` tells that its first message was counted in the shared
    send rate; `shown` are the chat's messages whose buttons still show (taken off as it is
    answered).
    """

    raw: bytes
    marks: str
    update_id: int | None = None
    tries: int = 0
    slot: bool = False
    shown: list[bytes] = field(default_factory=list)
    ready: Ready | None = None


class DrainLock:
    """The per-chat drain lock: taken with SET NX, renewed per update, released by its owner.

    Taking it and popping a handled update each hand the next update over (`head`), its turn
    begun for `flood_limit`, its send marks kept `marks_ttl` seconds, within the shared `limit`.
    """

    def __init__(
        self, client: "redis.Redis", chat: str, milliseconds: int, flood_limit: int = 20,
        marks_ttl: int = 3600, limit: RateLimit | None = None,
    ) -> None:
        self.client = client
        self.chat = chat
        self.key = keys.drain(chat)
        self.inbox = keys.inbox(chat)
        self.milliseconds = milliseconds
        self.flood_limit = flood_limit
        self.marks_ttl = marks_ttl
        self.limit = limit
        self.token = secrets.token_hex(8)
        self.head: Handed | None = None
        self.left: int | None = None  # the updates left, once released

    async def _handover(
        self, script: Lua, names: list[str], args: list[Any]
    ) -> tuple[Any, Opening]:
        opening = Opening.of(self.chat, self.flood_limit, handover=True)
        rate_keys, rate_args = self.limit.now() if self.limit else ([PAUSE, PAUSE], ["", 0])
        reply = await script(self.client, [
            *opening.keys, *rate_keys, keys.markup(self.chat), self.inbox, self.key, STREAM,
            *names], [*opening.args, keys.sends(self.chat, ""), self.marks_ttl, *rate_args,
                      self.token, self.milliseconds, *args])
        return reply, opening

    def _handed(self, head: bytes | None, prefetched: list[Any], opening: Opening) -> None:
        if head is None or not prefetched:
            self.head = None if head is None else Handed(head, keys.sends(self.chat, ""))
            return
        update, tries, slot, shown, begun = prefetched
        update_id = int(update)
        self.head = Handed(head, keys.sends(self.chat, update_id), update_id, int(tries),
                           int(slot) == 0, list(shown),
                           Ready(self.chat, update_id, opening, begun))

    async def take(self, entry_id: str = "", patient: bool = False) -> bool:
        """Take the lock and hand over the inbox's oldest update (`head`); False if held.

        Taken with nothing in the inbox, it is released at once (`left` 0); then, or when held
        elsewhere unless `patient`, the stream entry `entry_id` is acknowledged and deleted.
        """
        reply, opening = await self._handover(_TAKE, [], [entry_id, GROUP, int(patient)])
        if len(reply) > 3:
            self.left = int(reply[3])
        self._handed(reply[1] if len(reply) > 1 else None,
                     reply[2] if len(reply) > 2 else [], opening)
        return bool(reply[0])

    async def pop(
        self, handed: Handed, settle: dict[str, Any], entry_id: str, last: bool = False
    ) -> None:
        """Remove a handled update and its send marks; hand over the next (`head`).

        `settle` is what its sends left (`_POP`); the turn ends here (`Ready.ending`), and a
        turn begun and not used is unlocked. Safe to repeat: the head is removed only while it
        is the handled update. When no update is next or this was the `last` of a batch, the
        lock is released in the same round trip, as `release(entry_id)` does (`left`).
        """
        ready = handed.ready
        if ready and ready.ending:
            ending = ready.ending
            settle = {**settle, "lock": ready.opening.token, "state": ending.state,
                      "ttl": ending.ttl, **({"batch": ending.batch} if ending.batch else {})}
        elif ready and not ready.used and len(ready.reply) > 1 and ready.reply[1]:
            settle = {**settle, "lock": ready.opening.token}
        reply, opening = await self._handover(_POP, [handed.marks, keys.BACKLOG], [
            handed.raw, entry_id, GROUP, "last" if last else "",
            json.dumps(settle, separators=(",", ":"))])
        if len(reply) > 2:
            self.left = int(reply[2])
        self._handed(reply[0], reply[1], opening)

    async def keep(self) -> None:
        """Renew the lock until cancelled, so a slow turn keeps it and a dead holder loses it."""
        task = asyncio.current_task()
        while True:
            await asyncio.sleep(self.milliseconds / 3000)
            try:
                await self.client.pexpire(self.key, self.milliseconds)
            except (RedisError, OSError):
                log.warning("drain lock not renewed", extra={"key": self.key})
            # redis-py can lose a cancellation that comes during the call (Python 3.11): the
            # lock would then be renewed for ever, and the process never stop.
            if task is not None and task.cancelling():
                raise asyncio.CancelledError

    async def release(self, entry_id: str) -> int:
        """Release the lock if this worker still holds it; return the updates left in the inbox.

        Counted after the release: an update that came while the lock was held is seen here,
        or by the worker that reads its stream entry and finds the lock free. With none left
        the stream entry `entry_id` is acknowledged and deleted in the same round trip.
        """
        reply, _ = await self._handover(_RELEASE, [], [entry_id, GROUP])
        self.left = int(reply)
        return self.left


async def stream_stats(client: "redis.Redis") -> dict[str, int]:
    """Return the stream's length, the group's lag and its pending count."""
    length = int(await client.xlen(STREAM))
    lag = pending = 0
    try:
        for group in await client.xinfo_groups(STREAM):
            name = group.get("name")
            if name in (GROUP, GROUP.encode()):
                lag = int(group.get("lag") or 0)
                pending = int(group.get("pending") or 0)
    except ResponseError:
        pass
    return {"length": length, "lag": lag, "pending": pending}
