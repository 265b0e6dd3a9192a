"""Retention: data past the municipality's limit is deleted, by command and by the running bot."""

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from unittest.mock import ANY

from sqlalchemy import func, select

from bot.history.audit import Audit, record
from bot.history.backlog import BACKLOG, encode
from bot.history.log import Base, Entry, Handoff, HandoffEvent, History, Message
from bot.history.masking import mask
from bot.history.retention import forget, purge
from bot.listening.broadcast import Broadcast, Delivery
from bot.listening.polls import AnswerFeedback, Polls, Vote
from bot.services import Services
from bot.types import Turn
from tests.support.bot_api import BotAPI
from tests.support.traces import redis_text

OLD = datetime.now(UTC) - timedelta(days=200)


async def count(history: History, table: Any) -> int:
    async with history.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(table)) or 0)


async def fill(history: History) -> None:
    await history.record([Entry("tg:1", "telegram", "in", "text", "nieuw")])
    poll = await Polls(history).create("?", "?", None)
    async with history.sessions.begin() as session:
        session.add_all([
            Message(chat_id="tg:1", channel="telegram", direction="in", kind="text",
                    text="oud", created_at=OLD, tenant="voorbeeld"),
            Handoff(chat_id="tg:1", kind="live", language="nl", queued_at=OLD,
                    outcome="closed", tenant="voorbeeld"),
            Handoff(chat_id="tg:2", kind="live", language="nl", queued_at=OLD, outcome="open",
                    tenant="voorbeeld"),
            HandoffEvent(handoff_id=1, event="queued", actor="citizen", at=OLD),
            AnswerFeedback(chat_id="tg:1", intent="remission", useful=True, created_at=OLD,
                           tenant="voorbeeld"),
            Vote(poll_id=poll.id, chat_id="tg:1", choice=2, comment="oud", created_at=OLD,
                 tenant="voorbeeld"),
            Broadcast(id=50, topic=None, created_at=OLD, finished_at=OLD, tenant="voorbeeld"),
            Delivery(broadcast_id=50, chat_id="tg:1", language="nl", status="sent",
                     attempts=1),
        ])


async def test_purge_deletes_what_is_past_retention_and_is_audited(history: History) -> None:
    await fill(history)
    counts = await purge(history, 180, actor="test")
    assert counts == {"messages": 1, "handoff_events": 1, "handoffs": 1, "answer_feedback": 1,
                      "deliveries": 1, "vote_comments": 1}
    async with history.sessions() as session:
        assert (await session.scalars(select(Message.text))).all() == ["nieuw"]
        assert (await session.scalars(select(Handoff.outcome))).all() == ["open"]
        vote = (await session.scalars(select(Vote))).one()
        assert (vote.choice, vote.comment) == (2, None), "the vote still counts"
        audit = (await session.scalars(select(Audit))).one()
    assert (audit.actor, audit.action) == ("test", "purge")
    assert json.loads(audit.detail or "{}")["messages"] == 1
    assert await purge(history, 180, actor="test") == dict.fromkeys(counts, 0)


async def test_purge_of_one_tenant_leaves_the_others_data(history: History) -> None:
    await fill(history)
    assert set((await purge(history, 180, actor="test", tenant="westerstad")).values()) == {0}
    counts = await purge(history, 180, actor="test", tenant="voorbeeld")
    assert counts == {"messages": 1, "handoff_events": 1, "handoffs": 1, "answer_feedback": 1,
                      "deliveries": 1, "vote_comments": 1}
    async with history.sessions() as session:
        audits = (await session.scalars(select(Audit.detail).order_by(Audit.id))).all()
    assert [json.loads(detail or "{}")["tenant"] for detail in audits] == [
        "westerstad", "voorbeeld"]


async def test_the_running_bot_purges_at_start(
    served_bot: Any, bot_api: BotAPI, history: History
) -> None:
    await fill(history)
    served_bot()
    await bot_api.wait_for_call("getUpdates", timeout=60)
    for _ in range(100):
        if await count(history, Audit):
            break
        await asyncio.sleep(0.1)
    async with history.sessions() as session:
        audit = (await session.scalars(select(Audit))).one()
        texts = (await session.scalars(select(Message.text))).all()
    assert audit.actor == "schedule"
    assert texts == ["nieuw"]


async def test_forget_touches_only_that_chat_and_audits_without_the_id(
    history: History, tmp_path: Any, backend: dict[str, str]
) -> None:
    from datetime import timedelta as days

    from bot.history.retention import forget
    from bot.state.store import StateStore

    await fill(history)
    await history.record([Entry("tg:2", "telegram", "in", "text", "van een ander")])
    store = StateStore.open(backend["REDIS_URL"], tmp_path, days(days=1))
    await store.client.set("balie:tg:1:state", "{}")
    await store.client.set("balie:tg:10:state", "{}")
    counts = await forget(history, store.client, "tg:1")
    assert counts["messages"] == 2 and counts["votes"] == 1 and counts["redis_keys"] == 1
    assert await store.client.exists("balie:tg:10:state")
    await store.close()
    async with history.sessions() as session:
        assert (await session.scalars(select(Message.chat_id))).all() == ["tg:2"]
        audit = (await session.scalars(select(Audit))).one()
    assert audit.action == "forget" and "tg:1" not in (audit.actor + (audit.detail or ""))


async def test_forget_leaves_no_trace_of_the_chat(
    services: Services, backend: dict[str, str]
) -> None:
    chat, client, history = "tg:4242", services.store.client, services.history
    said = Turn(chat, "telegram", "text", "hoi, mijn naam is Henkie", update_id=77)
    assert await services.balie.handle(said)
    await services.cases.wrong_try(chat)
    await record(history, "anna", "chat_opened", chat)
    note = "Henkie, bel 0612345678"
    task = await services.cases.task(chat, "nl", None, mask(note), kind="callback")
    await services.desk.keep_numbers(chat, task, note)
    await services.desk.enqueue(chat, "live", "nl", None)
    assert "0612345678" in await redis_text(client), "kept for staff until now"
    await services.desk.remember_topic(chat, 31)
    await client.rpush(BACKLOG, encode([Entry(chat, "telegram", "in", "text", "Henkie"),
                                        Entry("tg:99", "telegram", "in", "text", "ander")],
                                       datetime.now(UTC)))

    await forget(history, client, chat)

    kept = await redis_text(client)
    assert chat not in kept and "Henkie" not in kept and "0612345678" not in kept, kept
    assert "ander" in kept, "another chat's entry in the same kept batch stays"
    async with history.sessions() as session:
        rows = [str(row) for table in Base.metadata.sorted_tables
                for row in (await session.execute(select(table))).all()]
    assert not [row for row in rows if chat in row or "Henkie" in row]
    assert await services.cases.wrong_tries(chat) == (1, ANY), "the cool-down still holds"
    assert await services.balie.handle(said) == [], "a replayed old update is not answered"
    assert [m.text for m in await history.conversation(chat)] == [], "nor logged"
    if backend["DATABASE_URL"].startswith("sqlite"):
        database = Path(backend["DATABASE_URL"].partition(":///")[2])
        files = [database, database.with_name(database.name + "-wal")]
        assert not [f for f in files if f.exists() and b"Henkie" in f.read_bytes()], (
            "deleted text is overwritten and the WAL emptied")
