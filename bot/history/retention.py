"""Retention: data past each tenant's limit is deleted; a citizen can erase their own."""

import json
import logging
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from redis.asyncio import Redis
from sqlalchemy import delete, select, text, update

from bot.history.audit import Audit, entry
from bot.history.backlog import drop
from bot.history.log import Handoff, HandoffEvent, History, Message
from bot.history.tenancy import EVERYTHING, Scope
from bot.listening.announcements import Subscription
from bot.listening.broadcast import Broadcast, Delivery
from bot.listening.polls import AnswerFeedback, Vote
from bot.state import keys

log = logging.getLogger(__name__)
STREAM_BATCH = 1000


async def purge(history: History, days: int, actor: str,
                tenant: str | None = None) -> dict[str, int]:
    """Delete data older than `days` (of one tenant, or all); return the rows touched per table.

    Messages, handoffs and their events, answer feedback and the deliveries of finished
    broadcasts go; old poll votes lose their free text but still count.
    """
    cutoff = datetime.now(UTC) - timedelta(days=days)
    of = (EVERYTHING if tenant is None else Scope.only([tenant])).where
    old_broadcasts = select(Broadcast.id).where(Broadcast.finished_at < cutoff,
                                                of(Broadcast.tenant))
    statements = {
        "messages": delete(Message).where(Message.created_at < cutoff, of(Message.tenant)),
        "handoff_events": delete(HandoffEvent).where(HandoffEvent.at < cutoff, HandoffEvent
                                                     .handoff_id.in_(select(Handoff.id)
                                                                     .where(of(Handoff.tenant)))),
        "handoffs": delete(Handoff).where(Handoff.queued_at < cutoff, Handoff.outcome != "open",
                                          of(Handoff.tenant)),
        "answer_feedback": delete(AnswerFeedback).where(AnswerFeedback.created_at < cutoff,
                                                        of(AnswerFeedback.tenant)),
        "deliveries": delete(Delivery).where(Delivery.broadcast_id.in_(old_broadcasts)),
        "vote_comments": update(Vote).where(Vote.created_at < cutoff, Vote.comment.is_not(None),
                                            of(Vote.tenant)).values(comment=None),
    }
    counts = {}
    async with history.sessions.begin() as session:
        for name, statement in statements.items():
            result = await session.execute(statement)
            counts[name] = int(getattr(result, "rowcount", 0) or 0)
        session.add(entry(actor, "purge", json.dumps({"days": days, "tenant": tenant, **counts})))
    log.info("purged", extra={"days": days, "actor": actor, "tenant": tenant, **counts})
    return counts


async def forget(history: History, client: "Redis", chat_id: str) -> dict[str, int]:
    """Erase everything about one chat (AVG article 17): its rows in SQL and its traces in Redis.

    Audit rows that named the chat name it by a hash from now on, like the erasure's own row.
    What stays, by that hash only: the update ids seen (a replayed old update is not answered
    again), the chat's revocation (its web chat token stops working) and wrong case-status
    tries until their hour is over. SQLite overwrites the deleted rows and empties its WAL.
    The chat's rows still queued for the log are dropped first, so none is written afterwards.
    """
    queued = await drop(client, chat_id)
    digest = keys.digest(chat_id)
    citizen = f"citizen:{digest}"
    handoffs = select(Handoff.id).where(Handoff.chat_id == chat_id)
    statements = {
        "handoff_events": delete(HandoffEvent).where(HandoffEvent.handoff_id.in_(handoffs)),
        "handoffs": delete(Handoff).where(Handoff.chat_id == chat_id),
        "messages": delete(Message).where(Message.chat_id == chat_id),
        "votes": delete(Vote).where(Vote.chat_id == chat_id),
        "answer_feedback": delete(AnswerFeedback).where(AnswerFeedback.chat_id == chat_id),
        "subscriptions": delete(Subscription).where(Subscription.chat_id == chat_id),
        "deliveries": delete(Delivery).where(Delivery.chat_id == chat_id),
        "audit_log": update(Audit).where(Audit.detail == chat_id).values(detail=citizen),
    }
    sqlite = history.engine.dialect.name == "sqlite"
    counts = {}
    async with history.sessions.begin() as session:
        if sqlite:
            await session.execute(text("PRAGMA secure_delete = ON"))
        for name, statement in statements.items():
            result = await session.execute(statement)
            counts[name] = int(getattr(result, "rowcount", 0) or 0)
        session.add(entry(citizen, "forget", json.dumps(counts)))
    if sqlite:
        async with history.engine.connect() as connection:
            await connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    counts.update(await _forget_in_redis(client, chat_id, digest), queued_messages=queued)
    log.info("chat forgotten", extra={"chat_hash": digest, **counts})
    return counts


async def _forget_in_redis(client: "Redis", chat_id: str, digest: str) -> dict[str, int]:
    """Delete the chat's keys, handoff events, staff topic and queue place."""
    # The turn that asked for this, and the updates that came after it, are under way: their
    # locks, inbox, stream entries and send marks (no text) stay until they are handled.
    found = [key async for key in client.scan_iter(match=keys.chat_pattern(chat_id))
             if not keys.in_flight(chat_id, key.decode())]
    counts = {"redis_keys": await client.delete(*found) if found else 0,
              "events": await _drop_events(client, chat_id)}
    topic: Any = await client.hget(keys.HANDOFF_TOPICS, chat_id)
    if topic is not None:
        await client.hdel(keys.HANDOFF_TOPICS, chat_id, f"t:{topic.decode()}")
    await client.zrem(keys.HANDOFF_QUEUE, chat_id)
    await client.sadd(keys.REVOKED, digest)
    return counts


async def _drop_events(client: "Redis", chat_id: str) -> int:
    """Delete the handoff events about one chat; return how many there were."""
    dropped, start, wanted, stream = 0, "-", chat_id.encode(), keys.HANDOFF_EVENTS
    while batch := cast(list[Any], await client.xrange(stream, min=start, count=STREAM_BATCH)):
        ids = [entry_id for entry_id, fields in batch if fields.get(b"chat") == wanted]
        if ids:
            dropped += await client.xdel(stream, *ids)
        start = "(" + batch[-1][0].decode()
    return dropped
