"""Follow-ups, corrections and rates-first answers through the real pipeline, nl and en."""

import pytest

from bot.dialogue import memory
from bot.nlu import content
from bot.pipeline import Balie
from bot.settings import PROJECT_DIR
from bot.types import Turn

CHAT = "test:follow-ups"


async def said(balie: Balie, message: str) -> str:
    replies = await balie.handle(Turn(chat_id=CHAT, channel="test", kind="text", text=message))
    return "\n".join(reply.text for reply in replies)


# Each conversation: the citizen's messages, then what the last answer holds (and lacks).
CONVERSATIONS = [
    (["hoeveel is de hondenbelasting", "en voor twee honden?"],
     ["Hondenbelasting (2 honden): € 240,00"], ["hond(en)"]),
    (["how much is the dog tax", "and for two dogs?"], ["Dog tax (2 dogs): €240.00"], ["dog(s)"]),
    (["how much is the dog tax", "2"], ["Dog tax (2 dogs): €240.00"], []),
    (["ik wil bezwaar maken tegen mijn aanslag", "hoe lang heb ik daarvoor?"],
     ["6 weken om bezwaar te maken"], ["Sorry"]),
    (["I want to object to my assessment", "how long do I have for that?"],
     ["6 weeks to object"], ["Do you mean"]),
    (["ik wil bezwaar maken tegen mijn aanslag", "waar doe ik dat?"],
     ["https://www.voorbeeld.example/bezwaar"], []),
    (["I want to object to my assessment", "where do I do that?"],
     ["https://www.voorbeeld.example/bezwaar"], []),
    (["hoeveel ozb betaal ik bij een woz van 300.000", "en als de woz 400.000 is?"],
     ["€ 400.000,00 \u00d7 0,0856% = € 342,40"], []),
    (["how much property tax do I pay with a WOZ value of 300,000", "and if the WOZ is 400k?"],
     ["€400,000.00 \u00d7 0.0856% = €342.40"], []),
    (["we zijn met z'n drieën, huis van 410.000 en een hond, wat betalen we?",
      "oh nee, we hebben twee honden"],
     ["Hondenbelasting (2 honden): € 240,00", "Samen: € 1.233,56"], []),
    (["we are three people, house worth 410,000 and one dog, what do we pay?",
      "oh wait, two dogs"], ["Dog tax (2 dogs): €240.00", "Together: €1,233.56"], []),
    (["wat kost het afval voor een gezin van 4", "nee, we zijn met z'n tweeën"],
     ["Afvalstoffenheffing (2 personen): € 396,00"], []),
    (["how much is the waste levy for a family of four", "no, we are with two"],
     ["Waste levy (2 people): €396.00"], []),
    (["wat betalen we voor afval en hondenbelasting met z'n drieën en een hond?",
      "oh nee, twee honden"], ["Hondenbelasting (2 honden): € 240,00", "Samen: € 882,60"], []),
    (["what do we pay for waste and dog tax, we are three people with one dog?",
      "oh wait, two dogs"], ["Dog tax (2 dogs): €240.00", "Together: €882.60"], []),
    (["wat kost het afval voor een gezin van 3", "nee, we zijn met z'n vieren"],
     ["Afvalstoffenheffing (4 personen): € 396,00"], []),
    (["hoeveel hondenbelasting betaal ik voor 2 honden?", "en voor 3?"],
     ["Hondenbelasting (3 honden): € 384,00"], ["2 honden"]),
    (["how much dog tax do I pay for 2 dogs?", "and for three?"],
     ["Dog tax (3 dogs): €384.00"], ["2 dogs"]),
    (["wat kost het afval voor een gezin van 4", "nee, 2"],
     ["Afvalstoffenheffing (2 personen): € 396,00"], []),
    (["ik heb een nieuwe hond", "wat kost dat?"], ["Hondenbelasting (1 hond): € 96,00"], []),
    (["I have a new dog", "what does that cost?"], ["Dog tax (1 dog): €96.00"], []),
    (["ik heb een nieuwe hond", "waar doe ik dat?"],
     ["https://www.voorbeeld.example/hondenbelasting"], []),
]


@pytest.mark.parametrize(("messages", "holds", "lacks"), CONVERSATIONS)
async def test_a_follow_up_is_read_against_the_topic_and_its_facts(
    balie: Balie, messages: list[str], holds: list[str], lacks: list[str]
) -> None:
    for message in messages:
        answer = await said(balie, message)
    assert all(part in answer for part in holds), answer
    assert not any(part in answer for part in lacks), answer


