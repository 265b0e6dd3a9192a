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
from typing import Any, cast

import redis.asyncio as redis
from redis.exceptions import RedisError, ResponseError

from bot.state import keys
from bot.state.store import trim_by_age

log = logging.getLogger(__name__)
# Take the drain lock (read back after a repeat) and read the inbox's head: one round trip.
_TAKE = """
if not redis.call('set', KEYS[1], ARGV[1], 'nx', 'px', ARGV[2])
    and redis.call('get', KEYS[1]) ~= ARGV[1] then return {0} end
return {1, redis.call('lindex', KEYS[2], 0)}
"""
# Release the drain lock (KEYS[1]) if it is ours and count the updates left in the inbox
# (KEYS[2]); with none left, acknowledge and delete the stream entry (ARGV[2]) that brought
# the worker here.
_RELEASE_LUA = """
local function release(drain, inbox, stream, token, entry, group)
  if redis.call('get', drain) == token then redis.call('del', drain) end
  local left = redis.call('llen', inbox)
  if left == 0 and entry then
    redis.call('xack', stream, group, entry)
    redis.call('xdel', stream, entry)
  end
  return left
end
"""
_RELEASE = _RELEASE_LUA + "return release(KEYS[1], KEYS[2], KEYS[3], ARGV[1], ARGV[2], ARGV[3])"
# A plain LPOP repeated by redis-py after a lost answer would drop the next update too. The
# handled update's send marks (KEYS[2] when ARGV[2] is 1) go with it: a replay is then a seen
# update. Return {the next update}; with a drain lock (KEYS[3], token ARGV[3]) and no update
# next, or ARGV[6] "last", the lock is released too: {the next update, the updates left}.
_POP = _RELEASE_LUA + """
if redis.call('lindex', KEYS[1], 0) == ARGV[1] then redis.call('lpop', KEYS[1]) end
if ARGV[2] == '1' then redis.call('del', KEYS[2]) end
local head = redis.call('lindex', KEYS[1], 0)
if not KEYS[3] or (head and ARGV[6] ~= 'last') then return {head} end
return {head, release(KEYS[3], KEYS[1], KEYS[4], ARGV[3], ARGV[4], ARGV[5])}
"""
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


async def done(client: "redis.Redis", entry_id: str) -> None:
    """Acknowledge and delete a handled stream entry."""
    async with client.pipeline(transaction=True) as pipe:
        pipe.xack(STREAM, GROUP, entry_id)
        pipe.xdel(STREAM, entry_id)
        await pipe.execute()


async def pop(
    client: "redis.Redis", chat: str, raw: bytes | str, marks: str | None,
    lock: "DrainLock | None" = None, entry_id: str = "", last: bool = False,
) -> bytes | None:
    """Remove a handled update and its send marks (key `marks`); return the next, if any.

    Safe to repeat: the head is removed only while it is the handled update. With the chat's
    drain `lock`, when no update is next or this was the `last` of a batch, the lock is
    released in the same round trip as `DrainLock.release(entry_id)` does (`lock.left`).
    """
    names = [keys.inbox(chat), marks or keys.inbox(chat)]
    args: list[str | bytes] = [raw, "1" if marks else "0"]
    if lock:
        names += [lock.key, STREAM]
        args += [lock.token, entry_id, GROUP, "last" if last else ""]
    reply: Any = await cast(Any, client.eval(_POP, len(names), *names, *args))
    if lock and len(reply) > 1:
        lock.left = int(reply[1])
    return cast(bytes | None, reply[0] if reply else None)


async def create_group(client: "redis.Redis") -> None:
    """Create the workers' consumer group (and the stream) unless it exists."""
    try:
        await client.xgroup_create(STREAM, GROUP, id="0", mkstream=True)
    except ResponseError as error:
        if "BUSYGROUP" not in str(error):
            raise


class DrainLock:
    """The per-chat drain lock: taken with SET NX, renewed per update, released by its owner."""

    def __init__(self, client: "redis.Redis", chat: str, milliseconds: int) -> None:
        self.client = client
        self.key = keys.drain(chat)
        self.inbox = keys.inbox(chat)
        self.milliseconds = milliseconds
        self.token = secrets.token_hex(8)
        self.head: bytes | None = None
        self.left: int | None = None  # the updates left, once released

    async def take(self) -> bool:
        """Take the lock and read the inbox's oldest update (`head`); False when held elsewhere."""
        reply: Any = await cast(Any, self.client.eval(
            _TAKE, 2, self.key, self.inbox, self.token, self.milliseconds))
        self.head = reply[1] if len(reply) > 1 else None
        return bool(reply[0])

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
        self.left = int(await cast(Any, self.client.eval(
            _RELEASE, 3, self.key, self.inbox, STREAM, self.token, entry_id, GROUP)))
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
