"""Values passed between the stages: Turn, Parse, the moves, Reply."""

from dataclasses import dataclass, field
from typing import ClassVar, Literal

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
    # The turn came in an update of the stream (bot.intake.worker), which is tried again when
    # it fails: Redis away then needs no apology.
    queued: bool = False


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


MoveKind = Literal[
    "answer", "act", "clarify", "fallback", "system", "handoff", "subscribe", "feedback", "poll",
    "forget", "form",
]
NoteKind = Literal["message", "callback"]


@dataclass(frozen=True)
class Move:
    """What the dialogue decided; `bot.acting.router` finds the handler of each kind of move.

    `kind` is how the log and the metrics group it; `intent` is the intent it answers;
    `offer_handoff` adds "talk to a person?" to the replies.
    """

    kind: ClassVar[MoveKind] = "system"
    intent: str | None = field(default=None, kw_only=True)
    offer_handoff: bool = field(default=False, kw_only=True)


@dataclass(frozen=True)
class Say(Move):
    """Answer with a response that needs nothing done: a command, a refusal, a notice."""

    response: str
    values: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class Answer(Move):
    """Answer an intent with its `utter_<intent>` response."""

    kind: ClassVar[MoveKind] = "answer"
    variant: str = field(default="", kw_only=True)

    @property
    def response(self) -> str:
        """Return the name of the answer's response: `utter_<intent>[_<variant>]`."""
        return f"utter_{self.intent}_{self.variant}" if self.variant else f"utter_{self.intent}"


@dataclass(frozen=True)
class Act(Move):
    """Run an action (`actions/`)."""

    kind: ClassVar[MoveKind] = "act"
    action: str


@dataclass(frozen=True)
class Several(Move):
    """Answer each question of a message in turn: its text, its parse and its move."""

    kind: ClassVar[MoveKind] = "answer"
    parts: tuple[tuple[str, Parse, Move], ...]


@dataclass(frozen=True)
class Guarded(Move):
    """Warn about personal data first (`response`), then carry out `then`, if anything."""

    response: str
    then: Move | None = None


@dataclass(frozen=True)
class ChooseLanguage(Move):
    """Set the chat's language and keep it (`/taal en`, or a button); None offers the choice."""

    language: Language | None = None


@dataclass(frozen=True)
class ChooseTenant(Move):
    """Make a municipality the chat's (a button, a postcode, "ik woon in …"); None asks which."""

    tenant: str | None = None


@dataclass(frozen=True)
class Clarify(Move):
    """Ask which of two intents is meant."""

    kind: ClassVar[MoveKind] = "clarify"
    options: tuple[str, str]


@dataclass(frozen=True)
class Fallback(Move):
    """Say that Balie did not understand."""

    kind: ClassVar[MoveKind] = "fallback"


@dataclass(frozen=True)
class Forget(Move):
    """Erase the chat's data (confirmed) or keep it."""

    kind: ClassVar[MoveKind] = "forget"
    confirmed: bool


@dataclass(frozen=True)
class StartForm(Move):
    """Start a guided form."""

    kind: ClassVar[MoveKind] = "form"
    form: str


@dataclass(frozen=True)
class FillSlot(Move):
    """Fill the slot the running form asked for with the citizen's text."""

    kind: ClassVar[MoveKind] = "form"
    text: str


@dataclass(frozen=True)
class RepeatQuestion(Move):
    """Ask the running form's question again."""

    kind: ClassVar[MoveKind] = "form"


@dataclass(frozen=True)
class CancelForm(Move):
    """Stop the running form."""

    kind: ClassVar[MoveKind] = "form"


@dataclass(frozen=True)
class ChooseTopics(Move):
    """Show the news topics to subscribe to."""

    kind: ClassVar[MoveKind] = "subscribe"


@dataclass(frozen=True)
class Subscribe(Move):
    """Subscribe to a news topic."""

    kind: ClassVar[MoveKind] = "subscribe"
    topic: str


@dataclass(frozen=True)
class Unsubscribe(Move):
    """Stop every subscription."""

    kind: ClassVar[MoveKind] = "subscribe"


@dataclass(frozen=True)
class Feedback(Move):
    """Thumbs up or down on the last answer."""

    kind: ClassVar[MoveKind] = "feedback"
    up: bool


@dataclass(frozen=True)
class PollVote(Move):
    """Vote for an option of a poll, with the nonce the poll was asked with in the chat."""

    kind: ClassVar[MoveKind] = "poll"
    poll_id: int
    option: int
    nonce: str


@dataclass(frozen=True)
class PollComment(Move):
    """Comment on a poll after voting."""

    kind: ClassVar[MoveKind] = "poll"
    poll_id: int
    text: str


@dataclass(frozen=True)
class HandoffMove(Move):
    """A move towards, or about, a person at the desk; it keeps the chat's mode."""

    kind: ClassVar[MoveKind] = "handoff"


@dataclass(frozen=True)
class HandoffOffer(HandoffMove):
    """Ask "talk to a person?"."""


@dataclass(frozen=True)
class HandoffAccept(HandoffMove):
    """Yes: queue for a person, or say when the desk opens."""


@dataclass(frozen=True)
class HandoffDecline(HandoffMove):
    """No person after all."""


@dataclass(frozen=True)
class HandoffCancel(HandoffMove):
    """Leave the queue."""


@dataclass(frozen=True)
class AskNote(HandoffMove):
    """Out of hours: ask for the message, or the phone number to call back."""

    note: NoteKind


@dataclass(frozen=True)
class LeaveNote(HandoffMove):
    """Leave the message or call-back request for staff."""

    note: NoteKind
    text: str


@dataclass(frozen=True)
class Withdraw(HandoffMove):
    """Take back the message or call-back request left for staff."""


@dataclass(frozen=True)
class Rate(HandoffMove):
    """Rate the handled chat from 1 to 5."""

    rating: int


@dataclass(frozen=True)
class RateComment(HandoffMove):
    """Comment on the handled chat after rating it."""

    text: str


@dataclass(frozen=True)
class SkipComment(HandoffMove):
    """Rate without a comment."""


@dataclass(frozen=True)
class Relay(HandoffMove):
    """While queued or with staff: the citizen's message goes to staff ("stop" leaves)."""

    queued: bool
