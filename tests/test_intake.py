"""The webhook intake and health endpoints over HTTP, with real Redis and a real database."""

import asyncio
import contextlib
import json
import logging
import socket
from collections.abc import AsyncIterator
from typing import Any, cast

import httpx
import pytest
import redis.asyncio as redis
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import create_async_engine

from bot.intake import inbox, receiver
from bot.ops import health, runner
from bot.settings import Settings
from bot.state import keys
from tests.conftest import free_port
from tests.support import updates
from tests.support.bot_api import BotAPI
from tests.support.traces import redis_text

SECRET = "hook-secret-of-at-least-32-characters"
HEADERS = {receiver.SECRET_HEADER: SECRET}


def update(update_id: int, chat: int = 7001, text: str = "hoi") -> dict[str, Any]:
    return {"update_id": update_id, "message": updates.message(chat, text=text)}


async def client_for(settings: Settings, client: "redis.Redis") -> httpx.AsyncClient:
    engine = create_async_engine(settings.sqlalchemy_url)
    app = receiver.create_app(receiver.webhook_router(settings, client, "/hook"),
                            health.router(client, engine))
    return httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://balie")


@pytest.fixture
async def hook(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Any]:
    monkeypatch.setenv("BALIE_WEBHOOK_SECRET", SECRET)
    monkeypatch.setenv("BALIE_WEBHOOK_MAX_BYTES", "4096")
    configured = Settings(_env_file=None)  # type: ignore[call-arg]
    assert configured.redis_url
    client = redis.Redis.from_url(configured.redis_url)
    async with await client_for(configured, client) as http:
        yield http, client
    await client.aclose()


async def test_an_update_is_stored_in_the_stream_and_the_chats_inbox(hook: Any) -> None:
    http, client = hook
    sent = update(1)
    response = await http.post("/hook", json=sent, headers=HEADERS)
    assert response.status_code == 200
    [(_, fields)] = await client.xrange(inbox.STREAM)
    assert fields == {b"chat": b"tg:7001", b"update": b"1"}, "routing only, no text or names"
    [stored] = await client.lrange(keys.inbox("tg:7001"), 0, -1)
    assert json.loads(stored) == sent


async def test_the_stream_is_trimmed_by_age_and_an_inbox_expires(hook: Any) -> None:
    http, client = hook
    await client.xadd(inbox.STREAM, {"chat": "tg:7001", "update": 0}, id="1000-0")
    assert (await http.post("/hook", json=update(1), headers=HEADERS)).status_code == 200
    assert [fields[b"update"] for _, fields in await client.xrange(inbox.STREAM)] == [b"1"]
    assert 0 < await client.ttl(keys.inbox("tg:7001")) <= 86_400


async def test_an_update_without_a_chat_is_acknowledged_logged_and_dropped(
    hook: Any, caplog: pytest.LogCaptureFixture
) -> None:
    http, client = hook
    chatless = {"update_id": 8, "poll": {"id": "p1", "question": "Henkie?", "options": []}}
    with caplog.at_level(logging.WARNING, logger="bot.intake.inbox"):
        assert (await http.post("/hook", json=chatless, headers=HEADERS)).status_code == 200
    assert await client.xlen(inbox.STREAM) == 0
    assert not await client.exists(keys.inbox(inbox.NO_CHAT))
    [record] = [r for r in caplog.records if r.getMessage() == "update without a chat dropped"]
    assert getattr(record, "update", None) == 8 and "Henkie" not in str(vars(record))


async def until(check: Any, what: str, seconds: float = 10.0) -> None:
    """Poll `check()` until it is true."""
    for _ in range(int(seconds * 20)):
        if await check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"never: {what}")


async def test_nothing_of_a_handled_update_stays_in_redis(
    served_bot: Any, bot_api: BotAPI, settings: Settings
) -> None:
    served_bot()
    await bot_api.wait_for_call("getUpdates", timeout=60)
    text = "mijn bsn is 111222333 en mijn iban NL91ABNA0417164300, groet Jantje"
    message = updates.message(7010, text=text)
    for holder in (message["from"], message["chat"]):
        holder.update(first_name="Henkie", last_name="Keizer", username="henkie_k")
    await bot_api.push({"message": message})
    await bot_api.replies(7010)
    assert settings.redis_url
    client = redis.Redis.from_url(settings.redis_url)
    try:
        async def handled() -> bool:
            stats = await inbox.stream_stats(client)
            return not stats["pending"] and not await client.llen(keys.inbox("tg:7010"))

        await until(handled, "the update handled")
        assert await client.xlen(inbox.STREAM) == 0, "a handled entry is deleted"
        kept = await redis_text(client)
    finally:
        await client.aclose()
    for personal in (text, "111222333", "NL91ABNA0417164300", "Jantje", "Henkie", "Keizer",
                     "henkie_k"):
        assert personal not in kept, kept


