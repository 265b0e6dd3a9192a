"""Broadcast benchmark: the rate reached against the configured limit, printed as JSON.

Runs the local Bot API emulator with Telegram's limit of 30 messages a second and sends one
announcement to N subscribers (SQLite and an embedded Redis for the send budget of 30 a
second in a temporary folder).

    PYTHONPATH=. .venv/bin/python bench/broadcast.py [--subscribers N] [--per-second R]
"""

import argparse
import asyncio
import json
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from telegram import Bot

from bot.history.log import History
from bot.intake.budget import RateLimit
from bot.listening.announcements import Newsroom, Subscription
from bot.listening.broadcast import Broadcaster
from bot.nlu import content
from bot.ops.commands import _sender
from bot.state.store import EmbeddedRedis, connect
from tests.support.bot_api import TOKEN, BotAPI

ROOT = Path(__file__).resolve().parent.parent
TELEGRAM_LIMIT = 30


async def main(subscribers: int, per_second: int) -> None:
    api = BotAPI()
    await api.start()
    api.rate_limit = TELEGRAM_LIMIT
    api.chat_interval = 1.0
    folder = tempfile.mkdtemp()
    history = await History.open(f"sqlite+aiosqlite:///{folder}/bench.db")
    newsroom = Newsroom(history, content.read_topics(ROOT / "intents" / "topics.yml"))
    now = datetime.now(UTC)
    async with history.sessions.begin() as session:
        session.add_all(Subscription(chat_id=f"tg:{10_000 + n}", topic="aanslag", language="nl",
                                     created_at=now) for n in range(subscribers))
    announcement = await newsroom.announce("Test", "Test", now, now + timedelta(days=1),
                                           "aanslag", inline=False, created_by="bench")
    broadcaster = Broadcaster(history, newsroom)
    broadcast = await broadcaster.create("aanslag", announcement_id=announcement.id)
    redis_server = EmbeddedRedis(Path(folder) / "redis")
    client = connect(redis_server.start())
    async with Bot(TOKEN, base_url=api.base_url) as bot:
        report = await broadcaster.run(
            broadcast, _sender(bot, {"nl": ("Test", None), "en": ("Test", None)}),
            RateLimit(client, TELEGRAM_LIMIT), per_second)
    await client.aclose()
    redis_server.stop(save=False)
    await history.close()
    await api.stop()
    print(json.dumps({
        "subscribers": subscribers, "configured_per_second": per_second,
        "telegram_limit_per_second": TELEGRAM_LIMIT, "measured_per_second": round(report.rate, 2),
        "peak_per_second": report.peak,
        "seconds": round(report.seconds, 2), "retries_after_429": report.retries,
        "delivered_once": sorted({len(m) for m in api.sent.values()}) == [1]
        and len(api.sent) == subscribers,
    }))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--subscribers", type=int, default=600)
    parser.add_argument("--per-second", type=int, default=25)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.subscribers, arguments.per_second))
