"""Supervisor commands: announce, broadcast, polls and their results, answer feedback, policy."""

import argparse
import contextlib
import json
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from statistics import median
from typing import Any

from redis.asyncio import Redis
from sqlalchemy import select
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import Forbidden, RetryAfter

from bot.channels.transport import AiohttpRequest
from bot.history.log import Handoff, History, Message
from bot.history.retention import purge
from bot.history.tenancy import ALL
from bot.intake.budget import RateLimit
from bot.listening.announcements import Announcement, Newsroom
from bot.listening.broadcast import Blocked, Broadcaster, Progress, RetryLater, Send
from bot.listening.listener import ask, poll_buttons
from bot.listening.polls import Poll, Polls, to_csv
from bot.nlu import content
from bot.replies import tenants
from bot.replies.render import Placeholders
from bot.settings import PROJECT_DIR, Settings
from bot.state.store import StateStore
from bot.types import LANGUAGES, as_language

POLICY = PROJECT_DIR / "docs" / "policy.md"


@dataclass
class Office:
    """What the supervisor commands work with."""

    settings: Settings
    history: History
    newsroom: Newsroom
    polls: Polls
    broadcaster: Broadcaster


@asynccontextmanager
async def office(settings: Settings) -> AsyncIterator[Office]:
    """Open the database and the stores for one command."""
    history = await History.open(settings.sqlalchemy_url, tenant=settings.municipality)
    topics = content.read_topics(settings.intents_dir / "topics.yml")
    newsroom = Newsroom(history, topics)
    try:
        yield Office(settings, history, newsroom, Polls(history), Broadcaster(history, newsroom))
    finally:
        await history.close()


