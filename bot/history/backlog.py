"""The conversation log's write-behind queue: a turn's rows wait in Redis, flushed in batches.

`balie:history:backlog` is a list of JSON batches, one per turn (masked texts, the time of the
turn, a random batch id). A turn pushes its batch in the script that ends it (`StateStore.end`),
other writes with one RPUSH; a flusher in every process that handles turns writes the list to
the database every `log_flush_seconds`, or at once when this process's push finds
`log_flush_turns` batches waiting: one multi-row INSERT per flush, oldest first. A batch
leaves the list only after it was written. While the database is away the batches wait, and
are written when it is back.

Several flushers: each flush holds `balie:history:flush` (a token with a TTL; the flush every
`log_flush_seconds` does not wait for it, since its holder writes what waits), and the LTRIM
after the INSERT happens only while that token is still ours, in one Lua script. A flusher
whose lock ran out meanwhile trims nothing: its batches stay and are written again. Each row
carries `row_key` (batch id and position, made once when the batch is encoded) under a unique
index, and the INSERT skips keys already there, so a batch written twice (a crash or a lost
lock between INSERT and trim) leaves no duplicates. Erasure (`drop`) edits the list under the
same lock, so no flush in progress writes the erased chat's rows afterwards.
"""

import asyncio
import contextlib
import json
import logging
import secrets
import time
from datetime import UTC, datetime
from typing import Any, cast

import redis.asyncio as redis
from redis.exceptions import LockError, RedisError
from sqlalchemy.exc import DataError, IntegrityError, SQLAlchemyError

from bot.history.log import Entry, History
from bot.state import keys
from bot.state.store import Lua, release, take

log = logging.getLogger(__name__)

BACKLOG = keys.BACKLOG
LOCK_MS = 10_000
LOCK_POLL = 0.005
RETRY_SECONDS = 2.0
GONE = "-"
# What the database refuses in a batch itself (a missing value, a value out of range) and a
# batch that cannot be read; anything else (the database away, a table missing) is tried again.
REFUSED = (IntegrityError, DataError, ValueError, KeyError, TypeError)
_TRIM = Lua("""
if redis.call('get', KEYS[2]) ~= ARGV[1] then return 0 end
redis.call('ltrim', KEYS[1], ARGV[2], -1)
return 1
""")


def encode(entries: list[Entry], at: datetime) -> str:
    """Return a turn's masked entries as one queued batch; each row's key is made here, once."""
    batch = secrets.token_hex(8)
    return json.dumps({"at": at.isoformat(), "entries": [
        {**vars(entry), "row_key": f"{batch}:{position}"}
        for position, entry in enumerate(entries)]}, ensure_ascii=False)


def rows(raw: bytes | str) -> list[dict[str, Any]]:
    """Return a queued batch's rows for the messages table (without keys if queued before 0007)."""
    batch: dict[str, Any] = json.loads(raw)
    at = datetime.fromisoformat(batch["at"])
    return [{"row_key": None, **item, "created_at": at} for item in batch["entries"]]


