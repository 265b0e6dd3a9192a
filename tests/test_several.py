"""More than one question in a message: each answered in the order asked, and the splitter."""

import pytest

from bot.dialogue import several
from bot.pipeline import Balie
from bot.types import Reply, Turn

CHAT = "test:several"


async def say(balie: Balie, message: str) -> list[Reply]:
    return await balie.handle(Turn(CHAT, "test", "text", message))


@pytest.mark.parametrize(("text", "pieces"), [
    ("wat is de woz-waarde en hoe lang heb ik voor bezwaar?",
     ["wat is de woz-waarde", "hoe lang heb ik voor bezwaar"]),
    ("wanneer moet ik betalen? kan ik kwijtschelding krijgen?",
     ["wanneer moet ik betalen", "kan ik kwijtschelding krijgen"]),
    ("what is the woz value, and also when do I pay?", ["what is the woz value", "when do I pay"]),
    ("incasso of betalingsregeling", ["incasso of betalingsregeling"]),
    ("wendingen en andere dingen", ["wendingen", "andere dingen"]),
])
def test_a_text_is_split_at_question_marks_and_conjunctions(text: str,
                                                            pieces: list[str]) -> None:
    assert several.parts(text) == pieces


@pytest.mark.parametrize(("message", "first", "second"), [
    ("wat is de woz-waarde en hoe lang heb ik voor bezwaar?", "utter_woz_value",
     "utter_objection"),
    ("what is the woz value and how long do I have to object?", "utter_woz_value",
     "utter_objection"),
    ("kan ik kwijtschelding krijgen en wat is een dwangbevel?", "utter_remission",
     "utter_reminder_costs_writ"),
    ("can I get remission and what is an enforcement order?", "utter_remission",
     "utter_reminder_costs_writ"),
])
async def test_two_questions_get_both_answers_in_the_order_asked(
        balie: Balie, message: str, first: str, second: str) -> None:
    replies = await say(balie, message)
    language = (await balie.store.load(CHAT)).language
    texts = [r.text for r in replies]
    assert texts == [balie.renderer.render(first, language).text,
                     balie.renderer.render(second, language).text]
    assert (await balie.store.load(CHAT)).last_intents[-2:] == [
        first.removeprefix("utter_"), second.removeprefix("utter_").removesuffix("_writ")]


async def test_three_questions_get_three_answers(balie: Balie) -> None:
    replies = await say(balie, "wat is de woz-waarde? hoe maak ik bezwaar? wat is een dwangbevel?")
    assert [r.text for r in replies] == [balie.renderer.render(name, "nl").text for name in (
        "utter_woz_value", "utter_objection", "utter_reminder_costs_writ")]


async def test_one_question_with_and_is_answered_once(balie: Balie) -> None:
    replies = await say(balie, "hoeveel ozb betaal ik bij een woz van 300.000 en 2 honden")
    assert len(replies) == 1 and "€ 256,80" in replies[0].text


async def test_an_unclear_part_keeps_the_clarifying_question(balie: Balie) -> None:
    replies = await say(balie, "incasso of betalingsregeling")
    assert len(replies) == 1 and len(replies[0].buttons) == 2
