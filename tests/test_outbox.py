"""Send marks on real Redis: a retried update skips what was sent and resends what was in doubt."""

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
import redis.asyncio as redis

from bot.intake import inbox
from bot.intake.outbox import Outbox
from bot.state import keys


@pytest.fixture
async def client(backend: dict[str, str]) -> AsyncIterator["redis.Redis"]:
    instance = redis.Redis.from_url(backend["REDIS_URL"])
    yield instance
    await instance.aclose()


class Phone:
    """Stands in for the Bot API call: notes every message it is asked to send."""

    def __init__(self) -> None:
        self.received: list[str] = []

    def call(self, text: str, crash: bool = False) -> Callable[[], Awaitable[str]]:
        async def send() -> str:
            self.received.append(text)
            if crash:  # the worker dies after the request left, before the answer came
                raise asyncio.CancelledError
            return text
        return send


async def test_a_retried_update_skips_sent_messages_and_resends_the_one_in_doubt(
    client: "redis.Redis",
) -> None:
    phone = Phone()
    first = Outbox(client, "tg:7", 1, ttl=60)
    await first.begin()
    assert await first.send(phone.call("one")) == "one"
    with pytest.raises(asyncio.CancelledError):
        await first.send(phone.call("two", crash=True))

    second = Outbox(client, "tg:7", 1, ttl=60)
    await second.begin()
    assert second.redelivered
    assert await second.send(phone.call("one")) is None, "sent before: skipped"
    assert await second.send(phone.call("two")) == "two", "in doubt: sent again"
    assert await second.send(phone.call("three")) == "three"
    await client.rpush(keys.inbox("tg:7"), "update 1")
    assert await inbox.pop(client, "tg:7", "update 1", second.key) is None
    assert phone.received == ["one", "two", "two", "three"]
    assert not await client.exists(second.key)


async def test_a_first_attempt_sends_everything_once(client: "redis.Redis") -> None:
    phone = Phone()
    outbox = Outbox(client, "tg:8", 2, ttl=60)
    await outbox.begin()
    for text in ("a", "b"):
        await outbox.send(phone.call(text))
    assert not outbox.redelivered
    assert phone.received == ["a", "b"]
    assert await client.hgetall(outbox.key) == {b"tries": b"1", b"0": b"sent", b"1": b"sent"}
