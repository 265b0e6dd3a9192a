"""The handoff events on the stream `balie:handoff:events`: one class per kind, one encoding.

`bot.handoff.desk` writes them; the citizen channels (`bot.channels.notices`) and the Telegram
staff group read them. On the stream an entry holds `type`, `chat` and `at` as plain text and
every other field as JSON.
"""

import json
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any, ClassVar, Literal

from bot.state import keys
from bot.types import NoteKind

STREAM = keys.HANDOFF_EVENTS
PLAIN = ("type", "chat", "at")
Kind = Literal["live"] | NoteKind


@dataclass(frozen=True)
class _Event:
    """Something that happened to a chat's handoff; `at` is when (Unix time)."""

    type: ClassVar[str]
    chat_id: str
    at: float = field(default_factory=time.time, kw_only=True)


@dataclass(frozen=True)
class Queued(_Event):
    """The chat joined the queue for a live chat with staff."""

    type: ClassVar[str] = "queued"
    case: int
    kind: Kind
    language: str
    position: int  # among the waiting chats of its tenant
    reason: str = ""
    tenant: str = ""


@dataclass(frozen=True)
class Claimed(_Event):
    """An agent took the chat."""

    type: ClassVar[str] = "claimed"
    agent_name: str


@dataclass(frozen=True)
class FromCitizen(_Event):
    """The citizen wrote to staff (masked)."""

    type: ClassVar[str] = "citizen"
    text: str


@dataclass(frozen=True)
class FromStaff(_Event):
    """The owning agent wrote to the citizen, from Telegram or the console."""

    type: ClassVar[str] = "staff"
    text: str
    agent_name: str
    source: str = "telegram"


@dataclass(frozen=True)
class Released(_Event):
    """The chat went back to the queue at `position`."""

    type: ClassVar[str] = "released"
    position: int


@dataclass(frozen=True)
class Closed(_Event):
    """Staff handed the chat back to Balie."""

    type: ClassVar[str] = "closed"
    case: int


@dataclass(frozen=True)
class Cancelled(_Event):
    """The citizen left the queue."""

    type: ClassVar[str] = "cancelled"
    case: int


@dataclass(frozen=True)
class Moved(_Event):
    """A waiting citizen's place moved up notably."""

    type: ClassVar[str] = "position"
    position: int
    minutes: int


@dataclass(frozen=True)
class Reminder(_Event):
    """A citizen waits longer than the reminder time."""

    type: ClassVar[str] = "reminder"
    minutes: float


@dataclass(frozen=True)
class Erased(_Event):
    """The citizen erased the chat (/vergeet); it names no chat, only the staff topic, if any."""

    type: ClassVar[str] = "erased"
    topic: int


Event = Queued | Claimed | FromCitizen | FromStaff | Released | Closed | Cancelled | (
    Moved | Reminder | Erased)
KINDS: dict[str, type[Event]] = {
    kind.type: kind for kind in (Queued, Claimed, FromCitizen, FromStaff, Released, Closed,
                                 Cancelled, Moved, Reminder, Erased)
}


def as_text(value: object) -> str:
    """Return a Redis reply value as text."""
    return value.decode() if isinstance(value, bytes) else str(value)


def encode(event: Event) -> dict[str, str | float]:
    """Return the stream fields of an event."""
    fields = asdict(event)
    body: dict[str, str | float] = {"type": event.type, "chat": fields.pop("chat_id"),
                                    "at": fields.pop("at")}
    body.update({name: json.dumps(value) for name, value in fields.items()})
    return body


def decode(entry: Mapping[Any, Any]) -> Event | None:
    """Read an event from its stream fields; None for a kind this version does not know."""
    text = {as_text(name): as_text(value) for name, value in entry.items()}
    kind = KINDS.get(text.get("type", ""))
    if kind is None:
        return None
    # A field an earlier version wrote (Queued's `note`) is left out, not refused.
    known = {field.name for field in fields(kind)}
    values = {name: json.loads(value) for name, value in text.items()
              if name not in PLAIN and name in known}
    return kind(text["chat"], at=float(text["at"]), **values)
