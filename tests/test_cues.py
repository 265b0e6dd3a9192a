"""Answer variants chosen by the message's words (intents/cues.yml), through the pipeline."""

import pytest

from bot.pipeline import Balie
from bot.types import Turn

CHAT = "test:cues"


@pytest.mark.parametrize(("message", "response"), [
    ("hoe kan ik mijn aanslag betalen", "utter_payment_deadline_how_to_pay"),
    ("how can I pay my assessment?", "utter_payment_deadline_how_to_pay"),
    ("moet ik betalen terwijl mijn bezwaar loopt", "utter_objection_pay_meanwhile"),
    ("do I have to pay while my objection is running?", "utter_objection_pay_meanwhile"),
    ("wat is een dwangbevel", "utter_reminder_costs_writ"),
    ("what is an enforcement order", "utter_reminder_costs_writ"),
    ("ik huur, moet ik ozb betalen", "utter_property_tax_roles"),
    ("I rent my house, do I pay property tax?", "utter_property_tax_roles"),
    ("afvalstoffenheffing nu mijn vrouw gestorven is, ik woon alleen", "utter_waste_levy_death"),
    ("waste levy single person rate now my partner died", "utter_waste_levy_death"),
    ("hoe lang heb ik om te betalen", "utter_payment_deadline_passed"),
    ("hoe maak ik bezwaar", "utter_objection"),
])
async def test_the_words_of_a_question_choose_its_answer(balie: Balie, message: str,
                                                         response: str) -> None:
    replies = await balie.handle(Turn(CHAT, "test", "text", message))
    language = (await balie.store.load(CHAT)).language
    if response == "utter_payment_deadline_passed":  # the action's answer, not how to pay
        assert replies[0].text != balie.renderer.render(
            "utter_payment_deadline_how_to_pay", language).text
        assert "30 april 2026" in replies[0].text
        return
    assert replies[0].text == balie.renderer.render(response, language).text


@pytest.mark.parametrize(("message", "facts"), [
    ("hoe kan ik mijn aanslag betalen", ["NL57 BNGH 0285 1234 56", "aanslagnummer", "iDEAL",
                                         "Gemeente Voorbeeld, Belastingen",
                                         "https://mijn.voorbeeld.example"]),
    ("how can I pay my assessment?", ["NL57 BNGH 0285 1234 56", "notice number", "iDEAL",
                                      "https://mijn.voorbeeld.example"]),
    ("moet ik betalen terwijl mijn bezwaar loopt", ["Ja, betaal", "terug, met rente"]),
    ("do I have to pay while my objection is running?", ["Yes, pay", "back, with interest"]),
    ("mijn moeder is overleden, wat gebeurt er met de afvalstoffenheffing?",
     ["stopt de afvalstoffenheffing", "per maand terug"]),
    ("my father died, what happens to the waste levy?", ["waste levy ends", "refunded per month"]),
])
async def test_the_missing_answers_hold_the_facts(balie: Balie, message: str,
                                                  facts: list[str]) -> None:
    replies = await balie.handle(Turn(CHAT, "test", "text", message))
    for fact in facts:
        assert fact in replies[0].text
    assert "verlaagd" not in replies[0].text and "reduced" not in replies[0].text
