"""`balie worker`: reads the update stream through a consumer group and answers, chat by chat.

Stream entries wait in one queue for the worker's lanes, so one worker drains many chats at
once; a chat's drain lock keeps its messages one at a time and in order. An entry is
acknowledged and deleted after its chat's inbox was drained; a worker that dies leaves its
entries pending, and another worker claims them once they have been idle for a while.
"""

import asyncio
import json
import logging
import os
import socket
import time
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

import redis.asyncio as redis
from redis.exceptions import RedisError

from bot.intake import inbox
from bot.intake.outbox import CURRENT, LIMIT, Outbox, persist
from bot.settings import Settings
from bot.state.store import READY

log = logging.getLogger(__name__)

LANE_DEPTH = 4
DRAIN_BATCH = 2
STOP_SECONDS = 5
READ_COUNT = 100
# While its turns are under way a worker reads the stream this much later: the entries that
# came meanwhile arrive in one read instead of one read each.
LINGER_SECONDS = 0.002
BACKOFF_CAP = 2.0
Entry = tuple[str, str, bool]


class Worker:
    """Consumes the update stream and hands every update to `dispatch` (bot.channels.telegram)."""

    def __init__(
        self, settings: Settings, dispatch: Callable[[dict[str, Any]], Awaitable[None]],
        client: "redis.Redis",
    ) -> None:
        self.settings = settings
        self.dispatch = dispatch
        self.client = client
        self.consumer = f"{socket.gethostname()}:{os.getpid()}"
        self.lanes = settings.worker_lanes
        self.queue: asyncio.Queue[Entry] = asyncio.Queue()
        # Entries read and not yet handled; capped so a busy worker leaves the rest to others.
        self.outstanding: set[str] = set()

    async def run(self) -> None:
        """Read and dispatch entries until cancelled; reconnect with backoff when Redis is away."""
        tasks = [asyncio.create_task(self._lane()) for _ in range(self.lanes)]
        backoff, claimed_at, group = 0.1, 0.0, False
        try:
            while True:
                try:
                    if not group:
                        await inbox.create_group(self.client)
                        group = True
                    entries: list[Entry] = []
                    if time.monotonic() - claimed_at > self.settings.worker_claim_idle_ms / 2000:
                        entries += await self._claim()
                        claimed_at = time.monotonic()
                    room = self.lanes * LANE_DEPTH - len(self.outstanding)
                    if room > 0:
                        if self.outstanding:
                            await asyncio.sleep(LINGER_SECONDS)
                        entries += await self._read(min(room, READ_COUNT))
                    else:
                        await asyncio.sleep(0.005)  # busy: leave new entries to other workers
                    for entry in entries:
                        if entry[0] not in self.outstanding:
                            self.outstanding.add(entry[0])
                            self.queue.put_nowait(entry)
                    backoff = 0.1
                except (RedisError, OSError) as error:
                    log.warning("worker cannot read the stream; retrying", extra={
                        "error": type(error).__name__, "wait": backoff})
                    group = group and "NOGROUP" not in str(error)
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, BACKOFF_CAP)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.wait(tasks, timeout=STOP_SECONDS)

    async def _read(self, count: int) -> list[Entry]:
        batches: Any = await self.client.xreadgroup(
            inbox.GROUP, self.consumer, {inbox.STREAM: ">"}, count=count, block=500)
        return [(entry_id.decode(), fields[b"chat"].decode(), False)
                for _, stream in batches or [] for entry_id, fields in stream if fields]

    async def _claim(self) -> list[Entry]:
        """Take over entries another worker (perhaps a dead one) left unacknowledged."""
        reply: Any = await self.client.xautoclaim(
            inbox.STREAM, inbox.GROUP, self.consumer, self.settings.worker_claim_idle_ms,
            start_id="0-0", count=READ_COUNT)
        entries = [(entry_id.decode(), fields[b"chat"].decode(), True)
                   for entry_id, fields in reply[1] if fields]
        entries = [entry for entry in entries if entry[0] not in self.outstanding]
        if entries:
            log.info("stream entries claimed", extra={"count": len(entries)})
        return entries

    async def _lane(self) -> None:
        task = asyncio.current_task()
        while True:
            # A library that swallowed our cancellation (inside a Redis or Bot API call)
            # must not keep the lane, and with it the process, alive.
            if task is not None and task.cancelling():
                raise asyncio.CancelledError
            entry = await self.queue.get()
            entry_id, chat, claimed = entry
            done: bool | None = False
            try:
                done = await self.drain(chat, entry_id, patient=claimed)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("drain failed; the entry will be claimed again",
                              extra={"chat": chat})
            if done is None:
                self.queue.put_nowait(entry)  # more to do, after the chats waiting now
            else:
                self.outstanding.discard(entry_id)

    async def drain(self, chat: str, entry_id: str, patient: bool) -> bool | None:
        """Handle a batch of the chat's inbox in order.

        True: the inbox is empty or another worker holds it (the entry is acknowledged). False:
        the lock could not be had in time. None: updates remain, so the entry goes to the back
        of the queue and a chatty citizen does not hold up the other chats.
        """
        settings = self.settings
        lock = inbox.DrainLock(self.client, chat, settings.drain_lock_ms,
                               settings.flood_per_minute, settings.outbox_ttl_seconds, LIMIT.get())
        # The holder looks at the inbox again after releasing (the entry is acknowledged as the
        # lock is found taken); a claimed entry may belong to a dead holder, so it waits for
        # the lock to expire instead.
        if not await lock.take(entry_id, patient):
            if not patient:
                return True
            if not await self._wait(lock, entry_id):
                return False
        keeper = asyncio.create_task(lock.keep())
        try:
            for number in range(DRAIN_BATCH):
                handed = lock.head
                if handed is None:
                    break
                settle = await self.process(chat, handed)
                # Released with the pop when nothing is next or the batch is done.
                # Its last message is marked sent by the pop alone: outlast a Redis outage.
                await persist(partial(lock.pop, handed, settle, entry_id,
                                      last=number == DRAIN_BATCH - 1))
                if lock.left is not None:
                    break
        finally:
            keeper.cancel()
            left = lock.left if lock.left is not None else await lock.release(entry_id)
        return None if left else True

    async def _wait(self, lock: inbox.DrainLock, entry_id: str) -> bool:
        deadline = time.monotonic() + lock.milliseconds / 1000 + 0.5
        while time.monotonic() < deadline:
            await asyncio.sleep(0.05)
            if await lock.take(entry_id, patient=True):
                return True
        return False

    async def process(self, chat: str, handed: inbox.Handed) -> dict[str, Any]:
        """Answer one update; its messages go out through its outbox, each once.

        Return what the pop settles after its sends (`Outbox.settled`).
        """
        try:
            data = json.loads(handed.raw)
        except ValueError:
            data = None
        update_id = handed.update_id  # read by the script that handed it over
        if update_id is None or not isinstance(data, dict):
            log.error("unreadable update dropped", extra={"chat": chat})
            return {}
        outbox = Outbox(self.client, chat, handed, self.settings.outbox_ttl_seconds)
        tokens = CURRENT.set(outbox), READY.set(handed.ready)
        try:
            await self.dispatch(data)
        finally:
            CURRENT.reset(tokens[0])
            READY.reset(tokens[1])
        if outbox.broken:
            raise RuntimeError(f"update {update_id} of {chat} not fully sent; tried again later")
        return outbox.settled()

