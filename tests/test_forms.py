"""Forms through the whole pipeline: asking, re-asking, submitting, cancelling."""

from zoneinfo import ZoneInfo

from bot.handoff.cases import SqlCases
from bot.history.reports import Reports
from bot.pipeline import Balie
from bot.types import Reply, Turn

CHAT = "test:forms"


async def say(balie: Balie, message: str) -> list[Reply]:
    return await balie.handle(Turn(chat_id=CHAT, channel="test", kind="text", text=message))


def said(balie: Balie, name: str, language: str = "nl") -> str:
    return balie.renderer.render(name, language).text  # type: ignore[arg-type]


async def test_calculator_asks_a_missing_fact_re_asks_a_wrong_one_and_answers(
    balie: Balie
) -> None:
    [ask] = await say(balie, "reken mijn ozb uit")
    assert ask.text == said(balie, "utter_ask_woz_value")
    [again] = await say(balie, "geen idee, veel")
    assert again.text.splitlines() == [said(balie, "utter_invalid_woz_value"),
                                       said(balie, "utter_ask_woz_value")]
    [answer] = await say(balie, "3,5 ton")
    ozb = "• OZB (eigenaar woning): € 350.000,00 \u00d7 0,0856% = € 299,60"
    assert answer.text.startswith(ozb)
    state = await balie.store.load(CHAT)
    assert state.form == "" and state.slots.get("woz_value") is None


async def test_calculator_asks_each_missing_fact_in_english(balie: Balie) -> None:
    [ask] = await say(balie, "how much dog tax and waste levy do I pay in total?")
    assert ask.text == said(balie, "utter_ask_household_size", "en")
    [ask] = await say(balie, "3")
    assert ask.text == said(balie, "utter_ask_dogs", "en")
    [answer] = await say(balie, "2")
    # waste 396.00 + sewage 246.60 + dogs 96.00 + 144.00 = 882.60
    assert "Together: €882.60 a year." in answer.text


async def test_stop_cancels_a_form_and_forgets_the_answers(balie: Balie) -> None:
    await say(balie, "reken mijn ozb uit")
    [stopped] = await say(balie, "stop")
    assert stopped.text == said(balie, "utter_form_cancelled")
    state = await balie.store.load(CHAT)
    assert state.form == "" and "requested_slot" not in state.slots
    replies = await say(balie, "hoe lang heb ik om bezwaar te maken?")
    assert "6 weken" in replies[0].text


async def test_case_status_asks_reference_and_address_and_tells_the_status(
    balie: Balie
) -> None:
    reference = await SqlCases(balie.history.engine).create("objection", "1234AB 5", "nl")
    [ask] = await say(balie, "wat is de status van mijn bezwaar?")
    assert ask.text == said(balie, "utter_ask_case_reference")
    [ask] = await say(balie, reference.lower().replace("-", " "))
    assert ask.text == said(balie, "utter_ask_case_address")
    [wrong] = await say(balie, "Dorpsstraat 5")
    assert wrong.text.startswith(said(balie, "utter_invalid_case_address"))
    [answer] = await say(balie, "1234 ab 5")
    assert answer.text.startswith(f"We hebben je bezwaar ({reference}) ontvangen.")
    assert "1234" not in answer.text
    state = await balie.store.load(CHAT)
    assert state.form == "" and "case_address" not in state.slots


async def press(balie: Balie, reply: Reply, title: str) -> list[Reply]:
    [button] = [b for b in reply.buttons if b.title == title]
    return await balie.handle(Turn(chat_id=CHAT, channel="test", kind="button", text=button.data))


async def test_remission_quick_check_from_its_button_with_a_wrong_answer(balie: Balie) -> None:
    [explained] = await say(balie, "kan ik kwijtschelding krijgen?")
    [ask] = await press(balie, explained, "Doe de snelcheck")
    assert ask.text == said(balie, "utter_ask_remission_household")
    [ask] = await say(balie, "alleen")
    assert ask.text == said(balie, "utter_ask_net_income")
    [again] = await say(balie, "ongeveer duizend")
    assert again.text.splitlines() == [said(balie, "utter_invalid_euros"),
                                       said(balie, "utter_ask_net_income")]
    await say(balie, "1.150")
    await say(balie, "0")
    [result] = await say(balie, "geen auto")
    assert result.text.startswith(said(balie, "utter_remission_likely"))
    assert "€ 1.401,00" in result.text
    assert "BSN" in result.text and "IBAN" not in result.text
    state = await balie.store.load(CHAT)
    assert state.form == "" and not {k: v for k, v in state.slots.items() if v is not None}


