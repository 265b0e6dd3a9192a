"""The bot served in process, its PTB client talking HTTP to the Bot API emulator."""

import asyncio
from typing import Any

import httpx
import pytest

from bot.channels.telegram import chunks
from bot.nlu import content
from bot.nlu.content import BOT_MOVES, HANDOFF_ACTION, Content
from bot.nlu.serving import NLU
from bot.replies.render import Renderer
from bot.replies.tenants import Tenants
from bot.settings import PROJECT_DIR
from bot.types import LANGUAGES, Language
from tests.support.bot_api import BotAPI, check_html
from tests.support.updates import NON_TEXT

CITIZEN = 5001
THRESHOLD = 0.45
MARGIN = 0.2


@pytest.fixture(scope="module")
def loaded() -> Content:
    return content.load(PROJECT_DIR / "intents")


@pytest.fixture
def renderer(loaded: Content, demo_tenants: Tenants) -> Renderer:
    return Renderer(loaded.responses, demo_tenants)


async def polling_bot(served_bot: Any, bot_api: BotAPI) -> Any:
    process = served_bot()
    await bot_api.wait_for_call("getUpdates", timeout=60)
    return process


def expected_texts(
    loaded: Content, renderer: Renderer, intent: str, language: Language
) -> set[str]:
    """The answers an intent may get: its response, or (with an action) its action's responses."""
    if loaded.actions.get(intent, HANDOFF_ACTION) in BOT_MOVES:
        # Without a staff desk a person is not offered: the intent's own response answers.
        return {renderer.render(f"utter_{intent}", language).text}
    names = [f"utter_{intent}"] if f"utter_{intent}" in loaded.responses else []
    names += [name for name in loaded.responses if name.startswith(f"utter_{intent}_")]
    form = loaded.forms.get(loaded.actions.get(intent, ""))
    if form:  # a form starts by asking its first slot
        names.append(f"utter_ask_{form.required_slots[0]}")
    return {prefix for name in names
            for prefix in [renderer.responses[name][language].text.split("{")[0]]}


def clear_example(model: NLU, loaded: Content, intent: str, language: str) -> str:
    """A training message of the intent that the model answers without hesitating."""
    for example in loaded.examples:
        if example.intent == intent and example.language == language and len(example.text) > 12:
            parse = model.parse(example.text)
            runner_up = parse.ranking[1][1]
            if (parse.intent == intent and parse.confidence >= THRESHOLD + 0.1
                    and parse.confidence - runner_up >= MARGIN + 0.1
                    and model.language(example.text) == language):
                return example.text
    raise AssertionError(f"no clear {language} example for {intent}")


async def test_start_greets_and_says_what_balie_cannot_do(
    served_bot: Any, bot_api: BotAPI, renderer: Renderer
) -> None:
    await polling_bot(served_bot, bot_api)
    [reply] = await bot_api.exchange(CITIZEN, "/start")
    assert reply["text"] == renderer.render("utter_start", "nl").text
    [reply] = await bot_api.exchange(CITIZEN, "/help")
    assert reply["text"] == renderer.render("utter_help", "nl").text


async def test_every_intent_is_answered_in_dutch_and_english(
    served_bot: Any, bot_api: BotAPI, model: NLU, loaded: Content, renderer: Renderer
) -> None:
    await polling_bot(served_bot, bot_api)
    for chat, language in enumerate(LANGUAGES, start=CITIZEN):
        await bot_api.exchange(chat, f"/taal {language}")
        for intent in loaded.intents:
            message = clear_example(model, loaded, intent, language)
            [reply] = await bot_api.exchange(chat, message, language=language)
            expected = expected_texts(loaded, renderer, intent, language)
            assert any(reply["text"].startswith(text) for text in expected), (
                intent, message, reply["text"])
            assert "{" not in reply["text"]


async def test_objection_deadline_is_six_weeks_in_both_languages(
    served_bot: Any, bot_api: BotAPI
) -> None:
    await polling_bot(served_bot, bot_api)
    [reply] = await bot_api.exchange(CITIZEN, "hoi, hoe lang heb ik om bezwaar te maken?")
    assert "6 weken" in reply["text"]
    [reply] = await bot_api.exchange(CITIZEN, "how do I object to my WOZ value", language="en")
    assert "6 weeks" in reply["text"]


