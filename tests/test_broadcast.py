"""Broadcasts to emulated subscribers (2,000 at once): Telegram's limits, blocked chats, crash
and resume."""

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import redis.asyncio as redis
from pydantic import SecretStr
from sqlalchemy import func, select
from telegram import Bot

from bot.history.log import History
from bot.intake.budget import RateLimit
from bot.listening.announcements import Newsroom, Subscription
from bot.listening.broadcast import Broadcaster, Report
from bot.nlu import content
from bot.ops import commands
from bot.ops.commands import _messages, _sender, office
from bot.settings import PROJECT_DIR, Settings
from tests.support.bot_api import TOKEN, BotAPI

TOPICS = content.read_topics(PROJECT_DIR / "intents" / "topics.yml")
SUBSCRIBERS = 2000
RESUMED = 900  # subscribers of the broadcast killed in the middle
FIRST = 100_000



async def subscribe_many(history: History, count: int = SUBSCRIBERS) -> None:
    now = datetime.now(UTC)
    async with history.sessions.begin() as session:
        session.add_all(Subscription(chat_id=f"tg:{FIRST + n}", topic="aanslag",
                                     language="en" if n % 4 == 0 else "nl", created_at=now,
                                     tenant="voorbeeld")
                        for n in range(count))


async def announce(history: History) -> tuple[Newsroom, int]:
    news = Newsroom(history, TOPICS)
    announcement = await news.announce(
        "De aanslagen 2027 komen op 26 februari.", "The 2027 notices arrive on 26 February.",
        datetime.now(UTC), datetime.now(UTC) + timedelta(days=1), "aanslag", inline=False,
        created_by="test")
    return news, announcement.id


def received(bot_api: BotAPI) -> Counter[int]:
    return Counter({chat: len(messages) for chat, messages in bot_api.sent.items()})


async def run_broadcast(
    history: History, bot_api: BotAPI, settings: Settings, per_second: int,
    budget: RateLimit | None = None,
) -> Report:
    news, announcement = await announce(history)
    broadcaster = Broadcaster(history, news)
    broadcast = await broadcaster.create("aanslag", announcement_id=announcement)
    assert settings.redis_url
    client = redis.Redis.from_url(settings.redis_url)
    try:
        async with office(settings) as desk, Bot(TOKEN, base_url=bot_api.base_url) as bot:
            messages = await _messages(desk, announcement, None)
            return await broadcaster.run(
                broadcast, _sender(bot, messages, client),
                budget or RateLimit(client, settings.send_per_second), per_second)
    finally:
        await client.aclose()


async def test_2000_subscribers_get_it_once_and_blocked_ones_are_unsubscribed(
    history: History, bot_api: BotAPI, settings: Settings,
) -> None:
    await subscribe_many(history)
    bot_api.chat_interval = 1.0
    bot_api.blocked = {FIRST + n for n in range(0, SUBSCRIBERS, 40)}
    report = await run_broadcast(history, bot_api, settings, per_second=1000)
    blocked = len(bot_api.blocked)
    assert report.counts == {"sent": SUBSCRIBERS - blocked, "blocked": blocked,
                             "sent_now": SUBSCRIBERS - blocked}
    counts = received(bot_api)
    assert set(counts.values()) == {1} and len(counts) == SUBSCRIBERS - blocked
    assert not set(counts) & bot_api.blocked
    assert bot_api.sent[FIRST + 1][0]["text"].startswith("📢 De aanslagen 2027")
    assert bot_api.sent[FIRST + 4][0]["text"].startswith("📢 The 2027 notices")
    async with history.sessions() as session:
        left = await session.scalar(select(func.count()).select_from(Subscription))
    assert left == SUBSCRIBERS - blocked, "citizens who blocked the bot are unsubscribed"


