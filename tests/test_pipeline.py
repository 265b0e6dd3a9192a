"""The whole pipeline on real Redis and a real database, embedded and server."""

import time

import pytest
import sqlalchemy
from prometheus_client import REGISTRY

from bot.pipeline import Balie
from bot.services import Services
from bot.settings import Settings
from bot.state.store import Pending
from bot.types import HandoffMove, Move, Reply, Turn

CHAT = "test:1"


def text(message: str, chat: str = CHAT, update_id: int | None = None) -> Turn:
    return Turn(chat_id=chat, channel="test", kind="text", text=message, update_id=update_id)


async def say(balie: Balie, message: str, chat: str = CHAT) -> list[Reply]:
    return await balie.handle(text(message, chat))


async def test_objection_question_is_answered_with_six_weeks(balie: Balie) -> None:
    replies = await say(balie, "hoe lang heb ik om bezwaar te maken?")
    assert len(replies) == 1
    assert "6 weken" in replies[0].text


async def test_english_question_gets_english_answer(balie: Balie) -> None:
    replies = await say(balie, "how do I object to my WOZ value")
    assert "6 weeks" in replies[0].text
    assert (await balie.store.load(CHAT)).language == "en"


async def test_language_follows_the_citizen(balie: Balie) -> None:
    await say(balie, "how do I object to my WOZ value")
    replies = await say(balie, "hoe lang heb ik om bezwaar te maken?")
    assert "6 weken" in replies[0].text


async def test_language_command_switches_and_locks(balie: Balie) -> None:
    switched = await balie.handle(Turn(CHAT, "test", "command", "/language en"))
    assert switched[0].text == balie.renderer.render("utter_language_switched", "en").text
    replies = await say(balie, "hoe lang heb ik om bezwaar te maken?")
    assert "6 weeks" in replies[0].text


async def test_start_says_what_balie_cannot_do(balie: Balie) -> None:
    replies = await balie.handle(Turn(CHAT, "test", "command", "/start"))
    assert "BSN" in replies[0].text
    assert "Belastingdienst" in replies[0].text


async def test_unclear_message_falls_back_with_a_person_button(balie: Balie) -> None:
    replies = await say(balie, "xq zzv plop")
    assert replies[0].text == balie.renderer.render("utter_fallback", "nl").text
    assert len(replies[0].buttons) == 1
    pressed = await balie.handle(Turn(CHAT, "test", "button", replies[0].buttons[0].data))
    assert pressed[0].text == balie.renderer.render("utter_request_human", "nl").text


async def test_ambiguous_message_asks_which_of_two_and_the_button_answers(balie: Balie) -> None:
    # Two topics in one message: the model must hesitate between them.
    replies = await say(balie, "incasso of betalingsregeling")
    assert len(replies[0].buttons) == 2, replies[0].text
    state = await balie.store.load(CHAT)
    assert state.pending is not None
    chosen = state.pending.options[0].removeprefix("/")
    answer = await balie.handle(Turn(CHAT, "test", "button", replies[0].buttons[0].data))
    assert answer[0].text == balie.renderer.render(f"utter_{chosen}", "nl").text


async def test_forged_button_press_is_refused(balie: Balie) -> None:
    replies = await say(balie, "xq zzv plop")
    nonce = replies[0].buttons[0].data.split(":")[0]
    for forged in ["/request_human", f"{nonce}:7", "AAAAAAAA:0", f"{nonce}:x", ""]:
        answer = await balie.handle(Turn(CHAT, "test", "button", forged))
        assert answer[0].text == balie.renderer.render("utter_button_expired", "nl").text
    log = await balie.history.conversation(CHAT)
    assert all(m.intent is None for m in log[2:]), "a refused press answers no intent"


async def test_a_button_works_once(balie: Balie) -> None:
    replies = await say(balie, "xq zzv plop")
    data = replies[0].buttons[0].data
    await balie.handle(Turn(CHAT, "test", "button", data))
    again = await balie.handle(Turn(CHAT, "test", "button", data))
    assert again[0].text == balie.renderer.render("utter_button_expired", "nl").text


async def test_replayed_update_is_answered_once(balie: Balie) -> None:
    first = await balie.handle(text("hoi", update_id=42))
    second = await balie.handle(text("hoi", update_id=42))
    assert first and second == []
    log = await balie.history.conversation(CHAT)
    assert [m.direction for m in log] == ["in", "out"]


@pytest.mark.parametrize(
    ("message", "response"),
    [
        ("", "utter_empty"),
        ("   \n\t ", "utter_empty"),
        ("\x00\x01\u200b", "utter_empty"),
        ("a" * 10_000, "utter_too_long"),
        ("bezwaar " * 600, "utter_too_long"),
    ],
)
async def test_bad_input_gets_a_clear_answer(balie: Balie, message: str, response: str) -> None:
    replies = await say(balie, message)
    expected = balie.renderer.render(response, "nl", {"max_chars": 4096})
    assert [r.text for r in replies] == [expected.text]
    assert len(await balie.history.conversation(CHAT)) == 2


