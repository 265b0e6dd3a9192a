"""Listening end to end: subscribe, announcements in answers, thumbs, polls, through Telegram."""

import asyncio
import os
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from bot.history.log import History
from bot.listening.announcements import Newsroom, Subscription
from bot.listening.polls import AnswerFeedback, Polls, Vote
from bot.nlu import content
from bot.settings import PROJECT_DIR
from tests.support.bot_api import TOKEN, BotAPI

CITIZEN = 5301
TOPICS = content.read_topics(PROJECT_DIR / "intents" / "topics.yml")


def titles(message: dict[str, Any]) -> list[str]:
    return [b["text"] for row in message.get("reply_markup", {}).get("inline_keyboard", [])
            for b in row]


def data(message: dict[str, Any], title: str) -> str:
    return next(b["callback_data"] for row in message["reply_markup"]["inline_keyboard"]
                for b in row if b["text"] == title)


async def start(served_bot: Any, bot_api: BotAPI) -> None:
    served_bot()
    await bot_api.wait_for_call("getUpdates", timeout=60)


async def test_subscribe_by_buttons_and_unsubscribe(
    served_bot: Any, bot_api: BotAPI, environment: dict[str, str]
) -> None:
    await start(served_bot, bot_api)
    [menu] = await bot_api.exchange(CITIZEN, "/abonneer")
    assert titles(menu) == ["De aanslag en betalen", "Kwijtschelding", "WOZ-waarde en bezwaar",
                            "Storingen", "🚫 Afmelden voor alles"]
    await bot_api.press(CITIZEN, menu, data(menu, "Storingen"))
    [done] = await bot_api.replies(CITIZEN, after=1)
    assert "Storingen" in done["text"]
    [menu] = await bot_api.exchange(CITIZEN, "ik wil graag updates ontvangen via deze chat")
    assert "✅ Storingen" in titles(menu)
    history = await History.open(environment["DATABASE_URL"])
    news = Newsroom(history, TOPICS)
    assert await news.subscribed(f"tg:{CITIZEN}") == {"storing"}
    await bot_api.press(CITIZEN, menu, data(menu, "Kwijtschelding"))
    [both] = await bot_api.replies(CITIZEN, after=3)
    assert "berichten over: Kwijtschelding en Storingen." in both["text"], both["text"]
    assert {"✅ Kwijtschelding", "✅ Storingen"} <= set(titles(both))
    await bot_api.press(CITIZEN, both, data(both, "✅ Storingen"))
    [one] = await bot_api.replies(CITIZEN, after=4)
    assert "berichten over: Kwijtschelding." in one["text"] and "Storingen" in titles(one)
    assert await news.subscribed(f"tg:{CITIZEN}") == {"kwijtschelding"}
    [gone] = await bot_api.exchange(CITIZEN, "/afmelden")
    assert gone["text"].startswith("Je bent afgemeld.")
    assert await news.subscribed(f"tg:{CITIZEN}") == set()
    await history.close()


async def test_announcement_in_answers_and_thumbs(
    served_bot: Any, bot_api: BotAPI, environment: dict[str, str]
) -> None:
    history = await History.open(environment["DATABASE_URL"])
    now = datetime.now(UTC)
    await Newsroom(history, TOPICS).announce(
        "De aanslagen 2027 gaan op 26 februari de deur uit.", "The 2027 notices go out on "
        "26 February.", now - timedelta(hours=1), now + timedelta(days=1), "aanslag",
        inline=True, created_by="test")
    await start(served_bot, bot_api)
    [answer] = await bot_api.exchange(CITIZEN, "wanneer moet ik mijn aanslag betalen?")
    assert answer["text"].endswith("📢 De aanslagen 2027 gaan op 26 februari de deur uit.")
    assert titles(answer) == ["👍", "👎"]
    [other] = await bot_api.exchange(CITIZEN, "hoe lang heb ik om bezwaar te maken?")
    assert "📢" not in other["text"], "only with the topic's answers"
    await bot_api.press(CITIZEN, other, data(other, "👎"))
    [thanks] = await bot_api.replies(CITIZEN, after=2)
    assert thanks["text"].startswith("Dank je voor je reactie")
    async with history.sessions() as session:
        rows = (await session.scalars(select(AnswerFeedback))).all()
    await history.close()
    assert [(r.intent, r.useful) for r in rows] == [("objection", False)]


