"""The citizen's side of a handoff through the real pipeline: out of hours, offers, wording."""

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.history.log import Handoff
from bot.pipeline import Balie
from bot.replies import formats
from bot.services import Services
from bot.types import Reply, Turn
from tests.conftest import from_environment
from tests.support.facts import facts

CHAT = "web:reception"


async def opened(environment: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                 open_now: bool) -> AsyncIterator[Services]:
    values = {**environment, "BALIE_STAFF_CHAT_ID": "-1001234",
              "BALIE_FACTS_DIR": facts(tmp_path, open_now)}
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    async with Services.opened(from_environment()) as services:
        yield services


@pytest.fixture
async def desk(environment: dict[str, str], tmp_path: Path,
               monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Services]:
    """Services with a staff desk that is open now."""
    async for services in opened(environment, tmp_path, monkeypatch, open_now=True):
        yield services


@pytest.fixture
async def closed(environment: dict[str, str], tmp_path: Path,
                 monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Services]:
    """Services with a staff desk that is closed until tomorrow."""
    async for services in opened(environment, tmp_path, monkeypatch, open_now=False):
        yield services


async def say(balie: Balie, text: str, kind: str = "text") -> list[Reply]:
    return await balie.handle(Turn(CHAT, "web", kind, text))  # type: ignore[arg-type]


async def press(balie: Balie, reply: Reply, title: str) -> list[Reply]:
    [data] = [b.data for b in reply.buttons if b.title == title]
    return await balie.handle(Turn(CHAT, "web", "button", data))


async def leave_message(balie: Balie, choice: str, note: str) -> Reply:
    [confirm] = await say(balie, "ik wil een medewerker spreken")
    [closed] = await press(balie, confirm, "Ja, graag")
    await press(balie, closed, choice)
    [left] = await say(balie, note)
    return left


def titles(reply: Reply) -> list[str]:
    return [b.title for b in reply.buttons]


async def test_after_a_message_left_out_of_hours_the_bot_keeps_answering(
    closed: Services,
) -> None:
    desk = closed
    balie = desk.balie
    left = await leave_message(balie, "Bericht achterlaten", "Graag uitleg over mijn aanslag")
    assert left.text.startswith("Dank je, je bericht staat klaar")
    assert "/intrekken" in left.text and titles(left) == ["Intrekken"]
    [task] = await desk.cases.tasks()
    assert (task.kind, task.note, task.chat_id) == ("message", "Graag uitleg over mijn aanslag",
                                                    CHAT)
    assert await desk.desk.ticket(CHAT) is None, "a message left is a task, not a queued chat"
    [answer] = await say(balie, "wanneer moet ik betalen")
    assert "betaal" in answer.text.lower() and "[phone]" not in answer.text
    [withdrawn] = await say(balie, "/intrekken", "command")
    assert withdrawn.text.startswith("Je bericht is ingetrokken.")
    assert await desk.cases.tasks() == []
    [again] = await say(balie, "/intrekken", "command")
    assert again.text.startswith("Er staat geen bericht")


async def test_a_call_back_request_keeps_its_number_for_staff_until_withdrawn(
    closed: Services,
) -> None:
    desk = closed
    balie = desk.balie
    left = await leave_message(balie, "Terugbelverzoek", "Bel me op 0612345678 na 14 uur")
    [task] = await desk.cases.tasks()
    assert task.kind == "callback" and "0612345678" not in (task.note or "")
    assert await desk.desk.numbers([task]) == {task.id: "0612345678"}
    [withdrawn] = await press(balie, left, "Intrekken")
    assert withdrawn.text.startswith("Je bericht is ingetrokken.")
    assert await desk.desk.numbers([task]) == {}


async def test_while_queued_the_bot_answers_and_staff_see_the_question(desk: Services) -> None:
    balie = desk.balie
    [confirm] = await say(balie, "ik wil een medewerker spreken")
    [queued] = await press(balie, confirm, "Ja, graag")
    assert "wachtrij" in queued.text
    [answer] = await say(balie, "hoe lang heb ik om bezwaar te maken?")
    assert "6 weken" in answer.text
    ticket = await desk.desk.ticket(CHAT)
    assert ticket and ticket.mode == "queued"
    replies = await say(balie, "ik wil een medewerker spreken")
    assert all("Wil je met een medewerker" not in r.text for r in replies), "already waiting"
    [fallback] = await say(balie, "blorp fnargle quux")
    assert fallback.buttons == (), "no second offer while queued"
    assert [c.id for c in await desk.cases.tasks()] == []
    await desk.desk.claim(CHAT, "11", "Anna")
    assert await say(balie, "hallo, ben je er?") == [], "a claimed chat is the staff member's"


async def test_a_queued_chat_is_about_its_subject_not_the_request_for_a_person(
        desk: Services) -> None:
    """Staff are told the topic as the chat is queued, before its log has reached the database."""
    balie = desk.balie
    await say(balie, "hoe vraag ik kwijtschelding aan?")
    [confirm] = await say(balie, "ik wil een medewerker spreken")
    await press(balie, confirm, "Ja, graag")
    ticket = await desk.desk.ticket(CHAT)
    assert ticket is not None
    async with desk.history.sessions() as session:
        case = await session.get(Handoff, ticket.case)
    assert case is not None and case.reason == "remission"
    assert desk.labels.topic([case.reason]) == "Kwijtschelding"


async def test_the_second_misunderstanding_offers_a_person_once(desk: Services) -> None:
    balie = desk.balie
    [first] = await say(balie, "blorp fnargle quux")
    assert titles(first) == ["Medewerker spreken"]
    replies = await say(balie, "zzkw vrrp plonk")
    offers = [b for reply in replies for b in reply.buttons
              if b.title in {"Medewerker spreken", "Ja, graag"}]
    assert len(offers) == 1 and replies[-1].text == "Wil je met een medewerker chatten?"


async def test_the_queue_says_one_minute_in_the_singular(desk: Services) -> None:
    balie = desk.balie
    desk.desk.minutes_per_citizen = 1
    [confirm] = await say(balie, "ik wil een medewerker spreken")
    [queued] = await press(balie, confirm, "Ja, graag")
    assert "de wachttijd is ongeveer 1 minuut." in queued.text


@pytest.mark.parametrize(("value", "nl", "en"), [
    (0.5, "0,5 minuut", "0.5 minutes"), (1, "1 minuut", "1 minute"),
    (2.0, "2 minuten", "2 minutes"), (1.5, "1,5 minuten", "1.5 minutes"),
])
def test_minutes_in_dutch_decimals_and_singular_or_plural(value: float, nl: str, en: str) -> None:
    assert (formats.minutes(value, "nl"), formats.minutes(value, "en")) == (nl, en)


async def test_thumbs_never_go_under_a_question(desk: Services) -> None:
    balie = desk.balie
    [rated] = await say(balie, "hoe lang heb ik om bezwaar te maken?")
    assert titles(rated)[-2:] == ["👍", "👎"]
    state = await desk.store.load(CHAT)
    asked = Reply("De tarieven staan hierboven. Zal ik het voor je uitrekenen?")
    [reply] = await balie.listening.after_answer("dog_tax", state, CHAT, [asked])
    assert "👍" not in titles(reply), "an answer that ends in a question is not rated"


async def test_asking_for_a_robot_offers_a_person(desk: Services) -> None:
    replies = await say(desk.balie, "ben ik met een robot?")
    assert replies[0].text.startswith("Ja, ik ben Balie")
    assert replies[-1].text == "Wil je met een medewerker chatten?"
    assert titles(replies[-1]) == ["Ja, graag", "Nee, dank je"]
