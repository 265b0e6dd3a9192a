"""Calculator and forms end to end: the bot served in process, the Bot API emulator, a citizen."""

import asyncio
import re
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import create_async_engine

from bot.handoff.cases import SqlCases
from tests.support.action_server import action_server as running
from tests.support.bot_api import BotAPI

CITIZEN = 5501
STAFF_CHAT, STAFF = -1005501, 9501


def data(message: dict[str, Any], title: str) -> str:
    return next(b["callback_data"] for row in message["reply_markup"]["inline_keyboard"]
                for b in row if b["text"] == title)


@pytest.fixture
def action_server(environment: dict[str, str]) -> Iterator[str]:
    """A rasa-sdk action server on the test's database, as docker-compose runs one."""
    with running(environment) as address:
        yield address


async def test_a_missing_woz_value_then_a_household_total_and_its_correction(
    served_bot: Any, bot_api: BotAPI
) -> None:
    served_bot()
    await bot_api.wait_for_call("getUpdates", timeout=60)
    [ask] = await bot_api.exchange(CITIZEN, "reken mijn ozb uit")
    assert ask["text"].startswith("Wat is de WOZ-waarde?")
    [again] = await bot_api.exchange(CITIZEN, "-300000")
    assert again["text"].startswith("Dat lijkt geen WOZ-waarde.")
    [ozb] = await bot_api.exchange(CITIZEN, "3,5 ton")
    assert ozb["text"].startswith(
        "• OZB (eigenaar woning): € 350.000,00 \u00d7 0,0856% = € 299,60")
    [total] = await bot_api.exchange(
        CITIZEN, "we zijn met z'n drieën, huis van 410.000 en een hond, wat betalen we?")
    assert total["text"].splitlines() == [
        "• OZB (eigenaar woning): € 410.000,00 \u00d7 0,0856% = € 350,96",
        "• Afvalstoffenheffing (3 personen): € 396,00",
        "• Rioolheffing: € 246,60",
        "• Hondenbelasting (1 hond): € 96,00",
        "Samen: € 1.089,56 per jaar. Huur je je woning? Dan betaal je geen OZB. Het precieze "
        "bedrag staat op je aanslag."]
    [total] = await bot_api.exchange(CITIZEN, "oh nee, we hebben twee honden")
    assert "• Hondenbelasting (2 honden): € 240,00" in total["text"]
    [total] = await bot_api.exchange(
        CITIZEN, "we are three people, our house is worth 410,000 and we have one dog, "
        "what do we pay?", language="en")
    assert "Together: €1,089.56 a year." in total["text"]
    assert "• OZB (home owner): €410,000.00 \u00d7 0.0856% = €350.96" in total["text"]


async def test_arrangement_form_over_the_action_server_then_its_status(
    served_bot: Any, bot_api: BotAPI, environment: dict[str, str], action_server: str
) -> None:
    served_bot(BALIE_ACTION_ENDPOINT=action_server)
    await bot_api.wait_for_call("getUpdates", timeout=60)
    [answer] = await bot_api.exchange(CITIZEN, "kan ik een betalingsregeling krijgen?")
    await bot_api.press(CITIZEN, answer, data(answer, "Regeling aanvragen"))
    [ask] = await bot_api.replies(CITIZEN, after=1)
    assert ask["text"].startswith("Hoeveel moet je nog betalen?")
    [again] = await bot_api.exchange(CITIZEN, "heel veel")
    assert again["text"].startswith("Typ het bedrag als getal, tussen € 50,00 en € 10.000,00.")
    [ask] = await bot_api.exchange(CITIZEN, "€ 900,-")
    assert ask["text"].startswith("In hoeveel termijnen wil je betalen?")
    await bot_api.exchange(CITIZEN, "3")
    [done] = await bot_api.exchange(CITIZEN, "1234 AB 5")
    # 900.00 / 3 = 300.00
    assert done["text"].startswith("Je verzoek is verstuurd: € 900,00 in 3 termijnen van "
                                   "ongeveer € 300,00. Je kenmerk is BR-")
    reference = done["text"].split("Je kenmerk is ")[1][:9]
    engine = create_async_engine(environment["DATABASE_URL"])
    try:
        [task] = await SqlCases(engine).tasks()
    finally:
        await engine.dispose()
    assert (task.chat_id, task.note) == (f"tg:{CITIZEN}", f"{reference}: € 900,00 in 3 termijnen")
    [ask] = await bot_api.exchange(CITIZEN, "wat is de status van mijn aanvraag?")
    assert ask["text"].startswith("Wat is het kenmerk van je zaak?")
    await bot_api.exchange(CITIZEN, reference)
    [status] = await bot_api.exchange(CITIZEN, "1234AB 5")
    assert status["text"].startswith(
        f"We hebben je verzoek om een betalingsregeling ({reference}) ontvangen.")
    await bot_api.exchange(CITIZEN, "wat is de status van mijn aanvraag?")
    [stopped] = await bot_api.exchange(CITIZEN, "stop")
    assert stopped["text"].startswith("Oké, ik ben gestopt")


async def test_arrangement_request_is_posted_once_to_the_staff_group(
    served_bot: Any, bot_api: BotAPI
) -> None:
    bot_api.members.update({STAFF: "member"})
    served_bot(BALIE_STAFF_CHAT_ID=str(STAFF_CHAT), BALIE_STAFF_IDS=str(STAFF),
                BALIE_HANDOFF_REMINDER_SECONDS="3")
    await bot_api.wait_for_call("getUpdates", timeout=60)
    [answer] = await bot_api.exchange(CITIZEN, "can I get a payment plan?", language="en")
    await bot_api.press(CITIZEN, answer, data(answer, "Request an arrangement"))
    await bot_api.replies(CITIZEN, after=1)
    for text in ["450", "2"]:
        await bot_api.exchange(CITIZEN, text, language="en")
    [done] = await bot_api.exchange(CITIZEN, "1234 AB 5", language="en")
    reference = done["text"].split("Your reference is ")[1][:9]
    posted = await bot_api.wait(lambda: bot_api.topic_with(STAFF_CHAT, reference), timeout=15,
                                what="the task in the staff group")
    assert re.fullmatch(r"📋 Taak #\d+ · een betalingsregeling · EN\n"
                        + re.escape(f"{reference}: € 450,00 in 2 termijnen"), posted["text"])
    await asyncio.sleep(3)
    assert len([m for m in bot_api.sent[STAFF_CHAT] if reference in m["text"]]) == 1