async def test_poll_after_an_answer_one_vote_with_comment(
    served_bot: Any, bot_api: BotAPI, environment: dict[str, str]
) -> None:
    history = await History.open(environment["DATABASE_URL"])
    poll = await Polls(history).create(
        "Was deze uitleg duidelijk?", "Was this explanation clear?",
        [{"nl": "Ja", "en": "Yes"}, {"nl": "Een beetje", "en": "Somewhat"},
         {"nl": "Nee", "en": "No"}], free_text=True, after_intent="payment_arrangement")
    await start(served_bot, bot_api)
    answer, question = await bot_api.exchange(
        CITIZEN, "ik kan niet alles in een keer betalen, kan ik een betalingsregeling krijgen",
        count=2)
    assert "betalingsregeling" in answer["text"]
    assert question["text"] == "Was deze uitleg duidelijk?"
    assert titles(question) == ["Ja", "Een beetje", "Nee"]
    await bot_api.press(CITIZEN, question, data(question, "Nee"))
    [ask] = await bot_api.replies(CITIZEN, after=2)
    assert "toelichten" in ask["text"]
    [thanks] = await bot_api.exchange(CITIZEN, "te veel moeilijke woorden, mail a@b.nl")
    assert thanks["text"] == "Dank je wel voor je mening!"
    again = await bot_api.exchange(CITIZEN, "kan ik een betalingsregeling krijgen?")
    assert len(again) == 1 and "Was deze uitleg" not in again[0]["text"], "asked once"
    await bot_api.press(CITIZEN, question, f"poll:{poll.id}:0")
    [forged] = await bot_api.replies(CITIZEN, after=5)
    assert forged["text"].startswith("Deze knop werkt niet meer"), "never asked with this"
    async with history.sessions() as session:
        votes = (await session.scalars(select(Vote))).all()
    await history.close()
    assert [(v.choice, v.intent, v.comment) for v in votes] == [
        (2, "payment_arrangement", "te veel moeilijke woorden, mail [email]")]


async def test_poll_sent_to_subscribers_and_results(
    served_bot: Any, bot_api: BotAPI, environment: dict[str, str]
) -> None:
    history = await History.open(environment["DATABASE_URL"])
    polls = Polls(history)
    poll = await polls.create("Is de nieuwe afvalheffing eerlijk?", "Is the new waste levy fair?",
                              None, topic="aanslag")
    async with history.sessions.begin() as session:
        session.add_all(Subscription(chat_id=f"tg:{c}", topic="aanslag", language="nl",
                                     created_at=datetime.now(UTC), tenant="voorbeeld")
                        for c in (5401, 5402, 5403))
    await start(served_bot, bot_api)
    env = {**os.environ, **environment, "TELEGRAM_TOKEN": TOKEN,
           "TELEGRAM_BASE_URL": bot_api.base_url, "BALIE_LOG_LEVEL": "WARNING"}
    send = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "poll", "send", str(poll.id), env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL)
    await send.communicate()
    assert send.returncode == 0
    asked, first = {}, {}
    for citizen, choice in ((5401, "4"), (5402, "4"), (5403, "2")):
        [asked[citizen]] = await bot_api.replies(citizen)
        assert asked[citizen]["text"] == "Is de nieuwe afvalheffing eerlijk?"
        first[citizen] = data(asked[citizen], "1")  # before the press takes the buttons away
        await bot_api.press(citizen, asked[citizen], data(asked[citizen], choice))
        [thanks] = await bot_api.replies(citizen, after=1)
        assert thanks["text"] == "Dank je wel voor je mening!"
    await bot_api.press(5401, asked[5401], first[5401])
    [already] = await bot_api.replies(5401, after=2)
    assert already["text"].startswith("Je hebt deze vraag al beantwoord"), "one vote each"
    await bot_api.press(5401, asked[5401], first[5403])
    [other] = await bot_api.replies(5401, after=3)
    assert other["text"].startswith("Deze knop werkt niet meer"), "another chat's button"
    results = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "poll", "results", str(poll.id), "--csv", env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL)
    output, _ = await results.communicate()
    await history.close()
    assert output.decode().splitlines() == ["option,votes", "1,0", "2,1", "3,0", "4,2", "5,0"]


async def test_privacy_and_policy_in_chat(served_bot: Any, bot_api: BotAPI) -> None:
    await start(served_bot, bot_api)
    [privacy] = await bot_api.exchange(CITIZEN, "/privacy")
    assert "180 dagen" in privacy["text"] and "BSN" in privacy["text"]
    [policy] = await bot_api.exchange(CITIZEN, "/policy", language="en")
    assert "within 10 minutes" in policy["text"] or "binnen 10 minuten" in policy["text"]