async def test_a_replayed_delivery_is_accepted_again(hook: Any) -> None:
    http, client = hook
    for _ in range(2):
        assert (await http.post("/hook", json=update(2), headers=HEADERS)).status_code == 200
    assert await client.xlen(inbox.STREAM) == 2, "the worker, not the intake, drops the replay"


async def test_missing_secret_is_401_and_wrong_secret_403(hook: Any) -> None:
    http, client = hook
    assert (await http.post("/hook", json=update(3))).status_code == 401
    wrong = {receiver.SECRET_HEADER: "guess"}
    assert (await http.post("/hook", json=update(3), headers=wrong)).status_code == 403
    assert await client.xlen(inbox.STREAM) == 0


async def test_without_a_configured_secret_every_update_is_refused(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("BALIE_WEBHOOK_SECRET", raising=False)
    configured = Settings(_env_file=None)  # type: ignore[call-arg]
    assert configured.redis_url and configured.webhook_secret is None
    client = redis.Redis.from_url(configured.redis_url)
    async with await client_for(configured, client) as http:
        assert (await http.post("/hook", json=update(3))).status_code == 401
        forged = {receiver.SECRET_HEADER: ""}
        assert (await http.post("/hook", json=update(4), headers=forged)).status_code == 401
    assert await client.xlen(inbox.STREAM) == 0
    await client.aclose()


@pytest.mark.parametrize("secret", [None, "too-short", "x" * 31, "ä" * 40,
                                    "a secret with spaces" * 2])
async def test_webhook_mode_does_not_start_without_a_long_secret(
    settings: Settings, secret: str | None
) -> None:
    changed = settings.model_copy(update={
        "webhook_url": "https://balie.example.nl/hook",
        "webhook_secret": SecretStr(secret) if secret is not None else None})
    with pytest.raises(runner.NotStarted, match="BALIE_WEBHOOK_SECRET"):
        await runner.run(changed, workers=0)
    assert not (settings.data_dir / "redis").exists(), "refused before anything started"


@pytest.mark.parametrize("exposed", [False, True])
async def test_readiness_and_metrics_need_the_token_when_one_is_set(
    settings: Settings, exposed: bool
) -> None:
    assert settings.redis_url
    client = redis.Redis.from_url(settings.redis_url)
    app = receiver.create_app(health.router(client, None, token="t0ken", exposed=exposed))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app),
                                 base_url="http://balie") as http:
        assert (await http.get("/healthz")).status_code == 200
        for path in ("/readyz", "/metrics"):
            assert (await http.get(path)).status_code == 401
            wrong = {"Authorization": "Bearer guess"}
            assert (await http.get(path, headers=wrong)).status_code == 401
            right = {"Authorization": "Bearer t0ken"}
            assert (await http.get(path, headers=right)).status_code == 200
    await client.aclose()


async def test_health_on_an_exposed_address_without_a_token_tells_only_alive(
    served_bot: Any, bot_api: Any
) -> None:
    port = free_port()
    served_bot(BALIE_WEBHOOK_URL=f"http://127.0.0.1:{port}/hook", BALIE_WEBHOOK_SECRET=SECRET,
               BALIE_WEBHOOK_LISTEN="0.0.0.0", BALIE_WEBHOOK_PORT=str(port))
    await bot_api.wait_for_call("setWebhook", timeout=60)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
        assert (await http.get("/healthz")).status_code == 200
        for path in ("/readyz", "/metrics"):
            refused = await http.get(path)
            assert refused.status_code == 403 and "BALIE_HEALTH_TOKEN" in refused.text
        assert await bot_api.deliver(update(9)) == 200, "the webhook itself still listens"


async def test_health_in_polling_mode_listens_on_this_machine_only(
    served_bot: Any, bot_api: Any
) -> None:
    port = free_port()
    bot = served_bot(BALIE_HEALTH_PORT=str(port))
    assert bot.settings.health_listen == "127.0.0.1"
    await bot_api.wait_for_call("getUpdates", timeout=60)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
        assert (await http.get("/readyz")).json() == {"status": "ready"}
    with socket.socket() as other:  # free on another address: not bound to all of them
        other.bind(("127.0.0.2", port))