@pytest.mark.parametrize(("question", "rates", "offer"), [
    ("hoeveel is de hondenbelasting", "€ 96,00 voor je eerste hond", "Stuur hoeveel honden"),
    ("wat kost het afval", "€ 312,00 voor een eenpersoonshuishouden", "met hoeveel mensen"),
    ("how much is the dog tax", "€96.00 for your first dog", "Send how many dogs"),
    ("how much is the waste levy", "€312.00 for a single-person household",
     "how many people"),
])
async def test_a_general_question_about_an_amount_gets_the_rates_then_the_offer(
    balie: Balie, question: str, rates: str, offer: str
) -> None:
    answer = await said(balie, question)
    assert answer.index(rates) < answer.index(offer), answer


@pytest.mark.parametrize(("question", "amount"), [
    ("wat kost het afval voor een gezin van 4", "Afvalstoffenheffing (4 personen): € 396,00"),
    ("what is the waste levy for a family of three", "Waste levy (3 people): €396.00"),
    ("wat kost het afval als ik alleen woon", "Afvalstoffenheffing (1 persoon): € 312,00"),
])
async def test_a_question_with_its_fact_is_answered_at_once(
    balie: Balie, question: str, amount: str
) -> None:
    assert amount in await said(balie, question)


async def test_the_calculator_takes_the_household_from_memory(balie: Balie) -> None:
    await said(balie, "we zijn met z'n drieën")
    answer = await said(balie, "hoeveel afvalstoffenheffing betaal ik")
    assert "Afvalstoffenheffing (3 personen)" in answer


@pytest.mark.parametrize(("question", "ask", "people", "again", "one"), [
    ("hoeveel hondenbelasting betaal ik", "Hoeveel honden heb je?",
     "we zijn met z'n tweeën en hebben een huis van 350k", "honden",
     "Hondenbelasting (1 hond): € 96,00"),
    ("how much dog tax do I pay", "How many dogs do you have?",
     "we are with two and have a house of 350k", "dogs", "Dog tax (1 dog): €96.00"),
])
async def test_two_people_are_not_counted_as_two_dogs(
    balie: Balie, question: str, ask: str, people: str, again: str, one: str
) -> None:
    assert ask in await said(balie, question)
    answer = await said(balie, people)
    assert again in answer and "240" not in answer
    assert one in await said(balie, "1")


@pytest.mark.parametrize(("question", "warned", "asked"), [
    ("reken mijn ozb uit", "stuur geen persoonlijke gegevens", "Wat is de WOZ-waarde?"),
    ("calculate my property tax", "don't send personal details", "What is the WOZ value?"),
])
async def test_a_bsn_asked_as_a_woz_value_is_no_woz_value(
    balie: Balie, question: str, warned: str, asked: str
) -> None:
    await said(balie, question)
    again = await said(balie, "111222333")
    assert warned in again and asked in again and "111" not in again


@pytest.mark.parametrize(("messages", "holds", "lacks"), [
    (["ik huur mijn huis", "hoeveel ozb betaal ik bij een woz van 300.000"],
     "je betaalt geen OZB", "€ 256,80"),
    (["I rent my home", "how much property tax do I pay with a WOZ value of 300,000"],
     "you pay no OZB", "€256.80"),
    (["ik heb een bedrijfspand", "hoeveel ozb betaal ik bij een woz van 500.000"],
     "OZB (gebruiker bedrijfspand)", "OZB (eigenaar woning)"),
])
async def test_the_role_the_citizen_gave_decides_whose_ozb(
    balie: Balie, messages: list[str], holds: str, lacks: str
) -> None:
    for message in messages:
        answer = await said(balie, message)
    assert holds in answer and lacks not in answer, answer


async def test_stop_forgets_the_answers_given_in_the_form(balie: Balie) -> None:
    await said(balie, "hoeveel hondenbelasting betaal ik")
    await said(balie, "we zijn met z'n drieën")
    await said(balie, "stop")
    assert (await balie.store.load(CHAT)).memory.keys() <= {"topic"}


def test_the_follow_ups_name_contract_intents_and_existing_responses() -> None:
    loaded = content.load(PROJECT_DIR / "intents")
    rules = memory.load(PROJECT_DIR / "intents" / "follow_ups.yml", 10, 30)
    intents = set(loaded.contract)
    assert rules.calculation in intents and rules.calculated <= intents
    for rule in rules.follow_ups:
        assert rule.topics <= intents and bool(rule.intent) != bool(rule.response)
        assert rule.intent in intents or set(loaded.responses[rule.response]) == {"nl", "en"}
