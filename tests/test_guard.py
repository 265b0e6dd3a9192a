"""The privacy guard: personal data is warned about and never used; questions about it answered."""

import pytest
import sqlalchemy

from bot.dialogue import guard
from bot.history.masking import Keep
from bot.pipeline import Balie
from bot.types import Reply, Turn

CHAT = "test:guard"
KEEP = Keep.of(["14 0123", "belastingen@voorbeeld.example", "NL57 BNGH 0285 1234 56"])


async def say(balie: Balie, message: str) -> list[Reply]:
    return await balie.handle(Turn(CHAT, "test", "text", message))


@pytest.mark.parametrize(("text", "rest"), [
    ("mijn bsn is 111222333", ""),
    ("mijn bsn is 111222333, wanneer moet ik betalen?", "wanneer moet ik betalen?"),
    ("my IBAN is NL91ABNA0417164300 how can I pay", "how can I pay"),
    ("bel me op 06-12345678", "bel me op"),
    ("mail me: jan@example.com", "mail me"),
    ("mijn digid wachtwoord is Zomer2026!", ""),
    ("mijn telefoonnummer is 0612345678 en mijn mail is a@b.nl", "en"),
    ("password: hunter22", ""),
])
def test_personal_data_is_found_and_left_out_of_the_rest(text: str, rest: str) -> None:
    finding = guard.find(text, KEEP)
    assert finding is not None and finding.response == "utter_guard_warning"
    assert finding.rest == rest


@pytest.mark.parametrize("text", [
    "wanneer moet ik betalen?", "mijn wachtwoord is vergeten", "is 14 0123 jullie nummer?",
    "ik heb een woz-waarde van 350.000", "my password is expired",
    "moet ik NL57 BNGH 0285 1234 56 gebruiken?", "heb ik DigiD nodig voor bezwaar?",
])
def test_ordinary_messages_and_the_municipality_s_own_details_pass(text: str) -> None:
    assert guard.find(text, KEEP) is None


def test_a_password_is_not_logged() -> None:
    finding = guard.find("mijn wachtwoord is Zomer2026!", KEEP)
    assert finding is not None and "Zomer2026" not in finding.logged


@pytest.mark.parametrize("text", [
    "mag ik mijn BSN sturen?", "moet ik mijn bsn geven", "can I send you my IBAN?",
    "do you need my bank account number?", "heb je mijn rekeningnummer nodig?",
])
def test_questions_about_sending_personal_data_are_recognised(text: str) -> None:
    finding = guard.find(text, KEEP)
    assert finding is not None and finding.response == "utter_guard_question"


@pytest.mark.parametrize(("message", "language"), [
    ("mijn bsn is 111222333", "nl"), ("my bsn is 111222333", "en")])
async def test_a_bsn_alone_gets_only_the_warning(balie: Balie, message: str,
                                                 language: str) -> None:
    await balie.handle(Turn(CHAT, "test", "command", f"/taal {language}"))
    replies = await say(balie, message)
    assert [r.text for r in replies] == [
        balie.renderer.render("utter_guard_warning", language).text]  # type: ignore[arg-type]
    assert not (await balie.store.load(CHAT)).form


@pytest.mark.parametrize(("message", "answer"), [
    ("mijn bsn is 111222333, wanneer moet ik betalen?", "30 april 2026"),
    ("my IBAN is NL91ABNA0417164300, how can I pay my assessment?", "NL57 BNGH 0285 1234 56"),
    ("bel me op 0612345678, hoe maak ik bezwaar?", "6 weken"),
    ("my email is jan@example.com, how do I object?", "6 weeks"),
])
async def test_the_warning_comes_first_then_the_answer_to_the_rest(
        balie: Balie, message: str, answer: str) -> None:
    replies = await say(balie, message)
    language = (await balie.store.load(CHAT)).language
    assert replies[0].text == balie.renderer.render("utter_guard_warning", language).text
    assert answer in replies[1].text


@pytest.mark.parametrize(("start", "value", "language"), [
    ("reken mijn ozb uit", "111222333", "nl"),
    ("reken mijn ozb uit", "mijn bsn is 111222333", "nl"),
    ("calculate my property tax", "my bsn is 111222333", "en")])
async def test_in_a_form_a_bsn_is_refused_and_the_question_asked_again(
        balie: Balie, start: str, value: str, language: str) -> None:
    asked = await say(balie, start)
    replies = await say(balie, value)
    assert replies[0].text == balie.renderer.render("utter_guard_warning", language).text
    assert replies[1].text == asked[-1].text
    state = await balie.store.load(CHAT)
    assert state.form == "tax_form" and state.slots.get("woz_value") is None
    answered = await say(balie, "350.000")
    assert answered[-1].text != asked[-1].text


@pytest.mark.parametrize(("message", "language"), [
    ("mag ik mijn BSN sturen?", "nl"), ("moet ik mijn bsn geven", "nl"),
    ("can I send you my IBAN?", "en")])
async def test_a_question_about_sending_personal_data_says_never_in_chat(
        balie: Balie, message: str, language: str) -> None:
    replies = await say(balie, message)
    assert [r.text for r in replies] == [
        balie.renderer.render("utter_guard_question", language).text]  # type: ignore[arg-type]
    assert "https://mijn.voorbeeld.example" in replies[0].text and "14 0123" in replies[0].text


async def test_the_log_keeps_no_password_or_bsn(balie: Balie) -> None:
    await say(balie, "mijn digid wachtwoord is Zomer2026! en mijn bsn is 111222333")
    await balie.history.settle()
    async with balie.history.engine.connect() as connection:
        texts = (await connection.execute(sqlalchemy.text(
            "select text from messages where direction = 'in'"))).scalars().all()
    assert texts and not any("Zomer2026" in t or "111222333" in t for t in texts)
