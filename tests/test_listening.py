"""Announcements, subscriptions, polls and answer feedback on SQLite and PostgreSQL."""

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from bot.history.log import History
from bot.listening.announcements import Newsroom
from bot.listening.polls import Polls
from bot.nlu import content
from bot.settings import PROJECT_DIR

TOPICS = content.read_topics(PROJECT_DIR / "intents" / "topics.yml")



async def test_announcement_shows_with_its_topics_answers_only_while_valid(
    history: History,
) -> None:
    now = datetime.now(UTC)
    news = Newsroom(history, TOPICS)
    await news.announce("De aanslagen 2027 gaan op 26 februari de deur uit.",
                        "The 2027 notices go out on 26 February.", now - timedelta(hours=1),
                        now + timedelta(hours=1), "aanslag", inline=True, created_by="test")
    await news.announce("Later", "Later", now + timedelta(days=1), now + timedelta(days=2),
                        "aanslag", inline=True, created_by="test")
    await news.announce("Alleen broadcast", "Broadcast only", now - timedelta(hours=1),
                        now + timedelta(hours=1), "aanslag", inline=False, created_by="test")
    assert await news.for_answer("payment_deadline", "en", now) == [
        "The 2027 notices go out on 26 February."]
    assert await news.for_answer("explain_assessment", "nl", now) == [
        "De aanslagen 2027 gaan op 26 februari de deur uit."]
    assert await news.for_answer("woz_value", "nl", now) == []
    assert await news.for_answer("payment_deadline", "nl", now + timedelta(hours=2)) == []
    assert await news.for_answer("payment_deadline", "nl", now - timedelta(hours=2)) == []
    assert await news.for_answer("payment_deadline", "nl", now + timedelta(days=1, hours=1)) == [
        "Later"]


async def test_an_announcement_without_topic_goes_with_every_answer(history: History) -> None:
    now = datetime.now(UTC)
    news = Newsroom(history, TOPICS)
    await news.announce("Storing", "Outage", now - timedelta(minutes=1),
                        now + timedelta(minutes=5), None, inline=True, created_by="test")
    assert await news.for_answer("dog_tax", "en", now) == ["Outage"]


async def test_announcements_are_checked(history: History) -> None:
    now = datetime.now(UTC)
    news = Newsroom(history, TOPICS)
    with pytest.raises(ValueError, match="unknown topic"):
        await news.announce("x", "x", now, now + timedelta(days=1), "weer", True, "test")
    with pytest.raises(ValueError, match="end after"):
        await news.announce("x", "x", now, now, None, True, "test")


async def test_subscriptions(history: History) -> None:
    news = Newsroom(history, TOPICS)
    await news.subscribe("tg:1", "aanslag", "nl")
    await news.subscribe("tg:1", "aanslag", "en")
    await news.subscribe("tg:1", "storing", "en")
    assert await news.subscribed("tg:1") == {"aanslag", "storing"}
    await news.unsubscribe("tg:1", "storing")
    assert await news.subscribed("tg:1") == {"aanslag"}
    await news.unsubscribe("tg:1")
    assert await news.subscribed("tg:1") == set()


async def test_one_vote_per_citizen_and_correct_results(history: History) -> None:
    polls = Polls(history)
    poll = await polls.create("Is de uitleg duidelijk?", "Is the explanation clear?",
                              [{"nl": "Ja", "en": "Yes"}, {"nl": "Nee", "en": "No"}],
                              free_text=True)
    first = await asyncio.gather(*(polls.vote(poll.id, "tg:1", 0, "remission")
                                   for _ in range(5)))
    assert sorted(first) == [False, False, False, False, True]
    assert not await polls.vote(poll.id, "tg:1", 1, None), "no second vote"
    assert not await polls.vote(poll.id, "tg:2", 2, None), "no such option"
    assert not await polls.vote(poll.id + 99, "tg:2", 0, None), "no such poll"
    for number in range(2, 9):
        assert await polls.vote(poll.id, f"tg:{number}", number % 2, "payment_arrangement")
    await polls.comment(poll.id, "tg:1", "Te moeilijk, mail me op a@b.nl")
    await polls.comment(poll.id, "tg:3", "Duidelijk genoeg")
    results = await polls.results(poll.id)
    assert results.counts == [5, 3] and results.total == 8
    assert results.comments == {"remission": ["Te moeilijk, mail me op [email]"],
                                "payment_arrangement": ["Duidelijk genoeg"]}
    assert "Ja |" in results.chart() and results.chart().count("█") == 30 + 18


async def test_a_scale_poll_and_option_limits(history: History) -> None:
    polls = Polls(history)
    scale = await polls.create("Hoe eerlijk?", "How fair?", None, after_intent="remission")
    assert scale.labels("nl") == ["1", "2", "3", "4", "5"]
    assert (await polls.after("remission")).id == scale.id  # type: ignore[union-attr]
    assert await polls.after("dog_tax") is None
    with pytest.raises(ValueError, match="2 to 5"):
        await polls.create("?", "?", [{"nl": "a", "en": "a"}])


async def test_answer_feedback_per_intent(history: History) -> None:
    polls = Polls(history)
    for chat, intent, useful in [("1", "remission", True), ("2", "remission", False),
                                 ("3", "remission", False), ("1", "dog_tax", True)]:
        await polls.feedback(chat, intent, useful)
    assert await polls.feedback_per_intent() == {"dog_tax": (1, 0), "remission": (1, 2)}
