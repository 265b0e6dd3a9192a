"""Deciding the next step from state and parse."""

import pytest

from bot.dialogue.policy import Policy, decide
from bot.nlu import content
from bot.settings import PROJECT_DIR
from bot.state.store import ChatState, Pending
from bot.types import Parse, Step, Turn

POLICY = Policy(threshold=0.45, fallback=0.2, margin=0.2, max_chars=100,
                actions={"contact_info": "action_contact_info"},
                clarifiable=frozenset({"objection", "woz_value", "contact_info"}))


def parse(*ranking: tuple[str, float], language: str | None = "nl") -> Parse:
    return Parse(ranking[0][0], ranking[0][1], ranking, language)  # type: ignore[arg-type]


def text_turn(text: str = "x") -> Turn:
    return Turn("c", "test", "text", text)


def test_confident_parse_is_answered() -> None:
    state = ChatState()
    step = decide(state, text_turn(), "x", parse(("objection", 0.9), ("woz_value", 0.05)), POLICY)
    assert (step.kind, step.name, step.intent) == ("answer", "utter_objection", "objection")
    assert state.last_intents == ["objection"]


def test_intent_with_a_rule_runs_its_action() -> None:
    step = decide(ChatState(), text_turn(), "x", parse(("contact_info", 0.9), ("greet", 0.1)),
                  POLICY)
    assert (step.kind, step.name) == ("act", "action_contact_info")


def test_close_topics_are_clarified() -> None:
    step = decide(ChatState(), text_turn(), "x", parse(("objection", 0.5), ("woz_value", 0.4)),
                  POLICY)
    assert step.kind == "clarify"
    assert step.options == ("objection", "woz_value")


def test_low_confidence_between_topics_is_clarified() -> None:
    step = decide(ChatState(), text_turn(), "x", parse(("objection", 0.3), ("woz_value", 0.05)),
                  POLICY)
    assert step.kind == "clarify"


def test_non_topic_is_never_offered_and_falls_back_when_unsure() -> None:
    state = ChatState()
    step = decide(state, text_turn(), "x", parse(("greet", 0.3), ("objection", 0.25)), POLICY)
    assert step.kind == "fallback"
    assert state.fallbacks == 1


def test_very_low_confidence_falls_back_and_counts() -> None:
    state = ChatState(fallbacks=1)
    step = decide(state, text_turn(), "x", parse(("objection", 0.1), ("woz_value", 0.09)), POLICY)
    assert step.name == "utter_fallback"
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


@pytest.mark.parametrize(("command", "language"), [("/taal", "en"), ("/language nl", "nl"),
                                                    ("/taal en", "en"), ("/taal@balie_bot", "en")])
def test_language_command(command: str, language: str) -> None:
    state = ChatState(language="nl")
    step = decide(state, Turn("c", "test", "command", command), command, None, POLICY)
    assert step.name == "utter_language_switched"
    assert state.language == language and state.language_locked


@pytest.mark.parametrize(("command", "response"), [("/start", "utter_start"),
                                                   ("/help", "utter_help"),
                                                   ("/onbekend", "utter_help")])
def test_commands(command: str, response: str) -> None:
    assert decide(ChatState(), Turn("c", "test", "command", command), command, None,
                  POLICY).name == response


def test_pressed_button_answers_its_option_and_clears_pending() -> None:
    state = ChatState(pending=Pending("n0nce", ["/objection", "/woz_value"]))
    step = decide(state, Turn("c", "test", "button", "n0nce:1"), "n0nce:1", None, POLICY)
    assert step.name == "utter_woz_value"
    assert state.pending is None


@pytest.mark.parametrize("data", ["other:0", "n0nce:2", "n0nce:-1", "n0nce", "", "/objection"])
def test_forged_button_is_refused(data: str) -> None:
    state = ChatState(pending=Pending("n0nce", ["/objection", "/woz_value"]))
    step = decide(state, Turn("c", "test", "button", data), data, None, POLICY)
    assert step.name == "utter_button_expired"
    assert state.last_intents == []
    assert state.pending == Pending("n0nce", ["/objection", "/woz_value"]), "offer stays valid"


def test_typing_instead_of_pressing_drops_the_buttons() -> None:
    state = ChatState(pending=Pending("n0nce", ["/objection"]))
    decide(state, text_turn(), "x", parse(("objection", 0.9), ("woz_value", 0.05)), POLICY)
    assert state.pending is None


@pytest.mark.parametrize(("text", "response"), [("", "utter_empty"),
                                                ("x" * 101, "utter_too_long")])
def test_unreadable_text(text: str, response: str) -> None:
    assert decide(ChatState(), text_turn(text), text, None, POLICY).name == response


def test_non_text() -> None:
    assert decide(ChatState(), Turn("c", "test", "non_text"), "", None,
                  POLICY).name == "utter_non_text"


STAFFED = Policy(threshold=0.45, fallback=0.2, margin=0.2, max_chars=100,
                 actions={"request_human": "offer_handoff"},
                 clarifiable=frozenset({"objection"}),
                 handoffs=frozenset({"request_human", "complaint"}), staffed=True)


