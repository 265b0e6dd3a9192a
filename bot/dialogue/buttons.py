"""Button binding: the buttons of a turn are tied to the chat, and a press is read as a move.

A button shown to a citizen carries `<nonce>:<n>`; the chat's state keeps the n-th option's
data, so only the buttons of the last message work and nobody can send other data. Poll
buttons carry `poll:<poll>:<option>:<nonce>`, the nonce the poll was asked with in that chat
(bot.listening.listener), so they also work in a broadcast and cannot be forged. The data
itself is `/<intent>`, `!<move>:<argument>` (`!language:en`, `!tenant:westerstad`, …) or a
poll vote; anything else, or a button no longer bound, is answered with `utter_button_expired`.
"""

import secrets
from dataclasses import dataclass, replace

from bot.state.store import ChatState, Pending
from bot.types import (
    LANGUAGES,
    AskNote,
    Button,
    ChooseLanguage,
    ChooseTenant,
    Feedback,
    Forget,
    HandoffAccept,
    HandoffCancel,
    HandoffDecline,
    HandoffOffer,
    Move,
    PollVote,
    Rate,
    Reply,
    Say,
    SkipComment,
    StartForm,
    Subscribe,
    Unsubscribe,
    Withdraw,
)

STALE = Say("utter_button_expired")
LATE_THUMBS = Say("utter_feedback_thanks")  # a 👍/👎 pressed under an earlier answer
RECENT_THUMBS = 6
HANDOFF_BUTTONS: dict[str, Move] = {
    "offer": HandoffOffer(), "accept": HandoffAccept(), "decline": HandoffDecline(),
    "cancel": HandoffCancel(), "message": AskNote("message"), "callback": AskNote("callback"),
    "skip": SkipComment(), "withdraw": Withdraw(),
}


@dataclass(frozen=True)
class Asked:
    """A button that asks an intent's question: the policy answers it as if it was typed."""

    intent: str


def payload(choice: Asked | Move) -> str:
    """Return the data of a button that means `choice` (the inverse of `parse`)."""
    match choice:
        case Asked(intent):
            return f"/{intent}"
        case Feedback(up):
            return f"!feedback:{'up' if up else 'down'}"
        case Unsubscribe():
            return "!subscribe:stop"
        case Subscribe(topic):
            return f"!subscribe:{topic}"
        case PollVote(poll_id, option, nonce):
            return f"poll:{poll_id}:{option}:{nonce}"
        case ChooseTenant(tenant) if tenant:
            return f"!tenant:{tenant}"
    raise ValueError(f"no button means {choice}")


def parse(data: str, forms: frozenset[str]) -> Asked | Move:
    """Read a button's data as a move; STALE for data that means nothing (any more)."""
    if data.startswith("poll:"):
        _, poll, option, nonce = [*data.split(":"), "", "", ""][:4]
        if poll.isdigit() and option.isdigit() and nonce:
            return PollVote(int(poll), int(option), nonce)
        return STALE
    if not data.startswith("!"):
        return Asked(data.removeprefix("/"))
    move, _, argument = data[1:].partition(":")
    match move, argument:
        case "rate", rating if rating.isdigit():
            return Rate(int(rating))
        case "subscribe", "stop":
            return Unsubscribe()
        case "subscribe", topic if topic:
            return Subscribe(topic)
        case "feedback", "up" | "down":
            return Feedback(argument == "up")
        case "language", language if language in LANGUAGES:
            return ChooseLanguage(language)
        case "tenant", tenant if tenant:
            return ChooseTenant(tenant)
        case "forget", "yes" | "no":
            return Forget(argument == "yes")
        case "form", form if form in forms:
            return StartForm(form)
        case "handoff", name if name in HANDOFF_BUTTONS:
            return HANDOFF_BUTTONS[name]
    return STALE


def _option(state: ChatState, data: str) -> int | None:
    """Return which bound option a press names, or None when it is not bound (any more)."""
    nonce, _, index = data.partition(":")
    pending = state.pending
    if not pending or nonce != pending.nonce or not index.isdigit():
        return None
    return int(index) if int(index) < len(pending.options) else None


def read(state: ChatState, data: str, forms: frozenset[str]) -> Asked | Move:
    """Return what a pressed button means."""
    if data.startswith("poll:"):
        return parse(data, forms)
    option = _option(state, data)
    if state.pending is None or option is None:
        return LATE_THUMBS if data in state.late_thumbs else STALE
    return parse(state.pending.options[option], forms)


def expire(state: ChatState) -> None:
    """End the buttons shown last; their 👍/👎 are still thanked when pressed later."""
    if state.pending:
        nonce = state.pending.nonce
        thumbs = [f"{nonce}:{n}" for n, data in enumerate(state.pending.options)
                  if data.startswith("!feedback:")]
        state.late_thumbs = [*state.late_thumbs, *thumbs][-RECENT_THUMBS:]
    state.pending = None


def pressed(state: ChatState, data: str) -> str:
    """Say what a button press was, for the log: the title of the pressed button, in brackets."""
    option = _option(state, data)
    if state.pending and option is not None and option < len(state.pending.titles):
        return f"[{state.pending.titles[option]}]"
    return f"[{data[:64]}]"


def bind(replies: list[Reply], state: ChatState) -> list[Reply]:
    """Bind the buttons of this turn to the chat, so only they can be pressed next."""
    if not any(reply.buttons for reply in replies):
        return replies
    expire(state)
    nonce = secrets.token_urlsafe(6)
    pending = Pending(nonce, [])
    bound = []
    for reply in replies:
        buttons = []
        for button in reply.buttons:
            buttons.append(Button(button.title, f"{nonce}:{len(pending.options)}"))
            pending.options.append(button.data)
            pending.titles.append(button.title)
        pending.sizes.append(len(reply.buttons))
        bound.append(replace(reply, buttons=tuple(buttons)))
    state.pending = pending
    return bound