async def test_control_characters_and_broken_utf8_are_cleaned_and_answered(balie: Balie) -> None:
    broken = b"hoe lang heb ik om bezwaar te maken\xff?".decode("utf-8", "surrogateescape")
    replies = await say(balie, "\x07" + broken + "\u202e")
    assert "6 weken" in replies[0].text
    stored = (await balie.history.conversation(CHAT))[0].text
    assert "\x07" not in stored and "\u202e" not in stored


async def test_non_text_gets_i_can_only_read_text(balie: Balie) -> None:
    replies = await balie.handle(Turn(CHAT, "test", "non_text"))
    assert replies[0].text == balie.renderer.render("utter_non_text", "nl").text


async def test_log_has_masked_text_intent_confidence_and_latency(balie: Balie) -> None:
    await say(balie, "mijn bsn is 111222333 en mail me op a@b.nl, hoe maak ik bezwaar?")
    incoming, warning, outgoing = await balie.history.conversation(CHAT)
    assert warning.text == balie.renderer.render("utter_guard_warning", "nl").text
    assert "111222333" not in incoming.text and "[bsn]" in incoming.text
    assert "[email]" in incoming.text
    assert incoming.intent == "objection" and incoming.confidence and incoming.confidence > 0.4
    assert outgoing.direction == "out" and outgoing.latency_ms is not None
    assert outgoing.language == "nl" and incoming.channel == "test"


async def test_state_is_kept_in_redis_with_a_ttl(balie: Balie) -> None:
    await say(balie, "how do I object to my WOZ value")
    ttl = await balie.store.client.ttl(f"balie:{CHAT}:state")
    assert 29 * 86400 < ttl <= 30 * 86400
    state = await balie.store.load(CHAT)
    assert state.last_intents == ["objection"]


async def test_unreachable_redis_gets_an_apology_not_silence(settings: Settings) -> None:
    broken = settings.model_copy(update={"redis_url": "redis://127.0.0.1:1/0"})
    async with Services.opened(broken) as services:
        balie = services.balie
        replies = await say(balie, "hoe maak ik bezwaar?")
    assert replies[0].text == balie.renderer.render("utter_technical_problem", "nl").text


async def test_tax_answers_get_thumbs_and_small_talk_does_not(balie: Balie) -> None:
    replies = await say(balie, "hoe lang heb ik om bezwaar te maken?")
    assert [b.title for b in replies[-1].buttons] == ["👍", "👎"]
    assert (await say(balie, "hoi"))[0].buttons == ()


async def test_forget_erases_the_chat_after_confirmation(balie: Balie) -> None:
    await say(balie, "hoe lang heb ik om bezwaar te maken?")
    await balie.listening.newsroom.subscribe(CHAT, "woz", "nl")
    [confirm] = await balie.handle(Turn(CHAT, "test", "command", "/vergeet"))
    assert [b.title for b in confirm.buttons] == ["Ja, wis alles", "Nee"]
    [kept] = await balie.handle(Turn(CHAT, "test", "button", confirm.buttons[1].data))
    assert kept.text == "Oké, we wissen niets."
    assert await balie.history.conversation(CHAT)
    [confirm] = await balie.handle(Turn(CHAT, "test", "command", "/vergeet"))
    [done] = await balie.handle(Turn(CHAT, "test", "button", confirm.buttons[0].data))
    assert done.text.startswith("Gedaan: we hebben je gesprek en gegevens gewist.")
    assert await balie.history.conversation(CHAT) == [], "not even the erasing turn is logged"
    assert await balie.listening.newsroom.subscribed(CHAT) == set()
    assert (await balie.store.load(CHAT)).last_intents == []
    assert await balie.store.client.keys(f"balie:{CHAT}:update:*") == []


