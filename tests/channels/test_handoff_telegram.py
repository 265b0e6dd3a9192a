"""Handoff end to end: citizens and staff on the Bot API emulator, the bot served between."""

import asyncio
import os
import time
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import redis as redis_sync
from sqlalchemy import select

from bot.history.log import Handoff, HandoffEvent, History
from bot.state import keys
from tests.support.bot_api import BotAPI
from tests.support.facts import facts

STAFF_CHAT = -1001234
ANNA, BRAM, CAS, NOT_A_MEMBER, NOT_ON_LIST = 9001, 9002, 9003, 9004, 6666
CITIZEN = 5101


@pytest.fixture
def start_staffed(served_bot: Any, bot_api: BotAPI, tmp_path: Path) -> Any:
    bot_api.members.update({ANNA: "member", BRAM: "member", CAS: "creator",
                            NOT_ON_LIST: "member"})

    async def start(open_now: bool = True, **extra: str) -> Any:
        process = served_bot(
            BALIE_STAFF_CHAT_ID=str(STAFF_CHAT),
            BALIE_STAFF_IDS=f"{ANNA},{BRAM},{CAS},{NOT_A_MEMBER}",
            BALIE_FACTS_DIR=facts(tmp_path, open_now), **extra)
        await bot_api.wait_for_call("getUpdates", timeout=60)
        return process

    return start


def topic_of(citizen: int) -> int | None:
    """The staff topic of a citizen, from Balie's topic map (titles name no chat ids)."""
    with redis_sync.Redis.from_url(os.environ["REDIS_URL"]) as client:
        topic = client.hget(keys.HANDOFF_TOPICS, f"tg:{citizen}")
    return int(topic) if topic else None


def last_with_button(bot_api: BotAPI, thread: int, prefix: str) -> dict[str, Any] | None:
    for message in reversed(bot_api.in_topic(STAFF_CHAT, thread)):
        for row in message.get("reply_markup", {}).get("inline_keyboard", []):
            if any(b["callback_data"].startswith(prefix) for b in row):
                return message
    return None


def button(message: dict[str, Any], title: str) -> str:
    for row in message["reply_markup"]["inline_keyboard"]:
        for b in row:
            if b["text"] == title:
                return str(b["callback_data"])
    raise AssertionError(f"no button {title!r} in {message}")


async def queue_citizen(bot_api: BotAPI, citizen: int) -> int:
    """Ask for a person, confirm, and return the staff topic that opens."""
    [confirm] = await bot_api.exchange(citizen, "ik wil een medewerker spreken")
    assert confirm["text"] == "Wil je met een medewerker chatten?"
    before = len(bot_api.sent[citizen])
    await bot_api.press(citizen, confirm, button(confirm, "Ja, graag"))
    [queued] = await bot_api.replies(citizen, after=before)
    assert "wachtrij" in queued["text"]
    thread: int = await bot_api.wait(lambda: topic_of(citizen), what="staff topic")
    await bot_api.wait(lambda: last_with_button(bot_api, thread, "staff:claim"), what="Claim")
    return thread


async def silent(bot_api: BotAPI, citizen: int, count: int) -> None:
    await asyncio.sleep(0.5)
    assert len(bot_api.sent[citizen]) == count, bot_api.sent[citizen][count:]


