"""Deciding: chat state + what the citizen did + what the NLU understood → the next move."""

from dataclasses import dataclass, field

from bot.dialogue import buttons, memory
from bot.dialogue.memory import Memory
from bot.nlu.content import BOT_MOVES, HANDOFF_ACTION, Cue
from bot.state.store import ChatState, Commenting, Confirming, Noting, PollCommenting
from bot.types import (
    LANGUAGES,
    Act,
    Answer,
    CancelForm,
    ChooseLanguage,
    ChooseTopics,
    Clarify,
    Fallback,
    FillSlot,
    HandoffAccept,
    HandoffDecline,
    HandoffMove,
    LeaveNote,
    Move,
    Parse,
    PollComment,
    RateComment,
    Say,
    StartForm,
    Turn,
    Unsubscribe,
    Withdraw,
)

COMMANDS = {"/start": "utter_start", "/help": "utter_help", "/hulp": "utter_help",
            "/privacy": "utter_privacy", "/beleid": "utter_policy", "/policy": "utter_policy"}
FORGET_COMMANDS = {"/vergeet", "/forget"}
SUBSCRIBE_COMMANDS: dict[str, Move] = {
    "/abonneer": ChooseTopics(), "/subscribe": ChooseTopics(), "/afmelden": Unsubscribe(),
    "/unsubscribe": Unsubscribe(),
}
HANDOFF_COMMANDS: dict[str, Move] = {"/intrekken": Withdraw(), "/withdraw": Withdraw()}
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
    always_human: dict[str, frozenset[str]] = field(default_factory=dict)  # per tenant
    staffed: bool = False
    forms: frozenset[str] = frozenset()
    form_slots: frozenset[str] = frozenset()
    form_stay: frozenset[str] = frozenset()
    memory: Memory = field(default_factory=Memory)
    rated: frozenset[str] = frozenset()
    cues: dict[str, tuple[Cue, ...]] = field(default_factory=dict)


def screen(text: str, policy: Policy) -> Say | None:
    """Refuse a text that cannot be understood as it is: empty or too long."""
    if not text:
        return Say("utter_empty")
    if len(text) > policy.max_chars:
        return Say("utter_too_long", {"max_chars": policy.max_chars})
    return None


def answer(intent: str, policy: Policy, tenant: str = "") -> Move:
    """Answer an intent with its action or response; offer a person where the rules say so."""
    offer = policy.staffed and (intent in policy.handoffs
                                or intent in policy.always_human.get(tenant, ()))
    action = policy.actions.get(intent, "")
    if action == HANDOFF_ACTION and not offer:
        return Answer(intent=intent)
    if action in policy.forms:
        return StartForm(action, intent=intent)
    if action in BOT_MOVES:
        return BOT_MOVES[action](intent=intent)
    if action:
        return Act(action, intent=intent, offer_handoff=offer)
    return Answer(intent=intent, offer_handoff=offer)


def _name(text: str) -> str:
    """Return the command a text starts with, without a bot's @name, in lower case."""
    return text.partition(" ")[0].split("@", 1)[0].lower()


def asks_to_forget(turn: Turn, text: str) -> bool:
    """Tell whether a turn is /vergeet (or /forget)."""
    return turn.kind == "command" and _name(text) in FORGET_COMMANDS


def _command(state: ChatState, turn: Turn, text: str) -> Move:
    command, argument = _name(text), text.partition(" ")[2]
    if command in LANGUAGE_COMMANDS:
        wanted = argument.strip().lower()[:2]
        return ChooseLanguage(wanted if wanted in LANGUAGES else None)
    hint = (turn.language_hint or "").lower()[:2]
    if command == "/start" and hint in LANGUAGES and not state.language_locked:
        state.language = hint  # Telegram's or the page's language
    if command in SUBSCRIBE_COMMANDS:
        return SUBSCRIBE_COMMANDS[command]
    if command in FORGET_COMMANDS:
        return Say("utter_forget_confirm")
    if command in HANDOFF_COMMANDS:
        return HANDOFF_COMMANDS[command]
    return Say(COMMANDS.get(command, "utter_help"))


def _answered(state: ChatState, intent: str, policy: Policy) -> Move:
    """Answer an intent; it becomes the topic unless it is small talk (a `form_stay` intent).

    The calculation is a `form_stay` intent too ("350k" answers a form), but a topic.
    """
    state.remember(intent)
    state.fallbacks = 0
    if intent not in policy.form_stay or intent in policy.memory.calculated:
        memory.answered(state, intent)
    return answer(intent, policy, state.tenant)