class Backlog:
    """Queues the log's rows in Redis and writes them to the database in batches."""

    def __init__(self, client: "redis.Redis", history: History, seconds: float = 0.2,
                 turns: int = 50) -> None:
        self.client = client
        self.history = history
        self.seconds = seconds
        self.turns = turns
        self.due = asyncio.Event()

    async def batch(self, entries: list[Entry]) -> str:
        """Return entries masked and encoded, for a caller that queues them (`StateStore.end`)."""
        return encode(await self.history.masked(entries), datetime.now(UTC))

    def queued(self, waiting: int) -> None:
        """Note that a batch was queued with `waiting` in all: flush now when it is enough."""
        if waiting >= self.turns:
            self.due.set()

    async def write(self, entries: list[Entry]) -> None:
        """Queue entries masked; straight to the database only when Redis refuses them."""
        masked = await self.history.masked(entries)
        try:
            self.queued(await self.client.rpush(BACKLOG, encode(masked, datetime.now(UTC))))
        except RedisError:
            log.warning("conversation log not queued; written at once",
                        extra={"chat": masked[0].chat_id})
        else:
            return
        try:
            await self.history.store(masked)
        except Exception:
            log.exception("conversation log write failed", extra={
                "chat": masked[0].chat_id, "texts": [entry.text for entry in masked],
            })

    async def flush(self, wait: bool = True) -> int:
        """Write the queued batches oldest first; return how many were written.

        Without `wait`, a flush under way in another process is left to write them (0).
        """
        written = 0
        if not await self.client.llen(BACKLOG):
            return written  # nothing waits: no lock taken
        async with _FlushLock(self.client, wait) as token:
            while token and (raws := cast(list[bytes],
                                          await self.client.lrange(BACKLOG, 0, self.turns - 1))):
                try:
                    await self.history.insert([row for raw in raws for row in rows(raw)])
                except REFUSED:
                    raws = raws[:1]  # one batch the database refuses must not stop the rest
                    await self._refused(raws[0])
                if not await _TRIM(self.client, [BACKLOG, keys.BACKLOG_LOCK],
                                   [token, len(raws)]):
                    break  # the lock ran out: another flusher writes them (again, no doubles)
                written += len(raws)
                if len(raws) < self.turns and not wait:
                    break  # what came meanwhile waits for the next round
        return written

    async def close(self) -> None:
        """Write what is queued before the process stops; what cannot be written now waits."""
        try:
            await self.flush()
        except (SQLAlchemyError, OSError, RedisError) as error:
            log.warning("conversation log left in Redis at stop; another process writes it",
                        extra={"error": type(error).__name__})

    async def _refused(self, raw: bytes) -> None:
        """Write the oldest batch alone; when the database refuses even that, log and drop it."""
        try:
            await self.history.insert(rows(raw))
        except REFUSED:
            log.exception("conversation log batch refused by the database; dropped",
                          extra={"batch": raw.decode(errors="replace")})

    async def run(self) -> None:
        """Flush every `seconds`, or when a push found `turns` batches waiting, until cancelled."""
        task = asyncio.current_task()
        while True:
            # Python 3.11's wait_for, and redis-py, can swallow a cancellation that arrives as
            # they finish: a stopping process must not flush for ever.
            if task is not None and task.cancelling():
                raise asyncio.CancelledError
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.seconds):
                    await self.due.wait()
            self.due.clear()
            try:
                await self.flush(wait=False)
            except (SQLAlchemyError, OSError, RedisError) as error:
                log.warning("conversation log kept in Redis; database unavailable",
                            extra={"error": type(error).__name__})
                await asyncio.sleep(RETRY_SECONDS)


class _FlushLock:
    """Holds `balie:history:flush` for one flush or erasure; waits while another holds it.

    Without `wait` it does not wait: entered as None while another holds it.
    """

    def __init__(self, client: "redis.Redis", wait: bool = True) -> None:
        self.client = client
        self.wait = wait
        self.token = secrets.token_hex(8)
        self.held = False

    async def __aenter__(self) -> str | None:
        deadline = time.monotonic() + LOCK_MS / 1000
        while not await take(self.client, keys.BACKLOG_LOCK, self.token, LOCK_MS):
            if not self.wait:
                return None
            if time.monotonic() > deadline:
                raise LockError(f"{keys.BACKLOG_LOCK} stayed taken for {LOCK_MS} ms")
            await asyncio.sleep(LOCK_POLL)
        self.held = True
        return self.token

    async def __aexit__(self, *_: object) -> None:
        if self.held:
            await release(self.client, keys.BACKLOG_LOCK, self.token)


async def drop(client: "redis.Redis", chat_id: str) -> int:
    """Remove a chat's queued entries (other chats' entries of a batch stay); return how many."""
    dropped = 0
    # Under the flush lock nothing trims the list and pushes only append: the indexes hold.
    async with _FlushLock(client):
        for index, raw in enumerate(cast(list[bytes], await client.lrange(BACKLOG, 0, -1))):
            batch = json.loads(raw)
            others = [item for item in batch["entries"] if item["chat_id"] != chat_id]
            if len(others) < len(batch["entries"]):
                dropped += len(batch["entries"]) - len(others)
                await client.lset(BACKLOG, index, json.dumps(
                    {**batch, "entries": others}, ensure_ascii=False) if others else GONE)
        await client.lrem(BACKLOG, 0, GONE)
    return dropped
