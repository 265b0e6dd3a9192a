"""One send budget for answers and broadcasts: a counter per second in Redis, a shared pause.

Telegram allows a bot about 30 messages a second in all. Every worker and every broadcast
counts its sends in `balie:send:<second>`; past the limit it waits for the next second. A
broadcast asks for a lower ceiling (`BALIE_BROADCAST_PER_SECOND`), so answers keep the rest of
the second. A 429 with `retry_after` sets `balie:send:pause`, which holds every send for that
long.
"""

import asyncio
import time

import redis.asyncio as redis

from bot.state import keys
from bot.state.store import Lua

PAUSE = keys.SEND_PAUSE
# The wait before a send may go (0: it goes, and is counted), as a Lua function that the send
# marks' script (`bot.intake.outbox`) also calls. A refused send is not counted, so a broadcast
# waiting at its ceiling takes nothing from answers.
RATE = """
local function rate(pause_key, second_key, limit, now)
  local pause = redis.call('pttl', pause_key)
  if pause > 0 then return pause end
  local sent = tonumber(redis.call('get', second_key) or '0')
  if sent >= tonumber(limit) then return 1000 - tonumber(now) % 1000 end
  redis.call('incr', second_key)
  if sent == 0 then redis.call('pexpire', second_key, 2000) end
  return 0
end
"""
_ACQUIRE = Lua(RATE + "return rate(KEYS[1], KEYS[2], ARGV[1], ARGV[2])")


class RateLimit:
    """Spaces the sends of all workers and broadcasts sharing a Redis."""

    def __init__(self, client: "redis.Redis", per_second: int) -> None:
        self.client = client
        self.per_second = per_second

    async def acquire(self, ceiling: int | None = None) -> int:
        """Wait until a send may go, below `ceiling` if given; return the second it counts in."""
        limit = min(self.per_second, ceiling or self.per_second)
        while True:
            now = time.time()
            second = int(now)
            wait = int(await _ACQUIRE(self.client, [PAUSE, keys.sent_in(second)],
                                      [limit, int(now * 1000)]))
            if wait <= 0:
                return second
            await asyncio.sleep(wait / 1000)

    def now(self) -> tuple[list[str], list[int]]:
        """Return the keys and arguments of `rate` for a send now, for a script that calls it."""
        now = time.time()
        return [PAUSE, keys.sent_in(int(now))], [self.per_second, int(now * 1000)]

    async def pause(self, seconds: float) -> None:
        """Hold every send for a while (after a 429)."""
        await self.client.set(PAUSE, 1, px=max(1, int(seconds * 1000)))
