"""Deciding: chat state + what the citizen did + what the NLU understood → the next Step."""

from dataclasses import dataclass

from bot.nlu.content import BOT_MOVES, HANDOFF_ACTION
from bot.state.store import ChatState
from bot.types import LANGUAGES, Parse, Step, Turn

COMMANDS = {"/start": "utter_start", "/help": "utter_help", "/hulp": "utter_help",
            "/privacy": "utter_privacy", "/beleid": "utter_policy", "/policy": "utter_policy"}
FORGET_COMMANDS = {"/vergeet", "/forget"}
SUBSCRIBE_COMMANDS = {"/abonneer": "choose", "/subscribe": "choose", "/afmelden": "stop",
                      "/unsubscribe": "stop"}
LANGUAGE_COMMANDS = {"/taal", "/language"}
CANCEL_WORDS = {"stop", "annuleer", "annuleren", "cancel", "stoppen"}
FALLBACKS_BEFORE_OFFER = 2
# While a form asks something, a clear question about another topic leaves the form; answers
# of a `form_stay` intent (intents/contract.yml) stay in it and get validated.
FORM_LEAVE_CONFIDENCE = 0.6


@dataclass(frozen=True)
class Policy:
    """How sure the NLU must be, and what the intents lead to.

    A parse is answered when its confidence reaches `threshold` and beats the runner-up by
    `margin`; below `fallback` Balie says it does not understand. In between, or when two
    intents are close, it asks which of the two is meant (if both are `clarifiable`).
    """

    threshold: float
    fallback: float
    margin: float
    max_chars: int
    actions: dict[str, str]
    clarifiable: frozenset[str]
    handoffs: frozenset[str] = frozenset()
    staffed: bool = False
    forms: frozenset[str] = frozenset()
    form_slots: frozenset[str] = frozenset()
    form_stay: frozenset[str] = frozenset()


def screen(text: str, policy: Policy) -> Step | None:
    """Refuse a text that cannot be understood as it is: empty or too long."""
    if not text:
        return Step("system", "utter_empty")
    if len(text) > policy.max_chars:
        return Step("system", "utter_too_long", values={"max_chars": policy.max_chars})
    return None


def answer(intent: str, policy: Policy) -> Step:
    """Answer an intent with its action or response; offer a person where the rules say so."""
    offer = policy.staffed and intent in policy.handoffs
    action = policy.actions.get(intent, "")
    if action == HANDOFF_ACTION and not offer:
        return Step("answer", f"utter_{intent}", intent)
    if action in policy.forms:
        return Step("form", "start", intent=intent, values={"form": action})
    if action in BOT_MOVES:
        kind, name = BOT_MOVES[action]
        return Step(kind, name, intent=intent)
    if action:
        return Step("act", action, intent=intent, offer_handoff=offer)
    return Step("answer", f"utter_{intent}", intent=intent, offer_handoff=offer)


def _command(state: ChatState, text: str) -> Step:
    command, _, argument = text.partition(" ")
    command = command.split("@", 1)[0].lower()
    if command in LANGUAGE_COMMANDS:
        wanted = argument.strip().lower()[:2]
        other = "en" if state.language == "nl" else "nl"
        state.language = wanted if wanted in LANGUAGES else other  # type: ignore[assignment]
        state.language_locked = True
        return Step("system", "utter_language_switched")
    if command in SUBSCRIBE_COMMANDS:
        return Step("subscribe", SUBSCRIBE_COMMANDS[command])
    if command in FORGET_COMMANDS:
        return Step("system", "utter_forget_confirm")
    return Step("system", COMMANDS.get(command, "utter_help"))


def _payload(payload: str, state: ChatState, policy: Policy) -> Step:
    """Turn a button payload into a step: `/intent`, `!move:argument` or `poll:id:choice`."""
    if payload.startswith("poll:"):
        _, poll, choice = [*payload.split(":"), "", ""][:3]
        if poll.isdigit() and choice.isdigit():
            return Step("poll", "vote", values={"poll": int(poll), "choice": int(choice)})
        return Step("system", "utter_button_expired")
    if payload.startswith("!"):
        move, _, argument = payload[1:].partition(":")
        if move == "rate" and argument.isdigit():
            return Step("handoff", "rate", values={"rating": int(argument)})
        if move == "subscribe":
            if argument == "stop":
                return Step("subscribe", "stop")
            return Step("subscribe", "add", values={"topic": argument})
        if move == "feedback":
            return Step("feedback", argument)
        if move == "forget":
            return Step("forget", argument)
        if move == "form" and argument in policy.forms:
            return Step("form", "start", values={"form": argument})
        return Step("handoff", argument or move)
    intent = payload.removeprefix("/")
    state.remember(intent)
    state.fallbacks = 0
    return answer(intent, policy)


