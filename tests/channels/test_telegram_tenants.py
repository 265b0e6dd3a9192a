"""A collaboration's shared Telegram bot asks the municipality once; a town's own bot does not."""

from functools import partial
from pathlib import Path
from typing import Any

import pytest

from tests.channels.test_telegram import CITIZEN, polling_bot
from tests.support.bot_api import TOKEN, BotAPI
from tests.test_cli import balie

DOG_TAX = "wat kost de hondenbelasting voor één hond?"
ASK = "In welke gemeente woon je?"
HELD = "Je vraag beantwoord ik zodra ik weet in welke gemeente je woont"
MUNICIPALITIES = ["Gemeente Oosterdorp", "Gemeente Voorbeeld", "Gemeente Westerstad"]


def titles(message: dict[str, Any]) -> list[str]:
    return [button["text"] for row in message["reply_markup"]["inline_keyboard"]
            for button in row]


async def test_a_shared_bot_asks_once_and_answers_the_held_question_for_the_postcode(
    served_bot: Any, bot_api: BotAPI
) -> None:
    await polling_bot(partial(served_bot, BALIE_TENANTS=""), bot_api)
    greeting, asked = await bot_api.exchange(CITIZEN, "/start", count=2)
    assert "Balie" in greeting["text"] and ASK in asked["text"]
    assert titles(asked) == MUNICIPALITIES
    [held] = await bot_api.exchange(CITIZEN, DOG_TAX)
    assert HELD in held["text"] and "€" not in held["text"]
    chosen, answer = await bot_api.exchange(CITIZEN, "7405 AB", count=2)
    assert "Gemeente Oosterdorp" in chosen["text"]
    assert "€ 72,00" in answer["text"]
    [again] = await bot_api.exchange(CITIZEN, DOG_TAX)
    assert "€ 72,00" in again["text"] and HELD not in again["text"], "remembered"


async def test_a_towns_own_bot_answers_for_it_without_asking(
    served_bot: Any, bot_api: BotAPI
) -> None:
    own = partial(served_bot, BALIE_TENANTS="", BALIE_TELEGRAM_TENANT="westerstad")
    await polling_bot(own, bot_api)
    [greeting] = await bot_api.exchange(CITIZEN, "/start")
    assert "Balie" in greeting["text"] and ASK not in greeting["text"]
    [answer] = await bot_api.exchange(CITIZEN, DOG_TAX)
    assert "€ 120,00" in answer["text"]


@pytest.mark.process
@pytest.mark.parametrize("key", ["waterschap-voorbeeld", "nergensdorp"])
def test_a_bot_for_no_municipality_does_not_start(tmp_path: Path, key: str) -> None:
    result = balie("run", tmp_path=tmp_path, TELEGRAM_TOKEN=TOKEN,
                   TELEGRAM_BASE_URL="http://127.0.0.1:9/bot", BALIE_TELEGRAM_TENANT=key)
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"BALIE_TELEGRAM_TENANT is {key!r}, which is not one of the municipalities served "
        f"(oosterdorp, voorbeeld, westerstad).")