async def test_an_edited_message_is_answered_again(served_bot: Any, bot_api: BotAPI) -> None:
    await polling_bot(served_bot, bot_api)
    await bot_api.exchange(CITIZEN, "hoi")
    await bot_api.edit(CITIZEN, "hoe lang heb ik om bezwaar te maken?")
    [reply] = await bot_api.replies(CITIZEN, after=1)
    assert "6 weken" in reply["text"]


@pytest.mark.parametrize("kind", sorted(NON_TEXT))
async def test_non_text_gets_i_can_only_read_text(
    served_bot: Any, bot_api: BotAPI, renderer: Renderer, kind: str
) -> None:
    await polling_bot(served_bot, bot_api)
    await bot_api.send_content(CITIZEN, kind)
    [reply] = await bot_api.replies(CITIZEN)
    assert reply["text"] == renderer.render("utter_non_text", "nl").text


async def test_over_long_message_gets_a_clear_answer(
    served_bot: Any, bot_api: BotAPI, renderer: Renderer
) -> None:
    await polling_bot(served_bot, bot_api)
    [reply] = await bot_api.exchange(CITIZEN, "bezwaar " * 1250)
    assert reply["text"] == renderer.render("utter_too_long", "nl", {"max_chars": 4096}).text
    [reply] = await bot_api.exchange(CITIZEN, "wanneer moet ik betalen?")
    assert "30 april 2026" in reply["text"]


async def test_fallback_button_press_and_forged_press(
    served_bot: Any, bot_api: BotAPI, renderer: Renderer
) -> None:
    await polling_bot(served_bot, bot_api)
    [fallback] = await bot_api.exchange(CITIZEN, "xq zzv plop")
    assert fallback["text"] == renderer.render("utter_fallback", "nl").text
    [[button]] = fallback["reply_markup"]["inline_keyboard"]
    assert button["text"] == "Medewerker spreken"

    await bot_api.press(CITIZEN, fallback, "forged:0")
    [refused] = await bot_api.replies(CITIZEN, after=1)
    assert refused["text"] == renderer.render("utter_button_expired", "nl").text

    await bot_api.press(CITIZEN, fallback, button["callback_data"])
    [answer] = await bot_api.replies(CITIZEN, after=2)
    assert answer["text"] == renderer.render("utter_request_human", "nl").text
    assert "reply_markup" not in bot_api.sent[CITIZEN][0], "pressed keyboard is removed"
    edits = [params for method, params in bot_api.calls
             if method.lower() == "editmessagereplymarkup"
             and int(params["message_id"]) == fallback["message_id"]]
    assert len(edits) == 2, f"its buttons taken off once per press: {edits}"


async def test_clarifying_question_offers_the_top_two_as_buttons(
    served_bot: Any, bot_api: BotAPI, renderer: Renderer
) -> None:
    await polling_bot(served_bot, bot_api)
    [question] = await bot_api.exchange(CITIZEN, "incasso of betalingsregeling")
    titles = {row[0]["text"] for row in question["reply_markup"]["inline_keyboard"]}
    assert question["text"].startswith("Bedoel je ")
    labels = [renderer.label(i, "nl") for i in ("direct_debit", "payment_arrangement")]
    assert titles == {label[:1].upper() + label[1:] for label in labels}
    second = question["reply_markup"]["inline_keyboard"][1][0]
    await bot_api.press(CITIZEN, question, second["callback_data"])
    [answer] = await bot_api.replies(CITIZEN, after=1)
    assert answer["text"] != renderer.render("utter_button_expired", "nl").text