async def test_oversized_body_is_413(hook: Any) -> None:
    http, client = hook
    big = update(4, text="x" * 5000)
    assert (await http.post("/hook", json=big, headers=HEADERS)).status_code == 413

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(10):
            yield b" " * 1000  # no Content-Length: counted while reading

    response = await http.post("/hook", content=chunks(), headers=HEADERS)
    assert response.status_code == 413
    assert await client.xlen(inbox.STREAM) == 0


@pytest.mark.parametrize("body", [b"{not json", b"[1, 2]", b'{"message": {}}', b"\xff\xfe"])
async def test_malformed_body_is_400_and_logged(
    hook: Any, body: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    http, client = hook
    with caplog.at_level(logging.WARNING, logger="bot.intake.receiver"):
        response = await http.post("/hook", content=body, headers=HEADERS)
    assert response.status_code == 400
    assert any(getattr(r, "status", None) == 400 for r in caplog.records)
    assert await client.xlen(inbox.STREAM) == 0


async def test_redis_away_is_503_so_telegram_retries(settings: Settings) -> None:
    away = redis.Redis.from_url(f"redis://127.0.0.1:{free_port()}/0", socket_connect_timeout=1)
    configured = settings.model_copy(update={"webhook_secret": SecretStr(SECRET)})
    async with await client_for(configured, away) as http:
        assert (await http.post("/hook", json=update(5), headers=HEADERS)).status_code == 503
        assert (await http.get("/healthz")).status_code == 200
        ready = await http.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["problems"] == ["redis: ConnectionError"]
    await away.aclose()


async def test_ready_and_metrics_with_redis_and_database(hook: Any) -> None:
    http, _ = hook
    assert (await http.post("/hook", json=update(6), headers=HEADERS)).status_code == 200
    ready = await http.get("/readyz")
    assert ready.status_code == 200, ready.json()
    page = (await http.get("/metrics")).text
    assert "balie_stream_length 1.0" in page
    assert "balie_stream_lag" in page
    assert 'balie_webhook_refused_total{status="401"}' in page or "balie_updates_total" in page


async def test_turns_are_counted_in_the_metrics(balie: Any, hook: Any) -> None:
    from bot.types import Turn

    http, _ = hook
    await balie.handle(Turn("metrics:1", "test", "text", "xq zzv plop"))
    await balie.handle(Turn("metrics:1", "test", "text", "wanneer moet ik betalen?"))
    page = (await http.get("/metrics")).text
    assert 'balie_messages_total{direction="in"}' in page
    assert "balie_fallbacks_total" in page and "balie_turn_seconds_bucket" in page
    assert 'balie_intents_total{intent="payment_deadline"}' in page


async def test_the_poller_moves_the_offset_only_once_redis_has_the_update(
    bot_api: Any, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.support.bot_api import TOKEN

    monkeypatch.setenv("TELEGRAM_TOKEN", TOKEN)
    monkeypatch.setenv("TELEGRAM_BASE_URL", bot_api.base_url)
    configured = Settings(_env_file=None)  # type: ignore[call-arg]
    first = await bot_api.say(7002, "hoi")
    away = redis.Redis.from_url(f"redis://127.0.0.1:{free_port()}/0", socket_connect_timeout=1)
    async with httpx.AsyncClient() as http:
        polling = asyncio.create_task(receiver.poll(configured, away, http))
        await bot_api.wait_for_call("getUpdates", timeout=10)
        await asyncio.sleep(1.0)
        polling.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await polling
        offsets = [p.get("offset") for m, p in bot_api.calls if m == "getUpdates"]
        assert offsets == [None], "no getUpdates (which would confirm it) while Redis is away"

        assert configured.redis_url
        client = redis.Redis.from_url(configured.redis_url)
        polling = asyncio.create_task(receiver.poll(configured, client, http))
        await bot_api.wait(lambda: any(p.get("offset") == first + 1 for m, p in bot_api.calls
                                       if m == "getUpdates"), timeout=10, what="offset moved")
        polling.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await polling
        assert await client.llen(keys.inbox("tg:7002")) == 1
        await client.aclose()
    await away.aclose()


async def test_a_drain_lock_keeper_ends_when_redis_loses_its_cancellation() -> None:
    calling = asyncio.Event()

    class Swallowing:
        """A Redis client whose call turns a cancellation into a reply, as redis-py can."""

        async def pexpire(self, key: str, milliseconds: int) -> bool:
            calling.set()
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                return True
            return True

    lock = inbox.DrainLock(cast(Any, Swallowing()), "tg:1", milliseconds=30)
    keeper = asyncio.create_task(lock.keep())
    await calling.wait()
    keeper.cancel()
    await asyncio.wait({keeper}, timeout=10)
    assert keeper.cancelled(), "the keeper stopped renewing the lock"
