"""Deciding: chat state + what the citizen did + what the NLU understood → the next Step."""

from dataclasses import dataclass

from bot.state import ChatState
from bot.types import LANGUAGES, Parse, Step, Turn

COMMANDS = {"/start": "utter_start", "/help": "utter_help", "/hulp": "utter_help"}
LANGUAGE_COMMANDS = {"/taal", "/language"}


@dataclass(frozen=True)
class Policy:
    """Confidence limits: answer above `threshold`, clarify between, fall back below `fallback`."""

    threshold: float
    fallback: float
    margin: float
    max_chars: int


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


def _button(state: ChatState, data: str, actions: dict[str, str]) -> Step:
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
    return answer(intent, actions)


def _understood(state: ChatState, parse: Parse, policy: Policy, actions: dict[str, str]) -> Step:
    if parse.language and not state.language_locked:
        state.language = parse.language
    runner_up = parse.ranking[1] if len(parse.ranking) > 1 else (parse.intent, 0.0)
    if parse.confidence < policy.fallback:
        state.fallbacks += 1
        return Step("fallback", "utter_fallback")
    if parse.confidence < policy.threshold or parse.confidence - runner_up[1] < policy.margin:
        return Step("clarify", "utter_clarify", options=(parse.intent, runner_up[0]))
    state.remember(parse.intent)
    state.fallbacks = 0
    return answer(parse.intent, actions)


def decide(
    state: ChatState, turn: Turn, text: str, parse: Parse | None, policy: Policy,
    actions: dict[str, str],
) -> Step:
    """Choose the next step and update the chat state for it."""
    state.pending = None if turn.kind != "button" else state.pending
    if turn.kind == "non_text":
        return Step("system", "utter_non_text")
    if turn.kind == "command":
        return _command(state, text)
    if turn.kind == "button":
        step = _button(state, text, actions)
        state.pending = None
        return step
    return screen(text, policy) or (
        _understood(state, parse, policy, actions) if parse else Step("fallback", "utter_fallback")
    )
