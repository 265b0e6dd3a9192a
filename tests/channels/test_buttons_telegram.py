"""Buttons and details on Telegram: late query answers, old buttons, captions, the menu."""

from typing import Any

from tests.support import updates
from tests.support.bot_api import BotAPI

CITIZEN = 5301


async def polling_bot(served_bot: Any, bot_api: BotAPI) -> Any:
    process = served_bot()
    await bot_api.wait_for_call("getUpdates", timeout=60)
    return process


def titles(message: dict[str, Any]) -> list[str]:
    rows = message.get("reply_markup", {}).get("inline_keyboard", [])
    return [b["text"] for row in rows for b in row]


def data(message: dict[str, Any], title: str) -> str:
    rows = message["reply_markup"]["inline_keyboard"]
    return next(str(b["callback_data"]) for row in rows for b in row if b["text"] == title)


async def test_a_press_is_handled_when_answering_the_query_fails(
    served_bot: Any, bot_api: BotAPI
) -> None:
    await polling_bot(served_bot, bot_api)
    [answer] = await bot_api.exchange(CITIZEN, "hoe lang heb ik om bezwaar te maken?")
    bot_api.late_queries = True
    await bot_api.press(CITIZEN, answer, data(answer, "👍"))
    [thanks] = await bot_api.replies(CITIZEN, after=1)
    assert thanks["text"].startswith("Dank"), thanks["text"]


async def test_older_thumbs_are_taken_off_when_a_newer_answer_comes(
    served_bot: Any, bot_api: BotAPI
) -> None:
    await polling_bot(served_bot, bot_api)
    [first] = await bot_api.exchange(CITIZEN, "hoe lang heb ik om bezwaar te maken?")
    assert titles(first)[-2:] == ["👍", "👎"]
    [second] = await bot_api.exchange(CITIZEN, "wat is de woz-waarde?")
    assert "👍" in titles(second)
    await bot_api.wait(lambda: "reply_markup" not in first, what="old thumbs removed")
    assert "👍" in titles(bot_api.sent[CITIZEN][-1]), "the newest answer keeps its thumbs"


async def test_a_caption_is_read_and_the_command_menu_is_in_dutch_and_english(
    served_bot: Any, bot_api: BotAPI
) -> None:
    await polling_bot(served_bot, bot_api)
    await bot_api.push({"message": updates.message(
        CITIZEN, caption="hoe lang heb ik om bezwaar te maken?", **updates.NON_TEXT["photo"])})
    [answer] = await bot_api.replies(CITIZEN)
    assert "6 weken" in answer["text"]
    menus = {p.get("language_code"): [c["command"] for c in p["commands"]]
             for name, p in bot_api.calls if name == "setMyCommands"}
    assert "hulp" in menus["nl"] and "intrekken" in menus["nl"] and "help" not in menus["nl"]
    assert "help" in menus["en"] and "withdraw" in menus["en"] and "hulp" not in menus["en"]
