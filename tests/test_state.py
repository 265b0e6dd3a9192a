"""Chat state in Redis, embedded and server."""

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from bot.intake import inbox
from bot.intake.budget import RateLimit
from bot.intake.outbox import LIMIT, Outbox
from bot.state import keys
from bot.state.store import (
    READY,
    ChatState,
    Commenting,
    Confirming,
    EmbeddedRedis,
    Mode,
    Noting,
    Pending,
    PollCommenting,
    StateStore,
    connect,
)
from tests.support import updates


@pytest.fixture
async def store(backend: dict[str, str], tmp_path: Path) -> AsyncIterator[StateStore]:
    instance = StateStore.open(backend["REDIS_URL"], tmp_path, timedelta(days=30))
    try:
        yield instance
    finally:
        await instance.close()


def test_key_schema() -> None:
    assert keys.state("tg:42") == "balie:tg:42:state"


async def test_state_round_trips_with_ttl(store: StateStore) -> None:
    state = ChatState(language="en", last_intents=["objection"], slots={"woz": 350000},
                      pending=Pending("abc", ["/objection"]), fallbacks=1,
                      form="tax_form")
    await store.save("tg:1", state)
    assert await store.load("tg:1") == state
    assert 0 < await store.client.ttl("balie:tg:1:state") <= 30 * 86400


async def test_missing_or_broken_state_is_fresh(store: StateStore) -> None:
    assert await store.load("tg:none") == ChatState()
    await store.client.set("balie:tg:2:state", "{not json")
    assert await store.load("tg:2") == ChatState()


async def test_an_update_is_seen_once(store: StateStore) -> None:
    first = await store.begin("tg:1", 7, False, 100)
    assert first is not None and first.token is not None
    await store.end("tg:1", first.state, first.token)
    assert await store.begin("tg:1", 7, False, 100) is None
    assert await store.begin("tg:2", 7, False, 100), "update ids are per chat"
    assert 0 < await store.client.ttl(keys.seen("tg:1")) <= 2 * 86400
    assert "tg:1" not in keys.seen("tg:1"), "kept by digest, so it outlives /vergeet"


async def test_a_turn_begins_and_ends_in_one_round_trip_each(store: StateStore) -> None:
    state = ChatState(language="en", case=3)
    await store.save("tg:1", state)
    await store.client.hset(keys.handoff("tg:1"), "mode", "queued")
    begun = await store.begin("tg:1", 8, False, 2)
    assert begun is not None and begun.token is not None
    assert begun.state == state and begun.ticket == {b"mode": b"queued"} and begun.turns == 1
    assert await store.client.get(keys.lock("tg:1")) == begun.token.encode()
    begun.state.case = 4
    await store.end("tg:1", begun.state, begun.token)
    assert (await store.load("tg:1")).case == 4
    assert not await store.client.exists(keys.lock("tg:1"))
    redelivered = await store.begin("tg:1", 8, True, 2)
    assert redelivered is not None and redelivered.turns == 2, "a redelivered update is answered"
    assert redelivered.token is not None
    await store.unlock("tg:1", redelivered.token)
    flooded = await store.begin("tg:1", 9, False, 2)
    assert flooded is not None and flooded.token is None and flooded.state.language == "en"
    assert not await store.client.exists(keys.lock("tg:1")), "a flooded turn takes no lock"


async def test_lock_serialises_turns_of_one_chat(store: StateStore) -> None:
    order: list[str] = []

    async def turn(name: str) -> None:
        async with store.locked("tg:1"):
            order.append(f"{name} in")
            await asyncio.sleep(0.05)
            order.append(f"{name} out")

    await asyncio.gather(turn("a"), turn("b"))
    assert order in (["a in", "a out", "b in", "b out"], ["b in", "b out", "a in", "a out"])


def test_recent_intents_are_capped() -> None:
    state = ChatState()
    for number in range(8):
        state.remember(f"i{number}")
    assert state.last_intents == ["i3", "i4", "i5", "i6", "i7"]


async def test_embedded_server_is_a_real_redis(tmp_path: Path) -> None:
    store = StateStore.open(None, tmp_path, timedelta(days=1))
    try:
        info = await store.client.info("server")
        assert "redis_version" in info
        assert await store.client.ping()
    finally:
        await store.close()


def test_a_state_saved_before_forms_existed_loads_without_a_form() -> None:
    old = '{"language":"en","last_intents":[],"pending":null,"slots":{},"fallbacks":0,' \
          '"mode":"bot","case":0,"language_locked":false}'
    assert ChatState.from_json(old) == ChatState(language="en")


@pytest.mark.parametrize("mode", [None, Confirming(), Noting("callback"), Commenting(),
                                  PollCommenting(12)])
def test_every_mode_round_trips(mode: Mode | None) -> None:
    state = ChatState(mode=mode)
    assert ChatState.from_json(state.to_json()) == state