async def test_a_flood_gets_one_notice_and_flooded_messages_are_counted_not_stored(
    settings: Settings,
) -> None:
    flooded_before = REGISTRY.get_sample_value("balie_flooded_total") or 0
    async with Services.opened(settings.model_copy(update={"flood_per_minute": 5})) as services:
        balie = services.balie
        # The flood limit counts per clock minute: a run that straddles a minute boundary is
        # repeated in a new chat, so where in the minute the test starts does not matter.
        for attempt in range(3):
            chat, minute = f"{CHAT}{attempt}", int(time.time() // 60)
            answers = [await say(balie, f"hoi {n}", chat) for n in range(8)]
            if int(time.time() // 60) == minute:
                break
        log = await balie.history.conversation(chat)
    assert all(len(a) == 1 for a in answers[:5])
    assert [r.text for r in answers[5]] == [balie.renderer.render("utter_flood", "nl").text]
    assert answers[6:] == [[], []]
    assert [m.text for m in log if m.direction == "in"] == [
        *(f"hoi {n}" for n in range(5)), "[flood: more than 5 messages in a minute]"]
    assert (REGISTRY.get_sample_value("balie_flooded_total") or 0) - flooded_before >= 3


async def test_a_forged_poll_button_is_refused_and_no_vote_counted(balie: Balie) -> None:
    poll = await balie.listening.polls.create("Duidelijk?", "Clear?", None)
    expired = balie.renderer.render("utter_button_expired", "nl").text
    for forged in (f"poll:{poll.id}:1", f"poll:{poll.id}:1:guess"):
        [reply] = await balie.handle(Turn(CHAT, "test", "button", forged))
        assert reply.text == expired
    assert (await balie.listening.polls.results(poll.id)).total == 0


async def test_answers_go_out_when_announcements_and_polls_fail(balie: Balie) -> None:
    async with balie.history.engine.begin() as connection:
        await connection.execute(sqlalchemy.text("DROP TABLE polls"))
        await connection.execute(sqlalchemy.text("DROP TABLE announcements"))
    replies = await say(balie, "hoe lang heb ik om bezwaar te maken?")
    assert "6 weken" in replies[0].text


async def test_a_button_press_is_logged_by_its_title(balie: Balie) -> None:
    [answer] = await say(balie, "wanneer moet ik betalen?")
    thumbs_up = answer.buttons[0]
    await balie.handle(Turn(chat_id=CHAT, channel="test", kind="button", text=thumbs_up.data))
    await balie.handle(Turn(chat_id=CHAT, channel="test", kind="button", text="forged:9"))
    logged = [m.text for m in await balie.history.conversation(CHAT) if m.direction == "in"]
    assert logged[-2:] == [f"[{thumbs_up.title}]", "[forged:9]"]


def _kinds(base: type[Move]) -> set[type[Move]]:
    return {kind for sub in base.__subclasses__() for kind in {sub, *_kinds(sub)}}


async def test_every_kind_of_move_has_one_handler(balie: Balie) -> None:
    assert balie.router.handles() == _kinds(Move) - {HandoffMove}


async def test_a_forged_button_is_told_it_no_longer_works(balie: Balie) -> None:
    state = await balie.store.load(CHAT)
    state.pending = Pending("n0nce", ["!handoff:anything"])
    await balie.store.save(CHAT, state)
    replies = await balie.handle(Turn(CHAT, "test", "button", "n0nce:0"))
    assert [r.text for r in replies] == [
        balie.renderer.render("utter_button_expired", "nl").text]
    assert await balie.reception.desk.ticket(CHAT) is None


async def test_gibberish_and_ok_keep_the_chat_s_language(balie: Balie) -> None:
    await say(balie, "hoe lang heb ik om bezwaar te maken?")
    for message in ("xxxxxxxxxx", "ok"):
        await say(balie, message)
        assert (await balie.store.load(CHAT)).language == "nl"
    await say(balie, "how do I object to my WOZ value")
    await say(balie, "xxxxxxxxxx")
    assert (await balie.store.load(CHAT)).language == "en"


@pytest.mark.parametrize(("hint", "language"), [("en", "en"), ("nl", "nl")])
async def test_start_speaks_the_language_of_the_app(balie: Balie, hint: str,
                                                    language: str) -> None:
    replies = await balie.handle(Turn(CHAT, "test", "command", "/start", language_hint=hint))
    assert replies[0].text == balie.renderer.render("utter_start", language).text  # type: ignore[arg-type]


@pytest.mark.parametrize(("command", "language"), [("/taal", "nl"), ("/language", "en")])
async def test_language_command_without_argument_offers_two_buttons(
        balie: Balie, command: str, language: str) -> None:
    if language == "en":
        await say(balie, "how do I object to my WOZ value")
    offered = await balie.handle(Turn(CHAT, "test", "command", command))
    assert [b.title for b in offered[0].buttons] == ["Nederlands", "English"]
    assert (await balie.store.load(CHAT)).language == language  # nothing switched yet
    chosen = await balie.handle(Turn(CHAT, "test", "button", offered[0].buttons[1].data))
    assert chosen[0].text == balie.renderer.render("utter_language_switched", "en").text
    state = await balie.store.load(CHAT)
    assert state.language == "en" and state.language_locked


@pytest.mark.parametrize(("word", "language"), [("stop", "nl"), ("cancel", "en")])
async def test_stop_outside_a_form_has_nothing_to_stop(balie: Balie, word: str,
                                                       language: str) -> None:
    await balie.handle(Turn(CHAT, "test", "command", f"/taal {language}"))
    replies = await say(balie, word)
    assert replies[0].text == balie.renderer.render("utter_nothing_to_stop", language).text  # type: ignore[arg-type]
    assert not replies[0].buttons
