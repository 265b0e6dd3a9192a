"""Deciding the next move from state and parse."""

import pytest

from bot.dialogue import buttons, memory
from bot.dialogue.buttons import STALE, Asked
from bot.dialogue.policy import Policy, decide
from bot.nlu import content
from bot.settings import PROJECT_DIR
from bot.state.store import ChatState, Confirming, Noting, Pending
from bot.types import (
    Act,
    Answer,
    CancelForm,
    ChooseLanguage,
    Clarify,
    Fallback,
    Feedback,
    FillSlot,
    HandoffAccept,
    HandoffDecline,
    HandoffOffer,
    LeaveNote,
    Move,
    NoteKind,
    Parse,
    PollVote,
    Rate,
    Say,
    StartForm,
    Subscribe,
    Turn,
    Unsubscribe,
)

POLICY = Policy(threshold=0.45, fallback=0.2, margin=0.2, max_chars=100,
                actions={"contact_info": "action_contact_info"},
                clarifiable=frozenset({"objection", "woz_value", "contact_info"}))


def parse(*ranking: tuple[str, float], language: str | None = "nl") -> Parse:
    return Parse(ranking[0][0], ranking[0][1], ranking, language)  # type: ignore[arg-type]


def text_turn(text: str = "x") -> Turn:
    return Turn("c", "test", "text", text)


def test_confident_parse_is_answered() -> None:
    state = ChatState()
    move = decide(state, text_turn(), "x", parse(("objection", 0.9), ("woz_value", 0.05)), POLICY)
    assert move == Answer(intent="objection")
    assert move.kind == "answer" and move.response == "utter_objection"
    assert state.last_intents == ["objection"]


def test_intent_with_a_rule_runs_its_action() -> None:
    move = decide(ChatState(), text_turn(), "x", parse(("contact_info", 0.9), ("greet", 0.1)),
                  POLICY)
    assert move == Act("action_contact_info", intent="contact_info")


def test_close_topics_are_clarified() -> None:
    move = decide(ChatState(), text_turn(), "x", parse(("objection", 0.5), ("woz_value", 0.4)),
                  POLICY)
    assert move == Clarify(("objection", "woz_value"))


def test_low_confidence_between_topics_is_clarified() -> None:
    move = decide(ChatState(), text_turn(), "x", parse(("objection", 0.3), ("woz_value", 0.05)),
                  POLICY)
    assert isinstance(move, Clarify)


def test_non_topic_is_never_offered_and_falls_back_when_unsure() -> None:
    state = ChatState()
    move = decide(state, text_turn(), "x", parse(("greet", 0.3), ("objection", 0.25)), POLICY)
    assert move == Fallback()
    assert state.fallbacks == 1


def test_very_low_confidence_falls_back_and_counts() -> None:
    state = ChatState(fallbacks=1)
    move = decide(state, text_turn(), "x", parse(("objection", 0.1), ("woz_value", 0.09)), POLICY)
    assert move == Fallback()
    assert state.fallbacks == 2


def test_answer_resets_the_fallback_count() -> None:
    state = ChatState(fallbacks=2)
    decide(state, text_turn(), "x", parse(("objection", 0.9), ("woz_value", 0.05)), POLICY)
    assert state.fallbacks == 0


def test_language_follows_the_message_unless_locked() -> None:
    state = ChatState()
    decide(state, text_turn(), "x", parse(("objection", 0.9), ("a", 0.0), language="en"), POLICY)
    assert state.language == "en"
    state.language_locked = True
    decide(state, text_turn(), "x", parse(("objection", 0.9), ("a", 0.0), language="nl"), POLICY)
    assert state.language == "en"


@pytest.mark.parametrize(("command", "language"), [("/taal", None), ("/language nl", "nl"),
                                                    ("/taal en", "en"), ("/taal@balie_bot", None)])