@pytest.mark.parametrize(("stored", "mode"), [
    ("bot", None), ("confirming", Confirming()), ("message", Noting("message")),
    ("callback", Noting("callback")), ("commenting", Commenting()),
    ("poll_comment:12", PollCommenting(12)), ("nonsense", None),
])
def test_a_mode_stored_as_a_string_by_an_older_balie_still_loads(
    stored: str, mode: Mode | None
) -> None:
    old = json.dumps({"language": "nl", "last_intents": [], "pending": None, "slots": {},
                      "fallbacks": 0, "mode": stored, "case": 3, "form": ""})
    assert ChatState.from_json(old) == ChatState(mode=mode, case=3)


async def test_a_queued_update_survives_a_killed_embedded_server(tmp_path: Path) -> None:
    server = EmbeddedRedis(tmp_path / "redis")
    client = connect(server.start())
    update = {"update_id": 41, "message": updates.message(4100, text="hoi")}
    await inbox.append(client, [update], maxlen=1000, max_age=3600)
    await client.aclose()
    server.stop(save=False)  # SIGKILL: no snapshot is written
    again = EmbeddedRedis(tmp_path / "redis")
    client = connect(again.start())
    try:
        assert await client.xlen(inbox.STREAM) == 1
        assert await client.llen(keys.inbox("tg:4100")) == 1
    finally:
        await client.aclose()
        again.stop()


async def handed_over(store: StateStore, chat: str, update_id: int) -> inbox.DrainLock:
    """Take the chat's drain lock as a worker does, its update at the head of the inbox."""
    await store.client.rpush(keys.inbox(chat), json.dumps({"update_id": update_id}))
    lock = inbox.DrainLock(store.client, chat, 3000)
    assert await lock.take() and lock.head and lock.head.ready
    return lock


async def test_a_handed_over_turn_ends_as_its_update_is_popped(store: StateStore) -> None:
    lock = await handed_over(store, "tg:3", 5)
    assert lock.head and lock.head.ready
    ready = READY.set(lock.head.ready)
    try:
        begun = await store.begin("tg:3", 5, False, 20)
        assert begun and begun.token and begun.token.startswith("d:")
        begun.state.language = "en"
        assert await store.end("tg:3", begun.state, begun.token, '{"batch": 1}') == 0
    finally:
        READY.reset(ready)
    assert (await store.load("tg:3")).language == "nl", "not yet: the answer is still going out"
    assert await store.client.get(keys.lock("tg:3")) == begun.token.encode()
    await lock.pop(lock.head, {}, "")
    assert (await store.load("tg:3")).language == "en"
    assert not await store.client.exists(keys.lock("tg:3"))
    assert await store.client.lrange(keys.BACKLOG, 0, -1) == [b'{"batch": 1}']
    assert await store.begin("tg:3", 5, False, 20) is None, "seen as it was handed over"


async def test_a_dead_workers_turn_lock_is_taken_over_but_not_a_staff_notice(
    store: StateStore,
) -> None:
    lock = await handed_over(store, "tg:4", 6)
    assert lock.head and lock.head.ready and lock.head.ready.reply[1] == 1
    await store.client.delete(keys.drain("tg:4"))  # the worker died: its drain lock expired
    again = inbox.DrainLock(store.client, "tg:4", 3000)
    assert await again.take() and again.head and again.head.ready
    assert again.head.tries == 2 and again.head.ready.reply[1] == 1, "its chat lock taken over"
    assert await store.client.get(keys.lock("tg:4")) == again.head.ready.opening.token.encode()

    await store.client.set(keys.lock("tg:4"), "staff-notice", px=10_000)
    await store.client.delete(keys.drain("tg:4"))
    third = inbox.DrainLock(store.client, "tg:4", 3000)
    assert await third.take() and third.head and third.head.ready
    assert third.head.ready.reply[1] == 0, "a notice from staff is waited for"


async def test_a_turn_whose_answer_must_wait_ends_before_it_waits(store: StateStore) -> None:
    lock = await handed_over(store, "tg:5", 7)
    assert lock.head and lock.head.ready
    tokens = READY.set(lock.head.ready), LIMIT.set(RateLimit(store.client, 30))
    try:
        begun = await store.begin("tg:5", 7, False, 20)
        assert begun and begun.token
        begun.state.language = "en"
        await store.end("tg:5", begun.state, begun.token)
        outbox = Outbox(store.client, "tg:5", lock.head, ttl=60)
        languages = []

        async def send() -> dict[str, int]:
            languages.append((await store.load("tg:5")).language)
            return {"message_id": len(languages)}

        await outbox.send(send)  # counted in the rate as the update was handed over
        await store.client.set(keys.SEND_PAUSE, 1, px=300)  # a 429 holds every send
        await outbox.send(send)
    finally:
        READY.reset(tokens[0])
        LIMIT.reset(tokens[1])
    assert languages == ["nl", "en"], "the state saved before the second send waited"
    assert not await store.client.exists(keys.lock("tg:5")), "and the chat's lock released"
