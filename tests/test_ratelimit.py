"""The outgoing rate shared by all workers, on real Redis."""

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as redis

from bot.intake.budget import RateLimit


@pytest.fixture
async def client(backend: dict[str, str]) -> AsyncIterator["redis.Redis"]:
    instance = redis.Redis.from_url(backend["REDIS_URL"])
    yield instance
    await instance.aclose()


async def test_two_workers_together_stay_under_the_rate(client: "redis.Redis") -> None:
    workers = [RateLimit(client, 20), RateLimit(client, 20)]
    seconds: list[int] = []

    async def send(limit: RateLimit) -> None:
        await limit.acquire()
        seconds.append(int(time.time()))

    # The limiter counts per calendar second and the test notes the second after each send is
    # allowed: start just after a second begins, so a send allowed at the very end of one
    # second is not noted in the next (a busy event loop can take that long to resume).
    await asyncio.sleep(1.02 - time.time() % 1)
    started = time.monotonic()
    await asyncio.gather(*(send(workers[n % 2]) for n in range(50)))
    assert max(Counter(seconds).values()) <= 20
    assert time.monotonic() - started > 1.0, "50 sends at 20 a second span three seconds"


async def test_a_429_pauses_every_worker(client: "redis.Redis") -> None:
    first, second = RateLimit(client, 30), RateLimit(client, 30)
    await first.pause(0.5)
    started = time.monotonic()
    await second.acquire()
    assert time.monotonic() - started >= 0.4
