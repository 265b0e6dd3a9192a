"""Values passed between the stages: Turn, Parse, Step, Reply."""

from dataclasses import dataclass, field
from typing import Literal

Language = Literal["nl", "en"]
LANGUAGES: tuple[Language, ...] = ("nl", "en")


def as_language(value: object) -> Language:
    """Return `en` for an English language code and `nl` (the default) for anything else."""
    return "en" if str(value or "").lower().startswith("en") else "nl"

TurnKind = Literal["text", "command", "button", "non_text"]


@dataclass(frozen=True)
class Turn:
    """One thing a citizen did: a message, a command, a button press or an unreadable message."""

    chat_id: str
    channel: str
    kind: TurnKind
    text: str = ""
    update_id: int | None = None
    language_hint: str | None = None
    queued: bool = False
    redelivered: bool = False


@dataclass(frozen=True)
class Parse:
    """What the NLU understood from a text."""

    intent: str
    confidence: float
    ranking: tuple[tuple[str, float], ...]
    language: Language | None


@dataclass(frozen=True)
class Button:
    """An answer option; `data` is what comes back when it is pressed."""

    title: str
    data: str


@dataclass(frozen=True)
class Reply:
    """One message to the citizen, plain text with optional buttons."""

    text: str
    buttons: tuple[Button, ...] = ()


StepKind = Literal[
    "answer", "act", "clarify", "fallback", "system", "handoff", "subscribe", "feedback", "poll",
    "forget", "form",
]


@dataclass(frozen=True)
class Step:
    """What the dialogue decided: a response, an action, a question, or a handoff move.

    For kind handoff, `name` is offer, accept, decline, cancel, message, callback, note, rate,
    comment, skip or relay (the citizen's message went to staff); subscribe, feedback and poll
    steps are carried out by `bot.listening.listener`; form steps (start, fill, cancel) by
    `bot.acting.forms`.
    `offer_handoff` adds "talk to a person?".
    """

    kind: StepKind
    name: str
    intent: str | None = None
    options: tuple[str, ...] = ()
    values: dict[str, object] = field(default_factory=dict)
    offer_handoff: bool = False