def _button(state: ChatState, data: str, policy: Policy) -> Move:
    choice = buttons.read(state, data, policy.forms)
    if isinstance(choice, buttons.Asked):
        return _answered(state, choice.intent, policy)
    return choice


def clear(parse: Parse, policy: Policy) -> bool:
    """Tell whether a parse is confident and well ahead of the runner-up."""
    runner_up = parse.ranking[1][1] if len(parse.ranking) > 1 else 0.0
    return parse.confidence >= policy.threshold and parse.confidence - runner_up >= policy.margin


def _understood(state: ChatState, text: str, parse: Parse, policy: Policy) -> Move:
    runner_up = parse.ranking[1][0] if len(parse.ranking) > 1 else ""
    confident, sure = parse.confidence >= policy.threshold, clear(parse, policy)
    if parse.language and confident and not state.language_locked:
        state.language = parse.language  # a guess at gibberish does not switch the chat
    follow_up = memory.follow_up(state, text, parse, sure, policy.memory)
    if follow_up and follow_up.response:
        state.fallbacks = 0
        return Say(follow_up.response, intent=state.memory[memory.TOPIC].value)
    if follow_up:
        return _answered(state, follow_up.intent, policy)
    unsure = parse.confidence >= policy.fallback and not sure
    calculation = policy.memory.calculation
    if unsure and {parse.intent, runner_up} - {calculation} <= policy.memory.calculated and (
            calculation in {parse.intent, runner_up}):
        return _answered(state, calculation, policy)  # its action gives rates or an amount
    if unsure and {parse.intent, runner_up} <= policy.clarifiable:
        return Clarify((parse.intent, runner_up))
    if confident:
        return _answered(state, parse.intent, policy)
    state.fallbacks += 1
    return Fallback(offer_handoff=policy.staffed and state.fallbacks >= FALLBACKS_BEFORE_OFFER)


def _in_mode(state: ChatState, text: str, parse: Parse | None, policy: Policy) -> Move | None:
    """Handle a text that answers what Balie asked; None to treat it as usual."""
    mode, state.mode = state.mode, None
    match mode:
        case Noting(note):
            return LeaveNote(note, text)
        case Commenting():
            return RateComment(text)
        case PollCommenting(poll_id):
            return PollComment(poll_id, text)
        case Confirming() if parse and parse.confidence >= policy.threshold:
            return {"affirm": HandoffAccept(), "deny": HandoffDecline()}.get(parse.intent)
    return None


def _leaves_form(text: str, parse: Parse | None, policy: Policy) -> bool:
    """Say whether a text typed during a form is a clear question about something else."""
    if parse is None or parse.intent in policy.form_stay or any(c.isdigit() for c in text):
        return False
    runner_up = parse.ranking[1][1] if len(parse.ranking) > 1 else 0.0
    return parse.confidence >= FORM_LEAVE_CONFIDENCE and (
        parse.confidence - runner_up >= policy.margin)


def decide(state: ChatState, turn: Turn, text: str, parse: Parse | None, policy: Policy) -> Move:
    """Choose the next move and update the chat state for it."""
    if turn.kind == "button":
        move = _button(state, text, policy)
        if move not in (buttons.STALE, buttons.LATE_THUMBS):
            buttons.expire(state)
            state.mode = state.mode if isinstance(move, HandoffMove) else None
        return move
    buttons.expire(state)
    if turn.kind == "non_text":
        return Say("utter_non_text")
    if turn.kind == "command":
        state.mode = None
        return _command(state, turn, text)
    refused = screen(text, policy)
    if refused:
        return refused
    memory.observe(state, text, policy.memory)
    cancel = text.strip(" .!").lower() in CANCEL_WORDS
    if cancel and not state.form and state.mode is None:
        return Say("utter_nothing_to_stop")
    if state.form and state.mode is None:
        if cancel:
            memory.forget(state)
            return CancelForm()
        if not _leaves_form(text, parse, policy):
            return FillSlot(text)
        state.form = ""
        for slot in (*policy.form_slots, "requested_slot"):
            state.slots.pop(slot, None)
    return _in_mode(state, text, parse, policy) or (
        _understood(state, text, parse, policy) if parse else Fallback()
    )