def test_language_command_picks_a_language_or_offers_the_choice(
        command: str, language: str | None) -> None:
    move = decide(ChatState(), Turn("c", "test", "command", command), command, None, POLICY)
    assert move == ChooseLanguage(language)  # type: ignore[arg-type]


def test_gibberish_or_an_unsure_guess_does_not_switch_the_language() -> None:
    state = ChatState(language="nl")
    decide(state, text_turn(), "x", parse(("thank", 0.16), ("a", 0.15), language="en"), POLICY)
    assert state.language == "nl"


@pytest.mark.parametrize(("hint", "language"), [("en-GB", "en"), ("nl", "nl"), ("de", "nl"),
                                                (None, "nl")])
def test_start_takes_the_language_of_the_app_or_page(hint: str | None, language: str) -> None:
    state = ChatState()
    decide(state, Turn("c", "test", "command", "/start", language_hint=hint), "/start", None,
           POLICY)
    assert state.language == language


@pytest.mark.parametrize("word", ["stop", "Stop.", "annuleer", "cancel"])
def test_stop_outside_a_form_has_nothing_to_stop(word: str) -> None:
    move = decide(ChatState(), text_turn(word), word,
                  parse(("subscribe_updates", 0.56), ("affirm", 0.08)), POLICY)
    assert move == Say("utter_nothing_to_stop")


@pytest.mark.parametrize(("command", "response"), [("/start", "utter_start"),
                                                   ("/help", "utter_help"),
                                                   ("/onbekend", "utter_help")])
def test_commands(command: str, response: str) -> None:
    assert decide(ChatState(), Turn("c", "test", "command", command), command, None,
                  POLICY) == Say(response)


def test_pressed_button_answers_its_option_and_clears_pending() -> None:
    state = ChatState(pending=Pending("n0nce", ["/objection", "/woz_value"]))
    move = decide(state, Turn("c", "test", "button", "n0nce:1"), "n0nce:1", None, POLICY)
    assert move == Answer(intent="woz_value")
    assert state.pending is None


@pytest.mark.parametrize("data", ["other:0", "n0nce:2", "n0nce:-1", "n0nce", "", "/objection"])
def test_forged_button_is_refused(data: str) -> None:
    state = ChatState(pending=Pending("n0nce", ["/objection", "/woz_value"]))
    move = decide(state, Turn("c", "test", "button", data), data, None, POLICY)
    assert move == STALE == Say("utter_button_expired")
    assert state.last_intents == []
    assert state.pending == Pending("n0nce", ["/objection", "/woz_value"]), "offer stays valid"


def test_typing_instead_of_pressing_drops_the_buttons() -> None:
    state = ChatState(pending=Pending("n0nce", ["/objection"]))
    decide(state, text_turn(), "x", parse(("objection", 0.9), ("woz_value", 0.05)), POLICY)
    assert state.pending is None


@pytest.mark.parametrize(("text", "response"), [("", "utter_empty"),
                                                ("x" * 101, "utter_too_long")])
def test_unreadable_text(text: str, response: str) -> None:
    move = decide(ChatState(), text_turn(text), text, None, POLICY)
    assert isinstance(move, Say) and move.response == response


def test_non_text() -> None:
    assert decide(ChatState(), Turn("c", "test", "non_text"), "", None,
                  POLICY) == Say("utter_non_text")


STAFFED = Policy(threshold=0.45, fallback=0.2, margin=0.2, max_chars=100,
                 actions={"request_human": "offer_handoff"},
                 clarifiable=frozenset({"objection"}),
                 handoffs=frozenset({"request_human", "complaint"}), staffed=True)


def test_asking_for_a_person_offers_one_when_staff_are_set_up() -> None:
    request = parse(("request_human", 0.9), ("complaint", 0.05))
    assert decide(ChatState(), text_turn(), "x", request, STAFFED) == HandoffOffer(
        intent="request_human")
    unstaffed = decide(ChatState(), text_turn(), "x", request, POLICY)
    assert unstaffed == Answer(intent="request_human")