async def test_the_full_story(start_staffed: Any, bot_api: BotAPI, environment: dict[str, str],
                              capsys: pytest.CaptureFixture[str]) -> None:
    await start_staffed()
    thread = await queue_citizen(bot_api, CITIZEN)
    summary = last_with_button(bot_api, thread, "staff:claim")
    assert summary and "request_human" not in summary["text"] and "taal NL" in summary["text"]
    assert "tg:" not in bot_api.topics[thread]["name"]
    assert bot_api.topics[thread]["name"].endswith(" · NL")

    await bot_api.exchange(CITIZEN, "mijn aanslag klopt niet, bsn 111222333")  # bot answers
    await bot_api.wait(lambda: bot_api.topic_with(STAFF_CHAT, "Burger: mijn aanslag klopt niet"))
    assert bot_api.topic_with(STAFF_CHAT, "bsn [bsn]"), "masked for staff too"
    count = len(bot_api.sent[CITIZEN])

    started = time.perf_counter()
    await bot_api.staff_press(ANNA, summary, button(summary, "Claim"))
    [claimed] = await bot_api.replies(CITIZEN, after=count)
    claim_seen = time.perf_counter() - started
    assert claimed["text"].startswith("Je chat is overgenomen door Anna.")
    await bot_api.staff_says(STAFF_CHAT, thread, ANNA, "Goedemiddag, ik kijk even mee.")
    [first] = await bot_api.replies(CITIZEN, after=count + 1)
    first_message_seen = time.perf_counter() - started
    assert first["text"] == "Anna: Goedemiddag, ik kijk even mee."

    await bot_api.say(CITIZEN, "hoe lang heb ik om bezwaar te maken?")
    await bot_api.wait(lambda: bot_api.topic_with(STAFF_CHAT, "Burger: hoe lang heb ik"))
    await bot_api.send_content(CITIZEN, "sticker")
    await bot_api.wait(lambda: bot_api.topic_with(STAFF_CHAT, "Burger: [sticker]"))
    await silent(bot_api, CITIZEN, count + 2)

    owned = await bot_api.wait(lambda: last_with_button(bot_api, thread, "staff:close"))
    await bot_api.staff_press(ANNA, owned, button(owned, "Teruggeven aan Balie"))
    [closed] = await bot_api.replies(CITIZEN, after=count + 2)
    assert closed["text"].startswith("De medewerker heeft het gesprek afgesloten.")
    await bot_api.press(CITIZEN, closed, button(closed, "4"))
    [ask] = await bot_api.replies(CITIZEN, after=count + 3)
    assert ask["text"].startswith("Dank je! Wil je nog iets toelichten?")
    [thanks] = await bot_api.exchange(CITIZEN, "Fijn geholpen, bel 0612345678 als er iets is")
    assert thanks["text"].startswith("Dank je wel voor je reactie.")
    [answer] = await bot_api.exchange(CITIZEN, "hoe lang heb ik om bezwaar te maken?")
    assert "6 weken" in answer["text"], "the bot answers again"

    history = await History.open(environment["DATABASE_URL"])
    async with history.sessions() as session:
        case = (await session.scalars(select(Handoff))).one()
        events = (await session.scalars(select(HandoffEvent.event))).all()
    await history.close()
    assert (case.outcome, case.rating, case.agent_name) == ("closed", 4, "Anna")
    assert case.comment == "Fijn geholpen, bel [phone] als er iets is"
    assert case.waited_seconds is not None and case.handled_seconds is not None
    assert list(events) == ["queued", "claimed", "closed", "rated", "rated"]
    with capsys.disabled():
        print(f"\nclaim → citizen told: {claim_seen * 1000:.0f} ms; claim → citizen sees the "
              f"first staff message: {first_message_seen * 1000:.0f} ms")


async def test_out_of_hours_call_back_request(start_staffed: Any, bot_api: BotAPI) -> None:
    await start_staffed(open_now=False, BALIE_HANDOFF_REMINDER_SECONDS="3")  # tasks post soon
    [confirm] = await bot_api.exchange(CITIZEN, "ik wil een medewerker spreken")
    await bot_api.press(CITIZEN, confirm, button(confirm, "Ja, graag"))
    [closed_hours] = await bot_api.replies(CITIZEN, after=1)
    assert "morgen om 9.00 uur" in closed_hours["text"]
    await bot_api.press(CITIZEN, closed_hours, button(closed_hours, "Terugbelverzoek"))
    [ask] = await bot_api.replies(CITIZEN, after=2)
    assert "telefoonnummer" in ask["text"]
    [left] = await bot_api.exchange(CITIZEN, "Bel me op 0612345678 na 14 uur, over de WOZ")
    assert left["text"].startswith("Dank je, je bericht staat klaar")
    note = await bot_api.wait(lambda: bot_api.topic_with(STAFF_CHAT, "📋 Terugbellen #"),
                              timeout=20)
    assert "Bel me op [phone] na 14 uur" in note["text"] and "(☎ 0612345678)" in note["text"]
    assert "tg:" not in note["text"]
    [answer] = await bot_api.exchange(CITIZEN, "hoe lang heb ik om bezwaar te maken?")
    assert "6 weken" in answer["text"], "out of hours the bot keeps answering"


