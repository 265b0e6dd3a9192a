"""Retention: conversation data older than the municipality's limit is deleted, and audited."""

import json
import logging
from datetime import UTC, datetime, timedelta

from sqlalchemy import DateTime, String, Text, delete, select, update
from sqlalchemy.orm import Mapped, mapped_column

from bot.broadcast import Broadcast, Delivery
from bot.history import ID, Base, Handoff, HandoffEvent, History, Message
from bot.polls import AnswerFeedback, Vote

log = logging.getLogger(__name__)


class Audit(Base):
    """A privileged action: who did what, when."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    actor: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(64))
    detail: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


async def purge(history: History, days: int, actor: str) -> dict[str, int]:
    """Delete data older than `days`; return the rows touched per table.

    Messages, handoffs and their events, answer feedback and the deliveries of finished
    broadcasts go; old poll votes lose their free text but still count.
    """
    cutoff = datetime.now(UTC) - timedelta(days=days)
    old_broadcasts = select(Broadcast.id).where(Broadcast.finished_at < cutoff)
    statements = {
        "messages": delete(Message).where(Message.created_at < cutoff),
        "handoff_events": delete(HandoffEvent).where(HandoffEvent.at < cutoff),
        "handoffs": delete(Handoff).where(Handoff.queued_at < cutoff, Handoff.outcome != "open"),
        "answer_feedback": delete(AnswerFeedback).where(AnswerFeedback.created_at < cutoff),
        "deliveries": delete(Delivery).where(Delivery.broadcast_id.in_(old_broadcasts)),
        "vote_comments": update(Vote).where(Vote.created_at < cutoff, Vote.comment.is_not(None))
        .values(comment=None),
    }
    counts = {}
    async with history.sessions.begin() as session:
        for name, statement in statements.items():
            result = await session.execute(statement)
            counts[name] = int(getattr(result, "rowcount", 0) or 0)
        session.add(Audit(actor=actor, action="purge", at=datetime.now(UTC),
                          detail=json.dumps({"days": days, **counts})))
    log.info("purged", extra={"days": days, "actor": actor, **counts})
    return counts
