"""Every conversation of tests/data/conversations.yml through the real pipeline, and some channels.

One case per conversation, named after it. A failure prints the whole exchange with the
responses recognised in each reply and every check that did not hold. The conversations
marked with `channels:` also run over the Telegram Bot API emulator and the web chat's HTTP API.
"""

import html
from collections.abc import AsyncIterator, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.console import create_app, serve
from bot.services import Services
from bot.settings import Settings
from bot.types import Button, Reply, Turn
from tests.console.conftest import Citizen
from tests.support.bot_api import BotAPI
from tests.support.conversations import Checker, Conversation, load, play, verdict
from tests.support.facts import facts

# One backend, the one every machine has, keeps the file fast; tests/test_pipeline.py runs the
# same pipeline on both.
pytestmark = pytest.mark.parametrize("backend", ["embedded"], indirect=True)
CONVERSATIONS = load()
STAFF_CHAT = -1001313
CITIZEN = 5131


def overrides(conversation: Conversation, tmp_path: Path) -> dict[str, str]:
    """The environment a conversation's setup asks for: opening hours and a staff desk."""
    values = {"BALIE_FACTS_DIR": facts(tmp_path, conversation.office_open)}
    if conversation.staffed:
        values["BALIE_STAFF_CHAT_ID"] = str(STAFF_CHAT)
    return values


def in_process(settings: Settings, conversation: Conversation,
               tmp_path: Path) -> AbstractAsyncContextManager[Services]:
    updated = {"facts_dir": Path(overrides(conversation, tmp_path)["BALIE_FACTS_DIR"]),
               "staff_chat_id": STAFF_CHAT if conversation.staffed else None}
    return Services.opened(settings.model_copy(update=updated))


@pytest.mark.parametrize("conversation", CONVERSATIONS, ids=[c.name for c in CONVERSATIONS])
async def test_conversation(conversation: Conversation, settings: Settings,
                            tmp_path: Path) -> None:
    async with in_process(settings, conversation, tmp_path) as services:
        channel = conversation.setup.get("channel", "test")
        exchange = await play(conversation, f"{channel}:1", services.balie.handle, channel)
        failed = verdict(conversation, exchange, Checker(services.balie.renderer))
    assert failed is None, failed


def on_channels() -> Iterator[Any]:
    for conversation in CONVERSATIONS:
        for channel in conversation.channels:
            yield pytest.param(conversation, channel, id=f"{conversation.name}-{channel}")


def from_telegram(message: dict[str, Any]) -> Reply:
    rows = message.get("reply_markup", {}).get("inline_keyboard", [])
    return Reply(html.unescape(message["text"]),
                 tuple(Button(b["text"], b["callback_data"]) for row in rows for b in row))


def from_web(replies: list[dict[str, Any]]) -> list[Reply]:
    return [Reply(str(r["text"]), tuple(Button(**b) for b in r["buttons"])) for r in replies]


@asynccontextmanager
async def telegram(served_bot: Any, bot_api: BotAPI, extra: dict[str, str],
                   counts: list[int]) -> AsyncIterator[Any]:
    """Yield a turn handler that talks to the bot served against the Bot API emulator."""
    served_bot(**extra)
    await bot_api.wait_for_call("getUpdates", timeout=60)
    steps = iter(counts)
    sent: list[dict[str, Any]] = []

    async def handle(made: Turn) -> list[Reply]:
        before = len(bot_api.sent.get(CITIZEN, []))
        language = made.language_hint or "nl"
        if made.kind == "button":
            [message] = [m for m in sent if any(b["callback_data"] == made.text for row in
                         m.get("reply_markup", {}).get("inline_keyboard", []) for b in row)]
            await bot_api.press(CITIZEN, message, made.text)
        else:
            await bot_api.say(CITIZEN, made.text, language)
        count = next(steps)
        got = await bot_api.replies(CITIZEN, count, after=before) if count else []
        sent.extend(got)
        return [from_telegram(message) for message in got]

    yield handle


@asynccontextmanager
async def web(settings: Settings, extra: dict[str, str],
              language: str) -> AsyncIterator[Any]:
    """Yield a turn handler that talks to the web chat's HTTP API, as the page does."""
    updated = settings.model_copy(update={
        "facts_dir": Path(extra["BALIE_FACTS_DIR"]),
        "staff_chat_id": int(extra["BALIE_STAFF_CHAT_ID"]) if "BALIE_STAFF_CHAT_ID" in extra
        else None})
    async with Services.opened(updated) as services, serve(
            create_app(updated, services), updated), httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{updated.console_port}", timeout=30) as client:
        citizen = Citizen(client)
        await citizen.start(language)

        async def handle(made: Turn) -> list[Reply]:
            if made.kind == "button":
                return from_web(await citizen.say(button=made.text))
            return from_web(await citizen.say(made.text))

        yield handle


@pytest.mark.parametrize(("conversation", "channel"), list(on_channels()))
async def test_conversation_on_a_channel(
    conversation: Conversation, channel: str, settings: Settings, tmp_path: Path,
    served_bot: Any, bot_api: BotAPI,
) -> None:
    extra = overrides(conversation, tmp_path)
    # How many messages each turn gets, from the pipeline in process: the channel must send
    # as many, and the test knows when a turn's answer is complete without waiting.
    async with in_process(settings, conversation, tmp_path) as services:
        counts = [len(replies) for replies in await play(
            conversation, "count:1", services.balie.handle)]
        checker = Checker(services.balie.renderer)
    if channel == "telegram":
        talking = telegram(served_bot, bot_api, extra, counts)
    else:
        talking = web(settings, extra, conversation.language_code)
    async with talking as handle:
        exchange = await play(conversation, "", handle)
    failed = verdict(conversation, exchange, checker)
    assert failed is None, f"on {channel}: {failed}"