def add_commands(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Add the supervisor subcommands to the `balie` parser."""
    announce = commands.add_parser("announce", help="publish an announcement")
    announce.add_argument("--nl", required=True, help="Dutch text")
    announce.add_argument("--en", required=True, help="English text")
    announce.add_argument("--topic", help="news topic (intents/topics.yml)")
    announce.add_argument("--from", dest="valid_from", help="start, ISO date/time (default now)")
    announce.add_argument("--until", help="end, ISO date/time (default: 14 days after start)")
    announce.add_argument("--no-inline", action="store_true", help="do not show in answers")
    announce.add_argument("--broadcast", action="store_true", help="send to subscribers now")
    announce.add_argument("--tenant", default=ALL, help="for one tenant (default *: all)")
    broadcast = commands.add_parser("broadcast", help="send or resume unfinished broadcasts")
    broadcast.add_argument("id", nargs="?", type=int)
    poll = commands.add_parser("poll", help="create, send and read polls")
    polls = poll.add_subparsers(dest="poll_command", required=True)
    create = polls.add_parser("create")
    create.add_argument("--nl", required=True)
    create.add_argument("--en", required=True)
    create.add_argument("--option", action="append", default=[], metavar="NL=EN",
                        help="an answer option (2 to 5); none gives a 1 to 5 scale")
    create.add_argument("--free-text", action="store_true", help="ask for a comment after")
    create.add_argument("--topic")
    create.add_argument("--after-intent", help="ask at the end of answers of this intent")
    create.add_argument("--tenant", default=ALL, help="for one tenant (default *: all)")
    send = polls.add_parser("send", help="send a poll to the subscribers of its topic")
    send.add_argument("id", type=int)
    results = polls.add_parser("results")
    results.add_argument("id", type=int)
    results.add_argument("--csv", action="store_true")
    feedback = commands.add_parser("feedback", help="thumbs up/down per intent")
    feedback.add_argument("--csv", action="store_true")
    commands.add_parser("policy", help="print the chat policy with this municipality's values")
    purge = commands.add_parser("purge", help="delete conversation data past the retention time")
    purge.add_argument("--days", type=int, help="default: retention_days of the municipality")
    report = commands.add_parser("report", help="response times against the policy's targets")
    report.add_argument("--days", type=int, default=30)


def _when(text: str | None, default: datetime) -> datetime:
    if not text:
        return default
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


async def run(settings: Settings, args: argparse.Namespace) -> int:
    """Carry out one supervisor command."""
    if args.command == "policy":
        print(policy(settings))
        return 0
    try:
        return await _run(settings, args)
    except ValueError as error:
        print(f"balie: {error}", file=sys.stderr)
        return 2


async def _run(settings: Settings, args: argparse.Namespace) -> int:
    async with office(settings) as desk:
        if args.command == "announce":
            start = _when(args.valid_from, datetime.now(UTC))
            announcement = await desk.newsroom.announce(
                args.nl, args.en, start, _when(args.until, start + timedelta(days=14)),
                args.topic, inline=not args.no_inline, created_by="cli", tenant=args.tenant,
            )
            print(f"announcement {announcement.id} valid {announcement.valid_from:%Y-%m-%d %H:%M}"
                  f" until {announcement.valid_until:%Y-%m-%d %H:%M}")
            if args.broadcast:
                await desk.broadcaster.create(args.topic, announcement_id=announcement.id,
                                              tenant=announcement.tenant)
                return await _broadcast(desk, None)
            return 0
        if args.command == "broadcast":
            return await _broadcast(desk, args.id)
        if args.command == "purge":
            town = tenants.load(settings.facts, settings.municipality)
            days = args.days if args.days is not None else int(town.facts["retention_days"])
            counts = await purge(desk.history, days, actor="cli")
            print(json.dumps(counts))
            return 0
        if args.command == "report":
            town = tenants.load(settings.facts, settings.municipality)
            print(await response_times(desk.history, town.facts, args.days))
            return 0
        if args.command == "feedback":
            rows = [[intent, up, down] for intent, (up, down) in
                    (await desk.polls.feedback_per_intent()).items()]
            if args.csv:
                print(to_csv(["intent", "up", "down"], rows), end="")
            for intent, up, down in [] if args.csv else rows:
                print(f"{intent:>22}  👍 {up:>4}  👎 {down:>4}")
            return 0
        return await _poll(desk, args)


async def _poll(desk: Office, args: argparse.Namespace) -> int:
    if args.poll_command == "create":
        options = [dict(zip(("nl", "en"), o.split("=", 1), strict=True)) for o in args.option]
        created = await desk.polls.create(args.nl, args.en, options or None, args.free_text,
                                          args.topic, args.after_intent, args.tenant)
        print(f"poll {created.id} created")
        return 0
    if args.poll_command == "send":
        found = await desk.polls.get(args.id)
        if found is None:
            print(f"no poll {args.id}", file=sys.stderr)
            return 1
        # A tenant's poll goes to that tenant's subscribers only.
        await desk.broadcaster.create(found.topic, poll_id=found.id, tenant=found.tenant)
        return await _broadcast(desk, None)
    results = await desk.polls.results(args.id)
    if args.csv:
        rows = [[label, count] for label, count in
                zip(results.poll.labels("nl"), results.counts, strict=True)]
        print(to_csv(["option", "votes"], rows), end="")
        return 0
    print(f"{results.poll.question_nl}  ({results.total} votes)\n{results.chart()}")
    for intent, comments in results.comments.items():
        print(f"\n{intent}:")
        print("\n".join(f"  • {comment}" for comment in comments))
    return 0


async def _broadcast(desk: Office, only: int | None) -> int:
    settings = desk.settings
    if settings.telegram_token is None:
        print("TELEGRAM_TOKEN is not set", file=sys.stderr)
        return 1
    chosen = [only] if only else await desk.broadcaster.unfinished()
    if not chosen:
        print("Nothing to resume: every broadcast has been sent.")
        return 0
    bot = Bot(settings.telegram_token.get_secret_value(), base_url=settings.telegram_base_url,
              request=AiohttpRequest())
    # The budget the running workers share: a broadcast never crowds out their answers.
    store = StateStore.open(settings.redis_url, settings.data_dir,
                            timedelta(days=settings.state_ttl_days))
    budget = RateLimit(store.client, settings.send_per_second)
    async with contextlib.AsyncExitStack() as stack:
        stack.push_async_callback(store.close)
        await stack.enter_async_context(bot)
        for broadcast_id in chosen:
            broadcast = await desk.broadcaster.get(broadcast_id)
            if broadcast is None:
                print(f"balie: there is no broadcast {broadcast_id}", file=sys.stderr)
                return 1
            messages = await _messages(desk, broadcast.announcement_id, broadcast.poll_id)
            # This run sends to those still waiting, not to those reached before a crash.
            total = (await desk.broadcaster.counts(broadcast_id)).get("pending", 0)
            report = await desk.broadcaster.run(
                broadcast_id, _sender(bot, messages, store.client), budget,
                settings.broadcast_per_second, progress=_bar(total))
            print(file=sys.stderr)
            print(json.dumps({"broadcast": broadcast_id, **report.counts,
                              "retries": report.retries, "seconds": round(report.seconds, 2),
                              "per_second": round(report.rate, 1),
                              "peak_per_second": report.peak,
                              "limit_per_second": settings.broadcast_per_second}))
    return 0


async def _messages(
    desk: Office, announcement_id: int | None, poll_id: int | None
) -> tuple[dict[str, str], Poll | None]:
    """The text per language: an announcement's, or a poll's question (with the poll)."""
    if poll_id is not None:
        poll = await desk.polls.get(poll_id)
        if poll is None:
            raise ValueError(f"no poll {poll_id}")
        return {language: poll.question(language) for language in LANGUAGES}, poll
    async with desk.history.sessions() as session:
        announcement = await session.get(Announcement, announcement_id)
    if announcement is None:
        raise ValueError(f"no announcement {announcement_id}")
    return {language: "📢 " + announcement.text(language) for language in LANGUAGES}, None


def _sender(bot: Bot, messages: tuple[dict[str, str], Poll | None], client: "Redis") -> Send:
    """Send a broadcast's message through the Bot API, naming Telegram's refusals.

    A poll's buttons carry the nonce it is asked with in each chat.
    """
    texts, poll = messages

    async def send(chat_id: str, language: str) -> None:
        markup = None
        if poll is not None:
            nonce, _ = await ask(client, chat_id, poll.id)
            markup = InlineKeyboardMarkup(
                [[InlineKeyboardButton(b.title, callback_data=b.data)]
                 for b in poll_buttons(poll, as_language(language), nonce)])
        try:
            await bot.send_message(int(chat_id.removeprefix("tg:")), texts[as_language(language)],
                                   reply_markup=markup)
        except Forbidden as error:
            raise Blocked() from error
        except RetryAfter as error:
            wait = error.retry_after
            seconds = wait.total_seconds() if isinstance(wait, timedelta) else float(wait)
            raise RetryLater(seconds) from error

    return send


def _bar(total: int, width: int = 40) -> Progress:
    """A progress bar on stderr."""

    def show(counts: dict[str, int]) -> None:
        done = counts["sent_now"]
        filled = round(width * done / total) if total else width
        print(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total}", end="",
              file=sys.stderr, flush=True)

    return show


async def response_times(history: History, facts: dict[str, Any], days: int) -> str:
    """Measured response times of the last `days` days next to the policy's targets."""
    since = datetime.now(UTC) - timedelta(days=days)
    await history.settle()
    async with history.sessions() as session:
        answers = (await session.scalars(select(Message.latency_ms).where(
            Message.direction == "out", Message.created_at >= since,
            Message.latency_ms.is_not(None)))).all()
        handoffs = (await session.execute(select(
            Handoff.kind, Handoff.waited_seconds, Handoff.handled_seconds,
        ).where(Handoff.queued_at >= since))).all()
    # A live chat waits until a staff member claims it; a message left waits until handled.
    live = [waited / 60 for kind, waited, _ in handoffs if kind == "live" and waited is not None]
    left = [handled / 86400 for kind, _, handled in handoffs
            if kind in ("message", "callback") and handled]
    target_minutes, target_days = facts["target_wait_minutes"], facts["target_message_days"]

    def line(name: str, values: list[float], unit: str, target: float | None) -> str:
        if not values:
            return f"{name}: no data"
        within = f", {sum(v <= target for v in values) / len(values):.0%} within the target " \
                 f"of {target} {unit}" if target is not None else ""
        return f"{name}: median {median(values):.1f} {unit} over {len(values)}{within}"

    return "\n".join([
        f"Last {days} days",
        line("Balie's answers", [ms / 1000 for ms in answers if ms is not None], "s", None),
        line("Staff taking a live chat", live, "minutes", target_minutes),
        line("Staff taking a message left out of hours", left, "days", target_days),
    ])


def policy(settings: Settings, path: Path = POLICY) -> str:
    """Fill the policy template with the municipality's facts (Dutch)."""
    town = tenants.load(settings.facts, settings.municipality)
    return path.read_text(encoding="utf-8").format_map(Placeholders(town, "nl", {}))