async def test_remission_check_can_be_stopped_halfway(balie: Balie) -> None:
    [explained] = await say(balie, "kan ik kwijtschelding krijgen?")
    await press(balie, explained, "Doe de snelcheck")
    await say(balie, "samen")
    [stopped] = await say(balie, "Annuleer")
    assert stopped.text == said(balie, "utter_form_cancelled")
    assert (await balie.store.load(CHAT)).slots == {}


async def test_arrangement_request_is_confirmed_queued_for_staff_and_its_status_known(
    balie: Balie
) -> None:
    [explained] = await say(balie, "can I pay my tax in instalments?")
    [ask] = await press(balie, explained, "Request an arrangement")
    assert ask.text == said(balie, "utter_ask_amount_due", "en")
    [again] = await say(balie, "20")
    assert again.text.startswith("Type the amount as a number, between €50.00 and €10,000.00.")
    await say(balie, "€ 1.250,-")
    [again] = await say(balie, "12")
    assert again.text.startswith(said(balie, "utter_invalid_arrangement_terms", "en"))
    [ask] = await say(balie, "5")
    assert ask.text == said(balie, "utter_ask_case_address", "en")
    [confirmed] = await say(balie, "1234 AB 5")
    # 1,250.00 / 5 = 250.00
    assert confirmed.text.startswith("Your request has been sent: €1,250.00 in 5 instalments "
                                     "of about €250.00. Your reference is BR-")
    reference = confirmed.text.split("Your reference is ")[1][:9]
    [task] = await SqlCases(balie.history.engine).tasks()
    assert (task.chat_id, task.kind, task.note) == (
        CHAT, "task", f"{reference}: € 1.250,00 in 5 termijnen")
    await say(balie, "what is the status of my payment arrangement request?")
    await say(balie, reference)
    [status] = await say(balie, "1234AB 5")
    assert status.text.startswith(
        f"We have received your payment arrangement request ({reference})")


async def test_a_clear_other_question_leaves_the_form_and_is_answered(balie: Balie) -> None:
    await say(balie, "wat is de status van mijn bezwaar?")
    [answer] = await say(balie, "hoe lang heb ik om bezwaar te maken?")
    assert "6 weken" in answer.text
    state = await balie.store.load(CHAT)
    assert state.form == "" and "requested_slot" not in state.slots
    [ask] = await say(balie, "reken mijn ozb uit")
    [again] = await say(balie, "weet ik niet")  # deny: an answer to the question, not a topic
    assert again.text.endswith(ask.text)


async def test_probably_no_remission_offers_the_arrangement_form(balie: Balie) -> None:
    [explained] = await say(balie, "kan ik kwijtschelding krijgen?")
    await press(balie, explained, "Doe de snelcheck")
    for answer in ["samen", "3000", "20000"]:
        await say(balie, answer)
    unlikely, rules = await say(balie, "geen")
    assert unlikely.text == said(balie, "utter_remission_unlikely")
    assert "€ 2.001,00" in rules.text
    [ask] = await press(balie, unlikely, "Regeling aanvragen")
    assert ask.text == said(balie, "utter_ask_amount_due")


async def test_answers_to_a_form_are_logged_as_the_forms_not_as_questions(balie: Balie) -> None:
    await say(balie, "reken mijn ozb uit")
    await say(balie, "3000")
    await say(balie, "mijn bsn is 111222333")
    logged = [m for m in await balie.history.conversation(CHAT) if m.direction == "in"]
    assert [(m.intent, m.confidence is None) for m in logged] == [
        ("tax_calculation", False), ("form:tax_form", True), ("form:tax_form", True)]
    assert "111222333" not in logged[-1].text
    report = await Reports(balie.history, 0.5, ZoneInfo("Europe/Amsterdam")).dashboard(1)
    assert report.top_intents == [("tax_calculation", 1)], "answers are not counted as asked"