async def test_too_many_requests_is_waited_out(
    history: History, bot_api: BotAPI, settings: Settings,
) -> None:
    await subscribe_many(history, count=300)
    # Asking for more than the emulator allows makes it answer 429, and so does every 100th
    # send, which a busy machine that never reaches 40/s meets too: Balie must wait and retry.
    bot_api.rate_limit = 40
    bot_api.refuse_every = 100
    report = await run_broadcast(history, bot_api, settings, per_second=80)
    assert report.counts["sent"] == 300
    assert report.retries >= 3 and bot_api.refusals[429] == report.retries
    assert set(received(bot_api).values()) == {1}
    # Waited out, by the emulator's clock: after each 429 (retry after 1 s) nothing for 1 s.
    for refused in bot_api.refused_at:
        after = [at for at in bot_api.accepted_at if at > refused]
        assert not after or after[0] - refused >= 1.0, "sent again before retry_after"
    assert report.rate <= 40 * 1.1


async def test_answers_and_a_broadcast_together_stay_within_the_shared_budget(
    history: History, bot_api: BotAPI, settings: Settings,
) -> None:
    await subscribe_many(history, count=15)
    assert settings.redis_url
    client = redis.Redis.from_url(settings.redis_url)
    budget = RateLimit(client, 10)
    answered: Counter[int] = Counter()

    async def answer() -> None:
        # What a worker's outbox does before each message it sends.
        answered[await budget.acquire()] += 1

    try:
        report, *_ = await asyncio.gather(
            run_broadcast(history, bot_api, settings, per_second=6, budget=budget),
            *(answer() for _ in range(15)))
    finally:
        await client.aclose()
    assert report.counts["sent"] == 15 and answered.total() == 15
    # Counted per second of the budget itself, so a slow machine cannot blur the seconds.
    assert max((answered + report.per_second).values()) <= 10, "never more than the budget"
    assert report.peak <= 6, "the broadcast leaves room for answers"


@pytest.mark.process
async def test_a_killed_broadcast_resumes_without_duplicates(
    history: History, bot_api: BotAPI, environment: dict[str, str], tmp_path: Path,
) -> None:
    await subscribe_many(history, count=RESUMED)
    news, announcement = await announce(history)
    broadcast = await Broadcaster(history, news).create("aanslag", announcement_id=announcement)
    env = {**os.environ, **environment, "TELEGRAM_TOKEN": TOKEN,
           "TELEGRAM_BASE_URL": bot_api.base_url, "BALIE_BROADCAST_PER_SECOND": "250",
           "BALIE_LOG_LEVEL": "WARNING"}
    command = [sys.executable, "-m", "bot", "broadcast", str(broadcast)]
    first = await asyncio.create_subprocess_exec(
        *command, env=env, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    await bot_api.wait(lambda: sum(received(bot_api).values()) >= RESUMED // 3, timeout=60)
    first.send_signal(signal.SIGKILL)
    await first.wait()
    before = sum(received(bot_api).values())
    assert before < RESUMED, "killed in the middle"

    second = await asyncio.create_subprocess_exec(
        *command, env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    output, _ = await second.communicate()
    assert second.returncode == 0
    report = json.loads(output.decode().strip().splitlines()[-1])
    counts = received(bot_api)
    assert max(counts.values()) == 1, "nobody got the announcement twice"
    missing = RESUMED - len(counts)
    in_doubt = report.get("in_doubt", 0)
    # The one message in flight when the process died may or may not have arrived: it is
    # marked in doubt and not sent again, so nobody gets it twice.
    assert missing <= in_doubt <= 1
    assert report["sent"] + in_doubt == RESUMED
    assert report["sent_now"] == RESUMED - before - missing


async def test_resuming_with_nothing_unfinished_says_so(
    settings: Settings, capsys: pytest.CaptureFixture[str],
) -> None:
    settings = settings.model_copy(update={"telegram_token": SecretStr(TOKEN)})
    assert await commands.run(settings, argparse.Namespace(command="broadcast", id=None)) == 0
    assert capsys.readouterr().out.strip() == "Nothing to resume: every broadcast has been sent."