async def test_citizen_cancels_while_queued(start_staffed: Any, bot_api: BotAPI) -> None:
    await start_staffed()
    thread = await queue_citizen(bot_api, CITIZEN)
    [cancelled] = await bot_api.exchange(CITIZEN, "stop")
    assert cancelled["text"].startswith("Je staat niet meer in de wachtrij.")
    await bot_api.wait(lambda: bot_api.topic_with(STAFF_CHAT, "Burger annuleerde"))
    await bot_api.wait(lambda: bot_api.topics[thread]["closed"], what="topic closed")
    [answer] = await bot_api.exchange(CITIZEN, "hoe lang heb ik om bezwaar te maken?")
    assert "6 weken" in answer["text"]


async def test_two_staff_race_to_claim_and_one_wins(start_staffed: Any, bot_api: BotAPI) -> None:
    await start_staffed()
    thread = await queue_citizen(bot_api, CITIZEN)
    summary = last_with_button(bot_api, thread, "staff:claim")
    assert summary
    await asyncio.gather(bot_api.staff_press(ANNA, summary, button(summary, "Claim")),
                         bot_api.staff_press(BRAM, summary, button(summary, "Claim")))
    answers = await bot_api.wait(
        lambda: [a["text"] for a in bot_api.callback_answers if "text" in a][:2]
        if len([a for a in bot_api.callback_answers if "text" in a]) >= 2 else None)
    assert sorted(answers)[1] == "Je hebt deze chat."
    assert sorted(answers)[0].startswith("Al geclaimd door ")
    await asyncio.sleep(0.5)
    assert len([m for m in bot_api.in_topic(STAFF_CHAT, thread) if "✅" in m["text"]]) == 1


async def test_outsiders_cannot_claim_or_relay(start_staffed: Any, bot_api: BotAPI,
                                               environment: dict[str, str]) -> None:
    await start_staffed()
    thread = await queue_citizen(bot_api, CITIZEN)
    summary = last_with_button(bot_api, thread, "staff:claim")
    assert summary
    for outsider in (NOT_ON_LIST, NOT_A_MEMBER):
        await bot_api.staff_press(outsider, summary, button(summary, "Claim"))
    answers = await bot_api.wait(lambda: len(texts := [
        a for a in bot_api.callback_answers if a.get("text")]) >= 2 and texts)
    assert all(str(a.get("show_alert")).lower() == "true" for a in answers)
    await bot_api.staff_press(ANNA, summary, button(summary, "Claim"))
    count = await bot_api.wait(lambda: len(bot_api.sent[CITIZEN]) == 3 and 3)
    await bot_api.staff_says(STAFF_CHAT, thread, NOT_ON_LIST, "ik ben geen medewerker")
    await bot_api.staff_says(STAFF_CHAT, thread, BRAM, "ik heb deze chat niet")
    await bot_api.wait(lambda: bot_api.topic_with(STAFF_CHAT, "Claim deze chat eerst"))
    await silent(bot_api, CITIZEN, count)
    history = await History.open(environment["DATABASE_URL"])
    async with history.sessions() as session:
        refused = (await session.scalars(
            select(HandoffEvent.actor).where(HandoffEvent.event == "refused"))).all()
    await history.close()
    assert sorted(refused) == sorted(
        [f"telegram:{NOT_ON_LIST}", f"telegram:{NOT_A_MEMBER}", f"telegram:{NOT_ON_LIST}"])


async def test_relay_survives_a_restart_of_the_bot(start_staffed: Any, bot_api: BotAPI) -> None:
    process = await start_staffed()
    thread = await queue_citizen(bot_api, CITIZEN)
    summary = last_with_button(bot_api, thread, "staff:claim")
    assert summary
    await bot_api.staff_press(ANNA, summary, button(summary, "Claim"))
    await bot_api.replies(CITIZEN, after=2)
    await process.stop()
    bot_api.calls.clear()
    await start_staffed()
    await bot_api.staff_says(STAFF_CHAT, thread, ANNA, "Ik ben er weer")
    [relayed] = await bot_api.replies(CITIZEN, after=3)
    assert relayed["text"] == "Anna: Ik ben er weer"
    await bot_api.say(CITIZEN, "fijn, dank je")
    await bot_api.wait(lambda: bot_api.topic_with(STAFF_CHAT, "Burger: fijn, dank je"))


