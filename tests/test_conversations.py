"""Every conversation of tests/data/conversations.yml through the real pipeline, and some channels.

One case per conversation, named after it. A failure prints the whole exchange with the
responses recognised in each reply and every check that did not hold. The conversations
marked with `channels:` also run over the Telegram Bot API emulator and the web chat's HTTP API.
"""

import html
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
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
Handle = Callable[[Turn], Awaitable[list[Reply]]]


def configured(settings: Settings, conversation: Conversation, tmp_path: Path) -> Settings:
    """The settings a conversation's setup asks for: its opening hours and a staff desk."""
    return settings.model_copy(update={
        "facts_dir": Path(facts(tmp_path, conversation.office_open)),
        "staff_chat_id": STAFF_CHAT if conversation.staffed else None})


@pytest.mark.parametrize("conversation", CONVERSATIONS, ids=[c.name for c in CONVERSATIONS])
async def test_conversation(conversation: Conversation, settings: Settings,
                            tmp_path: Path) -> None:
    async with Services.opened(configured(settings, conversation, tmp_path)) as services:
        channel = conversation.setup.get("channel", "test")
        exchange = await play(conversation, f"{channel}:1", services.balie.handle, channel)
        failed = verdict(conversation, exchange, Checker(services.balie.renderer))
    if failed:
        pytest.fail(failed, pytrace=False)  # the exchange says it all; the traceback does not


def on_channels() -> Iterator[Any]:
    for conversation in CONVERSATIONS:
        for channel in conversation.channels:
            yield pytest.param(conversation, channel, id=f"{conversation.name}-{channel}")


def from_telegram(message: dict[str, Any]) -> Reply:
    rows = message.get("reply_markup", {}).get("inline_keyboard", [])
    return Reply(html.unescape(message["text"]),
                 tuple(Button(b["text"], b["callback_data"]) for row in rows for b in row))


@asynccontextmanager
async def telegram(updated: Settings, served_bot: Any, bot_api: BotAPI,
                   counts: list[int]) -> AsyncIterator[Handle]:
    """Yield a turn handler that talks to the bot served against the Bot API emulator.

    `counts` says how many messages each turn gets, so a turn's answer is complete without
    waiting for more.
    """
    extra = {"BALIE_FACTS_DIR": str(updated.facts_dir)}
    if updated.staff_chat_id is not None:
        extra["BALIE_STAFF_CHAT_ID"] = str(updated.staff_chat_id)
    served_bot(**extra)
    await bot_api.wait_for_call("getUpdates", timeout=60)
    expected = iter(counts)
    received: list[dict[str, Any]] = []

    async def handle(made: Turn) -> list[Reply]:
        before = len(bot_api.sent.get(CITIZEN, []))
        if made.kind == "button":
            [message] = [m for m in received if made.text in {
                b["callback_data"] for row in m.get("reply_markup", {}).get("inline_keyboard", [])
                for b in row}]
            await bot_api.press(CITIZEN, message, made.text)
        else:
            await bot_api.say(CITIZEN, made.text, made.language_hint or "nl")
        count = next(expected)
        got = await bot_api.replies(CITIZEN, count, after=before) if count else []
        received.extend(got)
        return [from_telegram(message) for message in got]

    yield handle


def from_web(reply: dict[str, object]) -> Reply:
    buttons = reply["buttons"]
    assert isinstance(buttons, list)
    return Reply(str(reply["text"]), tuple(Button(**button) for button in buttons))


@asynccontextmanager
async def web(updated: Settings, language: str) -> AsyncIterator[Handle]:
    """Yield a turn handler that talks to the web chat's HTTP API, as the page does."""
    async with Services.opened(updated) as services, serve(
            create_app(updated, services), updated), httpx.AsyncClient(
            base_url=updated.console_url, timeout=30) as client:
        citizen = Citizen(client)
        await citizen.start(language)

        async def handle(made: Turn) -> list[Reply]:
            said = await (citizen.say(button=made.text) if made.kind == "button"
                          else citizen.say(made.text))
            return [from_web(reply) for reply in said]

        yield handle


@pytest.mark.parametrize(("conversation", "channel"), list(on_channels()))
async def test_conversation_on_a_channel(
    conversation: Conversation, channel: str, settings: Settings, tmp_path: Path,
    served_bot: Any, bot_api: BotAPI,
) -> None:
    updated = configured(settings, conversation, tmp_path)
    async with Services.opened(updated) as services:
        # The pipeline in process says how many messages each turn gets: the channel must
        # send as many.
        counts = [len(replies) for replies in await play(
            conversation, "count:1", services.balie.handle)]
        checker = Checker(services.balie.renderer)
    talking = (telegram(updated, served_bot, bot_api, counts) if channel == "telegram"
               else web(updated, conversation.language_code))
    async with talking as handle:
        exchange = await play(conversation, "", handle)
    failed = verdict(conversation, exchange, checker)
    if failed:
        pytest.fail(f"on {channel}: {failed}", pytrace=False)