def pressed(state: ChatState, data: str) -> str:
    """Say what a button press was, for the log: the title of the pressed button, in brackets."""
    nonce, _, index = data.partition(":")
    pending = state.pending
    bound = pending and nonce == pending.nonce and index.isdigit()
    if pending and bound and int(index) < len(pending.titles):
        return f"[{pending.titles[int(index)]}]"
    return f"[{data[:64]}]"


def _button(state: ChatState, data: str, policy: Policy) -> Step:
    if data.startswith("poll:"):
        return _payload(data, state, policy)
    nonce, _, index = data.partition(":")
    pending = state.pending
    if not pending or nonce != pending.nonce or not index.isdigit():
        return Step("system", "utter_button_expired")
    if int(index) >= len(pending.options):
        return Step("system", "utter_button_expired")
    return _payload(pending.options[int(index)], state, policy)


def _understood(state: ChatState, parse: Parse, policy: Policy) -> Step:
    if parse.language and not state.language_locked:
        state.language = parse.language
    runner_up, runner_up_confidence = parse.ranking[1] if len(parse.ranking) > 1 else ("", 0.0)
    confident = parse.confidence >= policy.threshold
    clear = parse.confidence - runner_up_confidence >= policy.margin
    unsure = parse.confidence >= policy.fallback and not (confident and clear)
    if unsure and {parse.intent, runner_up} <= policy.clarifiable:
        return Step("clarify", "utter_clarify", options=(parse.intent, runner_up))
    if confident:
        state.remember(parse.intent)
        state.fallbacks = 0
        return answer(parse.intent, policy)
    state.fallbacks += 1
    return Step("fallback", "utter_fallback",
                offer_handoff=policy.staffed and state.fallbacks >= FALLBACKS_BEFORE_OFFER)


def _in_mode(state: ChatState, text: str, parse: Parse | None, policy: Policy) -> Step | None:
    """Handle a text typed while Balie waits for a handoff answer; None to treat it as usual."""
    mode, state.mode = state.mode, "bot"
    if mode in {"message", "callback"}:
        return Step("handoff", "note", values={"text": text, "kind": mode})
    if mode == "commenting":
        return Step("handoff", "comment", values={"text": text})
    if mode.startswith("poll_comment:"):
        return Step("poll", "comment", values={"poll": mode.split(":")[1], "text": text})
    if mode == "confirming" and parse and parse.confidence >= policy.threshold:
        return {"affirm": Step("handoff", "accept"),
                "deny": Step("handoff", "decline")}.get(parse.intent)
    return None


def _leaves_form(text: str, parse: Parse | None, policy: Policy) -> bool:
    """Say whether a text typed during a form is a clear question about something else."""
    if parse is None or parse.intent in policy.form_stay or any(c.isdigit() for c in text):
        return False
    runner_up = parse.ranking[1][1] if len(parse.ranking) > 1 else 0.0
    return parse.confidence >= FORM_LEAVE_CONFIDENCE and (
        parse.confidence - runner_up >= policy.margin)


def decide(state: ChatState, turn: Turn, text: str, parse: Parse | None, policy: Policy) -> Step:
    """Choose the next step and update the chat state for it."""
    if turn.kind == "button":
        step = _button(state, text, policy)
        if step.name != "utter_button_expired":
            state.pending = None
            state.mode = "bot" if step.kind != "handoff" else state.mode
        return step
    state.pending = None
    if turn.kind == "non_text":
        return Step("system", "utter_non_text")
    if turn.kind == "command":
        state.mode = "bot"
        return _command(state, text)
    refused = screen(text, policy)
    if refused:
        return refused
    if state.form and state.mode == "bot":
        if text.strip(" .!").lower() in CANCEL_WORDS:
            return Step("form", "cancel")
        if not _leaves_form(text, parse, policy):
            return Step("form", "fill", values={"text": text})
        state.form = ""
        for slot in (*policy.form_slots, "requested_slot"):
            state.slots.pop(slot, None)
    return _in_mode(state, text, parse, policy) or (
        _understood(state, parse, policy) if parse else Step("fallback", "utter_fallback")
    )
