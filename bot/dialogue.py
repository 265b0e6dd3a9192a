"""Deciding: chat state + what the citizen did + what the NLU understood → the next Step."""

from dataclasses import dataclass

from bot.state import ChatState
from bot.types import LANGUAGES, Parse, Step, Turn

COMMANDS = {"/start": "utter_start", "/help": "utter_help", "/hulp": "utter_help"}
LANGUAGE_COMMANDS = {"/taal", "/language"}


@dataclass(frozen=True)
class Policy:
    """How sure the NLU must be, and what the intents lead to.

    A parse is answered when its confidence reaches `threshold` and beats the runner-up by
    `margin`; below `fallback` Balie says it does not understand. In between, or when two
    intents are close, it asks which of the two topics is meant (if both are `topics`).
    """

    threshold: float
    fallback: float
    margin: float
    max_chars: int
    actions: dict[str, str]
    topics: frozenset[str]


def screen(text: str, policy: Policy) -> Step | None:
    """Refuse a text that cannot be understood as it is: empty or too long."""
    if not text:
        return Step("system", "utter_empty")
    if len(text) > policy.max_chars:
        return Step("system", "utter_too_long", values={"max_chars": policy.max_chars})
    return None


def answer(intent: str, actions: dict[str, str]) -> Step:
    """Answer an intent with its action when it has one, else with its response."""
    if intent in actions:
        return Step("act", actions[intent], intent=intent)
    return Step("answer", f"utter_{intent}", intent=intent)


def _command(state: ChatState, text: str) -> Step:
    command, _, argument = text.partition(" ")
    command = command.split("@", 1)[0].lower()
    if command in LANGUAGE_COMMANDS:
        wanted = argument.strip().lower()[:2]
        other = "en" if state.language == "nl" else "nl"
        state.language = wanted if wanted in LANGUAGES else other  # type: ignore[assignment]
        state.language_locked = True
        return Step("system", "utter_language_switched")
    return Step("system", COMMANDS.get(command, "utter_help"))


def _button(state: ChatState, data: str, policy: Policy) -> Step:
    nonce, _, index = data.partition(":")
    pending = state.pending
    if not pending or nonce != pending.nonce or not index.isdigit():
        return Step("system", "utter_button_expired")
    if int(index) >= len(pending.options):
        return Step("system", "utter_button_expired")
    payload = pending.options[int(index)]
    intent = payload.removeprefix("/")
    state.remember(intent)
    state.fallbacks = 0
    return answer(intent, policy.actions)


def _understood(state: ChatState, parse: Parse, policy: Policy) -> Step:
    if parse.language and not state.language_locked:
        state.language = parse.language
    runner_up, runner_up_confidence = parse.ranking[1] if len(parse.ranking) > 1 else ("", 0.0)
    confident = parse.confidence >= policy.threshold
    clear = parse.confidence - runner_up_confidence >= policy.margin
    unsure = parse.confidence >= policy.fallback and not (confident and clear)
    if unsure and {parse.intent, runner_up} <= policy.topics:
        return Step("clarify", "utter_clarify", options=(parse.intent, runner_up))
    if confident:
        state.remember(parse.intent)
        state.fallbacks = 0
        return answer(parse.intent, policy.actions)
    state.fallbacks += 1
    return Step("fallback", "utter_fallback")


def decide(state: ChatState, turn: Turn, text: str, parse: Parse | None, policy: Policy) -> Step:
    """Choose the next step and update the chat state for it."""
    state.pending = None if turn.kind != "button" else state.pending
    if turn.kind == "non_text":
        return Step("system", "utter_non_text")
    if turn.kind == "command":
        return _command(state, text)
    if turn.kind == "button":
        step = _button(state, text, policy)
        if step.name != "utter_button_expired":
            state.pending = None
        return step
    return screen(text, policy) or (
        _understood(state, parse, policy) if parse else Step("fallback", "utter_fallback")
    )
