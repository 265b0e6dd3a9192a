"""Staff's internal notes on a chat: never sent to the citizen, masked, erased with the chat.

A note is a `handoff_events` row (`note`, by its author) of the chat's latest handoff, so
/vergeet, which deletes a chat's handoffs and their events, erases its notes too.
"""

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select

from bot.history.log import Handoff, HandoffEvent, History
from bot.history.masking import mask

EVENT = "note"


@dataclass(frozen=True)
class Note:
    """One note: who wrote it, when, and its (masked) text."""

    author: str
    text: str
    at: datetime


async def add(history: History, chat_id: str, author: str, text: str) -> bool:
    """Store a note on the chat's latest handoff (masked); False if it never had one."""
    async with history.sessions.begin() as session:
        case = await session.scalar(select(Handoff.id).where(Handoff.chat_id == chat_id)
                                    .order_by(Handoff.id.desc()).limit(1))
        if case is None:
            return False
        session.add(HandoffEvent(handoff_id=case, event=EVENT, actor=author, detail=mask(text),
                                 at=datetime.now(UTC)))
    return True


async def of_chat(history: History, chat_id: str) -> list[Note]:
    """Return the notes on a chat, oldest first."""
    query = (select(HandoffEvent).join(Handoff, Handoff.id == HandoffEvent.handoff_id)
             .where(Handoff.chat_id == chat_id, HandoffEvent.event == EVENT)
             .order_by(HandoffEvent.at, HandoffEvent.id))
    async with history.sessions() as session:
        rows = (await session.scalars(query)).all()
    return [Note(row.actor, row.detail or "", row.at) for row in rows]