async def test_webhook_mode_checks_the_secret_and_answers_a_replay_once(
    served_bot: Any, bot_api: BotAPI, tmp_path: Any
) -> None:
    from tests.conftest import free_port

    port = free_port()
    url = f"http://127.0.0.1:{port}/telegram/hook"
    secret = "s3cret-token-of-at-least-32-characters"
    served_bot(BALIE_WEBHOOK_URL=url, BALIE_WEBHOOK_SECRET=secret,
               BALIE_WEBHOOK_LISTEN="127.0.0.1", BALIE_WEBHOOK_PORT=str(port))
    hook = await bot_api.wait_for_call("setWebhook", timeout=60)
    assert hook["url"] == url and hook["secret_token"] == secret
    await wait_until_listening(port)

    [reply] = await bot_api.exchange(CITIZEN, "hoe lang heb ik om bezwaar te maken?")
    assert "6 weken" in reply["text"]

    update = {"update_id": 99_001, "message": {
        "message_id": 1, "date": 0, "chat": {"id": CITIZEN, "type": "private"},
        "from": {"id": CITIZEN, "is_bot": False, "first_name": "B"}, "text": "hoi"}}
    assert await bot_api.deliver(dict(update)) == 200
    assert await bot_api.deliver(dict(update)) == 200
    await bot_api.replies(CITIZEN, after=1)
    await answered_in_turn(bot_api)
    assert len(bot_api.sent[CITIZEN]) == 3, "a replayed update is answered once"

    assert await bot_api.deliver({**update, "update_id": 99_002}, secret="wrong") == 403
    async with httpx.AsyncClient() as client:
        response = await client.post(url, json={**update, "update_id": 99_003})
    assert response.status_code == 401, "no secret at all is 401, a wrong one 403"
    await answered_in_turn(bot_api)
    assert len(bot_api.sent[CITIZEN]) == 4, "no answer without the right secret"


async def answered_in_turn(bot_api: BotAPI) -> None:
    """Wait for the answer to one more message: a chat's earlier updates are answered first."""
    before = len(bot_api.sent[CITIZEN])
    await bot_api.say(CITIZEN, "hoe lang heb ik om bezwaar te maken?")
    [answer] = await bot_api.replies(CITIZEN, after=before)
    assert "6 weken" in answer["text"]


async def wait_until_listening(port: int) -> None:
    for _ in range(100):
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        except OSError:
            await asyncio.sleep(0.1)
    raise TimeoutError(f"nothing listens on {port}")


def test_long_replies_are_split_and_escaped_for_html() -> None:
    text = "Kosten < €10 & meer > niets. " * 400
    parts = chunks(text)
    assert len(parts) > 1
    for part in parts:
        check_html(part)
        visible = part.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
        assert len(visible) <= 4096
    joined = " ".join(p.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
                      for p in parts)
    assert " ".join(joined.split()) == " ".join(text.split())


def test_html_check_refuses_raw_markup() -> None:
    with pytest.raises(Exception, match="parse entities"):
        check_html("<img src=x onerror=alert(1)>")
    with pytest.raises(Exception, match="parse entities"):
        check_html("a & b")


async def test_household_total_through_telegram(served_bot: Any, bot_api: BotAPI) -> None:
    await polling_bot(served_bot, bot_api)
    [reply] = await bot_api.exchange(
        CITIZEN, "we zijn met z'n drieën, huis van 410.000 en een hond, wat betalen we?")
    lines = reply["text"].splitlines()
    assert lines[0] == "• OZB (eigenaar woning): € 410.000,00 \u00d7 0,0856% = € 350,96"
    assert lines[-1].startswith("Samen: € 1.089,56 per jaar.")
    [reply] = await bot_api.exchange(
        CITIZEN, "we are three people, our house is worth 410,000 and we have one dog, what do "
        "we pay?", language="en")
    assert "Together: €1,089.56 a year." in reply["text"]


async def test_language_comes_from_the_app_and_taal_offers_two_buttons(
    served_bot: Any, bot_api: BotAPI, renderer: Renderer
) -> None:
    await polling_bot(served_bot, bot_api)
    [start] = await bot_api.exchange(CITIZEN, "/start", language="en")
    assert start["text"] == renderer.render("utter_start", "en").text
    [offer] = await bot_api.exchange(CITIZEN, "/taal", language="en")
    buttons = {b["text"]: b["callback_data"]
               for row in offer["reply_markup"]["inline_keyboard"] for b in row}
    assert list(buttons) == ["Nederlands", "English"]
    before = len(bot_api.sent[CITIZEN])
    await bot_api.press(CITIZEN, offer, buttons["Nederlands"])
    [switched] = await bot_api.replies(CITIZEN, after=before)
    assert switched["text"] == renderer.render("utter_language_switched", "nl").text
    warning, answer = await bot_api.exchange(
        CITIZEN, "mijn bsn is 111222333, hoe lang heb ik voor bezwaar?", count=2)
    assert warning["text"] == renderer.render("utter_guard_warning", "nl").text
    assert "6 weken" in answer["text"]