def test_a_complaint_is_answered_and_then_a_person_offered() -> None:
    move = decide(ChatState(), text_turn(), "x", parse(("complaint", 0.9), ("greet", 0.0)),
                  STAFFED)
    assert move == Answer(intent="complaint", offer_handoff=True)


def test_the_second_fallback_in_a_row_offers_a_person() -> None:
    state = ChatState()
    unclear = parse(("objection", 0.1), ("woz_value", 0.09))
    assert not decide(state, text_turn(), "x", unclear, STAFFED).offer_handoff
    assert decide(state, text_turn(), "x", unclear, STAFFED).offer_handoff


@pytest.mark.parametrize(("intent", "move"), [("affirm", HandoffAccept()),
                                             ("deny", HandoffDecline())])
def test_yes_or_no_answers_the_offer(intent: str, move: Move) -> None:
    state = ChatState(mode=Confirming())
    assert decide(state, text_turn(), "x", parse((intent, 0.9), ("greet", 0.0)), STAFFED) == move
    assert state.mode is None


def test_another_question_ends_the_offer() -> None:
    state = ChatState(mode=Confirming())
    move = decide(state, text_turn(), "x", parse(("objection", 0.9), ("greet", 0.0)), STAFFED)
    assert move == Answer(intent="objection") and state.mode is None


@pytest.mark.parametrize("note", ["message", "callback"])
def test_the_text_after_leave_a_message_is_the_message(note: NoteKind) -> None:
    state = ChatState(mode=Noting(note))
    move = decide(state, text_turn("bel me"), "bel me", None, STAFFED)
    assert move == LeaveNote(note, "bel me")


def test_rating_buttons_are_handoff_moves() -> None:
    state = ChatState(pending=Pending("n", ["!rate:1", "!rate:4", "!handoff:skip"]))
    move = decide(state, Turn("c", "test", "button", "n:1"), "n:1", None, STAFFED)
    assert move == Rate(4)


FORMS = Policy(threshold=0.45, fallback=0.2, margin=0.2, max_chars=100,
               actions={"case_status": "case_status_form"}, clarifiable=frozenset(),
               forms=frozenset({"case_status_form", "remission_form"}),
               form_slots=frozenset({"case_reference", "case_address"}),
               form_stay=content.load(PROJECT_DIR / "intents").form_stay)


def in_form() -> ChatState:
    return ChatState(form="case_status_form",
                     slots={"case_reference": "BZ-7K3M9Q", "requested_slot": "case_address"})


def test_a_rule_naming_a_form_starts_it() -> None:
    move = decide(ChatState(), text_turn(), "x", parse(("case_status", 0.9), ("greet", 0.0)),
                  FORMS)
    assert move == StartForm("case_status_form", intent="case_status")


def test_a_form_button_starts_only_a_known_form() -> None:
    state = ChatState(pending=Pending("n", ["!form:remission_form", "!form:nope_form"]))
    move = decide(state, Turn("c", "test", "button", "n:0"), "n:0", None, FORMS)
    assert move == StartForm("remission_form")
    state = ChatState(pending=Pending("n", ["!form:remission_form", "!form:nope_form"]))
    assert decide(state, Turn("c", "test", "button", "n:1"), "n:1", None, FORMS) == STALE


