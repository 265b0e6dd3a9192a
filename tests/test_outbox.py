"""Send marks on real Redis: a retried update skips what was sent and resends what was in doubt."""

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
import redis.asyncio as redis

from bot.intake import inbox
from bot.intake.outbox import Outbox, Remember, TakeOff
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


async def handed(client: "redis.Redis", chat: str, update_id: int) -> inbox.DrainLock:
    """Take the chat's drain lock, as a worker does, with the update at the inbox's head."""
    if not await client.llen(keys.inbox(chat)):
        await client.rpush(keys.inbox(chat), json.dumps({"update_id": update_id}))
    lock = inbox.DrainLock(client, chat, 3000)
    assert await lock.take()
    assert lock.head and lock.head.update_id == update_id
    return lock


async def test_a_retried_update_skips_sent_messages_and_resends_the_one_in_doubt(
    client: "redis.Redis",
) -> None:
    phone = Phone()
    lock = await handed(client, "tg:7", 1)
    assert lock.head
    first = Outbox(client, "tg:7", lock.head, ttl=60)
    assert not first.redelivered
    assert await first.send(phone.call("one")) == "one"
    with pytest.raises(asyncio.CancelledError):
        await first.send(phone.call("two", crash=True))

    await client.delete(keys.drain("tg:7"))  # the worker died: its drain lock expired
    lock = await handed(client, "tg:7", 1)
    assert lock.head
    second = Outbox(client, "tg:7", lock.head, ttl=60)
    assert second.redelivered
    assert await second.send(phone.call("one")) is None, "sent before: skipped"
    assert await second.send(phone.call("two")) == "two", "in doubt: sent again"
    assert await second.send(phone.call("three")) == "three"
    await lock.pop(lock.head, second.settled(), "")
    assert lock.head is None and lock.left == 0
    assert phone.received == ["one", "two", "two", "three"]
    assert not await client.exists(second.key)


async def test_a_first_attempt_sends_everything_once(client: "redis.Redis") -> None:
    phone = Phone()
    lock = await handed(client, "tg:8", 2)
    assert lock.head
    outbox = Outbox(client, "tg:8", lock.head, ttl=60)
    for text in ("a", "b", "c"):
        await outbox.send(phone.call(text))
    assert not outbox.redelivered
    assert phone.received == ["a", "b", "c"]
    # Each mark went with the next message's round trip; the last one's goes with the pop.
    assert await client.hgetall(outbox.key) == {b"tries": b"1", b"0": b"sent", b"1": b"sent"}


async def test_buttons_shown_are_taken_off_and_the_new_ones_remembered_by_the_pop(
    client: "redis.Redis",
) -> None:
    await client.rpush(keys.markup("tg:9"), "41", "42")
    lock = await handed(client, "tg:9", 3)
    assert lock.head and lock.head.shown == [b"41", b"42"]
    outbox = Outbox(client, "tg:9", lock.head, ttl=60)
    take_off = TakeOff(keys.markup("tg:9"))

    async def answer() -> dict[str, int]:
        return {"message_id": 43}

    await outbox.send(answer, Remember(keys.markup("tg:9"), 60), take_off)
    assert take_off.shown == [b"41", b"42"], "read as the update was handed over"
    assert await client.lrange(keys.markup("tg:9"), 0, -1) == [b"41", b"42"], "until the pop"
    await client.rpush(keys.markup("tg:9"), "50")  # a staff notice meanwhile
    await lock.pop(lock.head, outbox.settled(), "")
    assert await client.lrange(keys.markup("tg:9"), 0, -1) == [b"50", b"43"]


async def test_a_chat_found_handled_meanwhile_costs_one_round_trip(client: "redis.Redis") -> None:
    await inbox.create_group(client)
    entry = (await client.xadd(inbox.STREAM, {"chat": "tg:10", "update": 4})).decode()
    await client.xreadgroup(inbox.GROUP, "w", {inbox.STREAM: ">"})
    lock = inbox.DrainLock(client, "tg:10", 3000)
    assert await lock.take(entry), "taken, but its holder handled the update meanwhile"
    assert lock.head is None and lock.left == 0
    assert not await client.exists(keys.drain("tg:10")), "released in the same script"
    assert await client.xlen(inbox.STREAM) == 0, "its entry acknowledged and deleted"
