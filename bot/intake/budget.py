"""One outgoing rate for all workers: a counter per second in Redis, and a shared pause.

Telegram allows a bot about 30 messages a second in all. Every worker counts its sends in
`balie:send:<second>`; past the limit it waits for the next second. A 429 with `retry_after`
sets `balie:send:pause`, which holds every worker's sends for that long.
"""

import asyncio
import time
from typing import Any, cast

import redis.asyncio as redis

from bot.state import keys

PAUSE = keys.SEND_PAUSE
_ACQUIRE = """
local pause = redis.call('pttl', KEYS[1])
if pause > 0 then return pause end
local sent = redis.call('incr', KEYS[2])
if sent == 1 then redis.call('pexpire', KEYS[2], 2000) end
if sent > tonumber(ARGV[1]) then return 1000 - tonumber(ARGV[2]) % 1000 end
return 0
"""


class RateLimit:
    """Spaces the sends of all workers sharing a Redis."""

    def __init__(self, client: "redis.Redis", per_second: int) -> None:
        self.client = client
        self.per_second = per_second

    async def acquire(self) -> None:
        """Wait until a send is allowed."""
        while True:
            now = time.time()
            wait = int(await cast(Any, self.client.eval(
                _ACQUIRE, 2, PAUSE, keys.sent_in(int(now)), self.per_second,
                int(now * 1000))))
            if wait <= 0:
                return
            await asyncio.sleep(wait / 1000)

    async def pause(self, seconds: float) -> None:
        """Hold every worker's sends for a while (after a 429)."""
        await self.client.set(PAUSE, 1, px=max(1, int(seconds * 1000)))
