"""Retention: data past the municipality's limit is deleted; a citizen can erase their own."""

import hashlib
import json
import logging
from datetime import UTC, datetime, timedelta

from redis.asyncio import Redis
from sqlalchemy import delete, select, update

from bot.history.audit import entry
from bot.history.log import Handoff, HandoffEvent, History, Message
from bot.listening.announcements import Subscription
from bot.listening.broadcast import Broadcast, Delivery
from bot.listening.polls import AnswerFeedback, Vote
from bot.state import keys

log = logging.getLogger(__name__)


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
        session.add(entry(actor, "purge", json.dumps({"days": days, **counts})))
    log.info("purged", extra={"days": days, "actor": actor, **counts})
    return counts


async def forget(history: History, client: "Redis", chat_id: str) -> dict[str, int]:
    """Erase everything about one chat (AVG article 17): its rows in SQL and its Redis keys.

    The audit entry names the chat only by a hash, so the erasure can be shown without
    keeping who it was.
    """
    handoffs = select(Handoff.id).where(Handoff.chat_id == chat_id)
    statements = {
        "handoff_events": delete(HandoffEvent).where(HandoffEvent.handoff_id.in_(handoffs)),
        "handoffs": delete(Handoff).where(Handoff.chat_id == chat_id),
        "messages": delete(Message).where(Message.chat_id == chat_id),
        "votes": delete(Vote).where(Vote.chat_id == chat_id),
        "answer_feedback": delete(AnswerFeedback).where(AnswerFeedback.chat_id == chat_id),
        "subscriptions": delete(Subscription).where(Subscription.chat_id == chat_id),
        "deliveries": delete(Delivery).where(Delivery.chat_id == chat_id),
    }
    counts = {}
    async with history.sessions.begin() as session:
        for name, statement in statements.items():
            result = await session.execute(statement)
            counts[name] = int(getattr(result, "rowcount", 0) or 0)
        digest = hashlib.sha256(chat_id.encode()).hexdigest()[:16]
        session.add(entry(f"citizen:{digest}", "forget", json.dumps(counts)))
    # The turn that asked for this holds the chat's lock: that key stays until it ends.
    lock = keys.lock(chat_id).encode()
    found = [k async for k in client.scan_iter(match=keys.chat_pattern(chat_id)) if k != lock]
    counts["redis_keys"] = await client.delete(*found) if found else 0
    await client.zrem(keys.HANDOFF_QUEUE, chat_id)
    log.info("chat forgotten", extra={"chat_hash": digest, **counts})
    return counts