def test_asking_for_a_person_offers_one_when_staff_are_set_up() -> None:
    request = parse(("request_human", 0.9), ("complaint", 0.05))
    assert decide(ChatState(), text_turn(), "x", request, STAFFED) == Step(
        "handoff", "offer", intent="request_human")
    unstaffed = decide(ChatState(), text_turn(), "x", request, POLICY)
    assert (unstaffed.kind, unstaffed.name) == ("answer", "utter_request_human")


def test_a_complaint_is_answered_and_then_a_person_offered() -> None:
    step = decide(ChatState(), text_turn(), "x", parse(("complaint", 0.9), ("greet", 0.0)),
                  STAFFED)
    assert (step.name, step.offer_handoff) == ("utter_complaint", True)


def test_the_second_fallback_in_a_row_offers_a_person() -> None:
    state = ChatState()
    unclear = parse(("objection", 0.1), ("woz_value", 0.09))
    assert not decide(state, text_turn(), "x", unclear, STAFFED).offer_handoff
    assert decide(state, text_turn(), "x", unclear, STAFFED).offer_handoff


@pytest.mark.parametrize(("intent", "move"), [("affirm", "accept"), ("deny", "decline")])
def test_yes_or_no_answers_the_offer(intent: str, move: str) -> None:
    state = ChatState(mode="confirming")
    step = decide(state, text_turn(), "x", parse((intent, 0.9), ("greet", 0.0)), STAFFED)
    assert step == Step("handoff", move)
    assert state.mode == "bot"


def test_another_question_ends_the_offer() -> None:
    state = ChatState(mode="confirming")
    step = decide(state, text_turn(), "x", parse(("objection", 0.9), ("greet", 0.0)), STAFFED)
    assert step.name == "utter_objection" and state.mode == "bot"


@pytest.mark.parametrize("mode", ["message", "callback"])
def test_the_text_after_leave_a_message_is_the_message(mode: str) -> None:
    state = ChatState(mode=mode)
    step = decide(state, text_turn("bel me"), "bel me", None, STAFFED)
    assert step == Step("handoff", "note", values={"text": "bel me", "kind": mode})


def test_rating_buttons_are_handoff_moves() -> None:
    state = ChatState(pending=Pending("n", ["!rate:1", "!rate:4", "!handoff:skip"]))
    step = decide(state, Turn("c", "test", "button", "n:1"), "n:1", None, STAFFED)
    assert step == Step("handoff", "rate", values={"rating": 4})


FORMS = Policy(threshold=0.45, fallback=0.2, margin=0.2, max_chars=100,
               actions={"case_status": "case_status_form"}, clarifiable=frozenset(),
               forms=frozenset({"case_status_form", "remission_form"}),
               form_slots=frozenset({"case_reference", "case_address"}),
               form_stay=content.load(PROJECT_DIR / "intents").form_stay)


def in_form() -> ChatState:
    return ChatState(form="case_status_form",
                     slots={"case_reference": "BZ-7K3M9Q", "requested_slot": "case_address"})


def test_a_rule_naming_a_form_starts_it() -> None:
    step = decide(ChatState(), text_turn(), "x", parse(("case_status", 0.9), ("greet", 0.0)),
                  FORMS)
    assert (step.kind, step.name, step.values) == ("form", "start",
                                                   {"form": "case_status_form"})


def test_a_form_button_starts_only_a_known_form() -> None:
    state = ChatState(pending=Pending("n", ["!form:remission_form", "!form:nope_form"]))
    step = decide(state, Turn("c", "test", "button", "n:0"), "n:0", None, FORMS)
    assert (step.kind, step.name, step.values) == ("form", "start", {"form": "remission_form"})
    state = ChatState(pending=Pending("n", ["!form:remission_form", "!form:nope_form"]))
    assert decide(state, Turn("c", "test", "button", "n:1"), "n:1", None, FORMS).kind != "form"


@pytest.mark.parametrize(("text", "ranking", "kind", "name"), [
    ("Stop!", (("out_of_scope", 0.5), ("greet", 0.1)), "form", "cancel"),
    ("annuleren", (("deny", 0.9), ("greet", 0.0)), "form", "cancel"),
    ("1234 AB 5", (("tax_calculation", 0.96), ("greet", 0.0)), "form", "fill"),
    ("weet ik niet", (("deny", 0.95), ("goodbye", 0.0)), "form", "fill"),
    ("hoe maak ik bezwaar", (("objection", 0.55), ("greet", 0.0)), "form", "fill"),
    ("hoe maak ik bezwaar", (("objection", 0.7), ("woz_value", 0.6)), "form", "fill"),
    ("hoe maak ik bezwaar", (("objection", 0.9), ("woz_value", 0.05)), "answer",
     "utter_objection"),
])
def test_during_a_form_text_fills_cancels_or_clearly_asks_something_else(
    text: str, ranking: tuple[tuple[str, float], ...], kind: str, name: str
) -> None:
    state = in_form()
    step = decide(state, text_turn(text), text, parse(*ranking), FORMS)
    assert (step.kind, step.name) == (kind, name)
    if kind == "answer":
        assert (state.form, state.slots) == ("", {}), "leaving drops the form's answers"
    else:
        assert state.form == "case_status_form"