@pytest.mark.parametrize(("text", "ranking", "move"), [
    ("Stop!", (("out_of_scope", 0.5), ("greet", 0.1)), CancelForm()),
    ("annuleren", (("deny", 0.9), ("greet", 0.0)), CancelForm()),
    ("1234 AB 5", (("tax_calculation", 0.96), ("greet", 0.0)), FillSlot("1234 AB 5")),
    ("weet ik niet", (("deny", 0.95), ("goodbye", 0.0)), FillSlot("weet ik niet")),
    ("hoe maak ik bezwaar", (("objection", 0.55), ("greet", 0.0)),
     FillSlot("hoe maak ik bezwaar")),
    ("hoe maak ik bezwaar", (("objection", 0.7), ("woz_value", 0.6)),
     FillSlot("hoe maak ik bezwaar")),
    ("hoe maak ik bezwaar", (("objection", 0.9), ("woz_value", 0.05)),
     Answer(intent="objection")),
])
def test_during_a_form_text_fills_cancels_or_clearly_asks_something_else(
    text: str, ranking: tuple[tuple[str, float], ...], move: Move
) -> None:
    state = in_form()
    assert decide(state, text_turn(text), text, parse(*ranking), FORMS) == move
    if isinstance(move, Answer):
        assert (state.form, state.slots) == ("", {}), "leaving drops the form's answers"
    else:
        assert state.form == "case_status_form"


@pytest.mark.parametrize("payload", ["!bogus", "!handoff:nope", "!rate:five", "!feedback:meh",
                                     "!forget:maybe", "!subscribe:", "poll:1:x", "poll:1:1",
                                     "!x"])
def test_a_forged_move_payload_gets_the_stale_button_answer(payload: str) -> None:
    state = ChatState(pending=Pending("n", [payload]), mode=Confirming())
    move = decide(state, Turn("c", "test", "button", "n:0"), "n:0", None, STAFFED)
    assert move == STALE, "never a handoff move"
    assert state.mode == Confirming(), "the question asked before still stands"


@pytest.mark.parametrize("choice", [Asked("objection"), Feedback(True), Feedback(False),
                                    Subscribe("woz"), Unsubscribe(), PollVote(7, 2, "n0nce")])
def test_button_data_reads_back_as_the_move_it_was_made_for(choice: Asked | Move) -> None:
    assert buttons.parse(buttons.payload(choice), frozenset()) == choice


REMEMBERING = Policy(
    threshold=0.45, fallback=0.2, margin=0.2, max_chars=100,
    actions={"tax_calculation": "action_calculate_tax"},
    clarifiable=frozenset({"objection", "payment_deadline"}), form_stay=frozenset({"affirm"}),
    memory=memory.load(PROJECT_DIR / "intents" / "follow_ups.yml", turns=10, minutes=30))


def test_an_elliptical_question_is_answered_for_the_current_topic() -> None:
    state = ChatState()
    decide(state, text_turn(), "x", parse(("objection", 0.9)), REMEMBERING)
    text = "hoe lang heb ik daarvoor?"
    unsure = parse(("payment_deadline", 0.3), ("objection", 0.2))
    move = decide(state, text_turn(text), text, unsure, REMEMBERING)
    assert move == Say("utter_objection_deadline", intent="objection")


def test_small_talk_keeps_the_topic() -> None:
    state = ChatState()
    decide(state, text_turn(), "x", parse(("objection", 0.9)), REMEMBERING)
    decide(state, text_turn(), "x", parse(("affirm", 0.9)), REMEMBERING)
    text = "waar doe ik dat?"
    move = decide(state, text_turn(text), text, parse(("affirm", 0.5)), REMEMBERING)
    assert move == Say("utter_objection_where", intent="objection")


def test_a_new_fact_after_a_calculation_calculates_again() -> None:
    state = ChatState()
    decide(state, text_turn(), "x", parse(("tax_calculation", 0.9)), REMEMBERING)
    text = "oh nee, twee honden"
    move = decide(state, text_turn(text), text, parse(("deny", 0.8)), REMEMBERING)
    assert move == Act("action_calculate_tax", intent="tax_calculation")
    assert state.memory["dogs"].value == 2


def test_without_a_topic_an_elliptical_question_is_not_guessed() -> None:
    text = "hoe lang heb ik daarvoor?"
    move = decide(ChatState(), text_turn(text), text, parse(("payment_deadline", 0.1)),
                  REMEMBERING)
    assert move == Fallback()