async def test_twenty_citizens_and_three_staff_are_paired(start_staffed: Any,
                                                          bot_api: BotAPI) -> None:
    await start_staffed()
    citizens = list(range(5200, 5220))
    threads = dict(zip(citizens, await asyncio.gather(
        *(queue_citizen(bot_api, c) for c in citizens)), strict=True))
    staff = (ANNA, BRAM, CAS)
    presses = []
    for thread in threads.values():
        summary = last_with_button(bot_api, thread, "staff:claim")
        assert summary
        presses += [bot_api.staff_press(s, summary, button(summary, "Claim")) for s in staff]
    await asyncio.gather(*presses)
    owners: dict[int, str] = {}
    for citizen, thread in threads.items():
        claimed = await bot_api.wait(
            lambda thread=thread: [m for m in bot_api.in_topic(STAFF_CHAT, thread)
                                   if "✅" in m["text"]], timeout=30)
        assert len(claimed) == 1
        owners[citizen] = claimed[0]["text"].split()[1]
    names = {9001: "Anna", 9002: "Bram", 9003: "Cas"}
    by_name = {v: k for k, v in names.items()}
    for citizen, thread in threads.items():
        await bot_api.staff_says(STAFF_CHAT, thread, by_name[owners[citizen]],
                                 f"bericht voor {citizen}")
    for citizen in citizens:
        texts = await bot_api.wait(
            lambda citizen=citizen: [m["text"] for m in bot_api.sent[citizen]
                                     if "bericht voor" in m["text"]], timeout=30)
        assert texts == [f"{owners[citizen]}: bericht voor {citizen}"]
    assert set(owners.values()) <= set(names.values())


async def forget_chat(bot_api: BotAPI, citizen: int) -> None:
    [confirm] = await bot_api.exchange(citizen, "/vergeet")
    assert confirm["text"].startswith("Wil je dat we dit gesprek"), "Balie, not staff, asks"
    before = len(bot_api.sent[citizen])
    await bot_api.press(citizen, confirm, button(confirm, "Ja, wis alles"))
    [done] = await bot_api.replies(citizen, after=before)
    assert done["text"].startswith("Gedaan")


async def test_vergeet_while_queued_or_with_staff_is_handled_by_balie(
    start_staffed: Any, bot_api: BotAPI
) -> None:
    await start_staffed()
    waiting, served = CITIZEN, CITIZEN + 1
    waiting_topic = await queue_citizen(bot_api, waiting)
    served_topic = await queue_citizen(bot_api, served)
    summary = last_with_button(bot_api, served_topic, "staff:claim")
    assert summary
    count = len(bot_api.sent[served])
    await bot_api.staff_press(ANNA, summary, button(summary, "Claim"))
    await bot_api.replies(served, after=count)
    await bot_api.wait(lambda: last_with_button(bot_api, served_topic, "staff:close"))

    def told(topic: int) -> bool:
        return bot_api.topics[topic]["closed"] and any(
            m["text"] == "🗑️ Burger beëindigde de chat en wiste die."
            for m in bot_api.in_topic(STAFF_CHAT, topic))

    for citizen, topic in ((waiting, waiting_topic), (served, served_topic)):
        await forget_chat(bot_api, citizen)
        await bot_api.wait(partial(told, topic), what="staff told, topic closed")
    assert not bot_api.topic_with(STAFF_CHAT, "/vergeet"), "never relayed as a message"

    count = len(bot_api.sent[served])
    await bot_api.staff_says(STAFF_CHAT, served_topic, ANNA, "Bent u er nog?")
    [answer] = await bot_api.exchange(served, "hoe lang heb ik om bezwaar te maken?")
    assert "6 weken" in answer["text"], "Balie answers again"
    await silent(bot_api, served, count + 1)
