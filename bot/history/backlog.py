"""Log entries the database could not take, kept in Redis and written when it is back.

`balie:history:backlog` is a list of JSON batches (masked texts, the time of the turn). A
worker writes them to the database oldest first; a batch leaves the list only after it was
written, so a crash in between writes it twice rather than never.
"""

import asyncio
import json
import logging
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any, cast

import redis.asyncio as redis
from sqlalchemy.exc import SQLAlchemyError

from bot.history.log import Entry, History
from bot.state import keys

log = logging.getLogger(__name__)

BACKLOG = keys.BACKLOG
INTERVAL = 2.0
_POP = """
if redis.call('lindex', KEYS[1], 0) == ARGV[1] then return redis.call('lpop', KEYS[1]) end
return false
"""


class Backlog:
    """Keeps refused log entries in Redis and writes them to the database later."""

    def __init__(self, client: "redis.Redis", history: History) -> None:
        self.client = client
        self.history = history

    async def write(self, entries: list[Entry]) -> None:
        """Write entries to the database masked, or keep them when it cannot take them now."""
        masked = await self.history.masked(entries)
        try:
            await self.history.store(masked)
            return
        except (SQLAlchemyError, OSError):
            log.warning("conversation log write failed; kept in Redis",
                        extra={"chat": masked[0].chat_id})
        try:
            await self.keep(masked)
        except Exception:
            log.exception("conversation log write failed", extra={
                "chat": masked[0].chat_id, "texts": [entry.text for entry in masked],
            })

    async def keep(self, entries: list[Entry]) -> None:
        """Keep masked entries with the time they happened."""
        batch = {"at": datetime.now(UTC).isoformat(),
                 "entries": [asdict(entry) for entry in entries]}
        await self.client.rpush(BACKLOG, json.dumps(batch, ensure_ascii=False))

    async def flush(self) -> int:
        """Write kept batches oldest first; return how many were written."""
        written = 0
        while (raw := await self.client.lindex(BACKLOG, 0)) is not None:
            batch: dict[str, Any] = json.loads(raw)
            entries = [Entry(**item) for item in batch["entries"]]
            await self.history.store(entries, at=datetime.fromisoformat(batch["at"]))
            await cast(Any, self.client.eval(_POP, 1, BACKLOG, raw))
            written += 1
        return written

    async def run(self) -> None:
        """Flush every few seconds until cancelled."""
        while True:
            try:
                if written := await self.flush():
                    log.info("conversation log backlog written", extra={"batches": written})
            except Exception as error:
                log.warning("conversation log backlog kept; database still unavailable",
                            extra={"error": type(error).__name__})
            await asyncio.sleep(INTERVAL)
