"""The conversation log's write-behind queue: batched, written once, erased with the chat."""

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy
from alembic import command
from alembic.config import Config
from sqlalchemy import event, func, select
from sqlalchemy.engine import Connection

from bot.history.backlog import BACKLOG, Backlog, rows
from bot.history.log import MIGRATIONS, Entry, History, Message
from bot.history.retention import forget
from bot.services import Services
from bot.state import keys
from bot.state.store import connect
from bot.types import Turn

WAITS = 3000  # of 10 ms: a flush that never comes fails the test instead of hanging it


@contextmanager
def inserts(history: History) -> Iterator[list[str]]:
    """Collect the INSERT statements into `messages` run meanwhile (with their parameters)."""
    seen: list[str] = []

    def note(_: Any, __: Any, statement: str, parameters: Any, *___: Any) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO MESSAGES"):
            seen.append(f"{statement} {parameters}")

    event.listen(history.engine.sync_engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(history.engine.sync_engine, "before_cursor_execute", note)


async def logged(history: History, chat: str | None = None) -> list[Message]:
    query = select(Message).order_by(Message.id)
    if chat is not None:
        query = query.where(Message.chat_id == chat)
    async with history.sessions() as session:
        return list((await session.scalars(query)).all())


def turn(chat: str, text: str, update_id: int) -> Turn:
    return Turn(chat, "test", "text", text, update_id=update_id)


async def test_a_turn_queues_its_rows_with_one_push_and_a_flush_writes_them_in_one_insert(
    services: Services,
) -> None:
    balie, backlog = services.balie, services.backlog
    with inserts(services.history) as seen:
        for number in range(5):
            assert await balie.handle(turn(f"queue:{number}", "hoi, bel 0612345678", number + 1))
        assert seen == [], "the turns only queue their rows"
        assert await services.store.client.llen(BACKLOG) == 5
        assert await backlog.flush() == 5
    assert len(seen) == 1, "one multi-row INSERT for the five turns"
    written = await logged(services.history)
    assert len(written) >= 10 and all(message.row_key for message in written)
    assert "0612345678" not in " ".join(message.text for message in written)
    assert await services.store.client.llen(BACKLOG) == 0


async def test_a_flush_cut_off_between_insert_and_trim_is_written_again_without_doubles(
    services: Services,
) -> None:
    client, history = services.store.client, services.history
    await services.balie.handle(turn("cut:1", "wanneer moet ik betalen", 1))
    await services.balie.handle(turn("cut:2", "hoe vraag ik kwijtschelding aan", 2))
    # A flusher took the lock, read the queue and inserted it, then died before its trim.
    await client.set(keys.BACKLOG_LOCK, "dead-flusher", px=300)
    raws = await client.lrange(BACKLOG, 0, -1)
    await history.insert([row for raw in raws for row in rows(raw)])
    before = len(await logged(history))

    assert await services.backlog.flush() == 2, "the next flusher writes the batches again"

    assert len(await logged(history)) == before, "and no row twice"
    assert await client.llen(BACKLOG) == 0


async def test_rows_pushed_by_two_processes_are_all_written_once(
    services: Services, backend: dict[str, str],
) -> None:
    histories = [await History.open(backend["DATABASE_URL"]) for _ in range(2)]
    clients = [connect(backend["REDIS_URL"]) for _ in range(2)]
    # Small batches and a short interval: the two flushers work on the list at the same time.
    backlogs = [Backlog(client, history, seconds=0.001, turns=3)
                for client, history in zip(clients, histories, strict=True)]
    flushers = [asyncio.create_task(backlog.run()) for backlog in backlogs]
    try:
        await asyncio.gather(*(
            backlog.write([Entry(f"two:{side}", "test", "in", "text", f"vraag {number}"),
                           Entry(f"two:{side}", "test", "out", "answer", f"antwoord {number}")])
            for number in range(60) for side, backlog in enumerate(backlogs)))
        for _ in range(WAITS):
            if not await clients[0].llen(BACKLOG):
                break
            await asyncio.sleep(0.01)
    finally:
        for task in flushers:
            task.cancel()
        await asyncio.gather(*flushers, return_exceptions=True)
        for client in clients:
            await client.aclose()
        for history in histories:
            await history.close()
    written = await logged(services.history)
    texts = sorted((m.chat_id, m.text) for m in written)
    assert len(written) == 240 and len(set(texts)) == 240, "every row once"
    for side in (0, 1):
        asked = [m.text for m in written if m.chat_id == f"two:{side}" and m.direction == "in"]
        assert sorted(asked) == sorted(f"vraag {number}" for number in range(60))


async def test_a_flush_waits_for_the_interval_or_the_number_of_turns(services: Services) -> None:
    history = services.history
    backlog = Backlog(services.store.client, history, seconds=3600, turns=3)
    flusher = asyncio.create_task(backlog.run())
    try:
        for number in range(2):
            await backlog.write([Entry("count:1", "test", "in", "text", f"vraag {number}")])
        for _ in range(20):
            await asyncio.sleep(0)  # the flusher runs if it is due
        assert not backlog.due.is_set() and await logged(history) == [], "two turns wait"
        await backlog.write([Entry("count:1", "test", "in", "text", "vraag 2")])
        assert backlog.due.is_set(), "the third turn makes the flush due at once"
        # Done when the rows are stored and their batches gone from the queue (the flusher
        # trims the queue after its INSERT: cancelled in between, it would leave them queued).
        for _ in range(WAITS):
            if len(await logged(history)) == 3 and not await services.store.client.llen(BACKLOG):
                break
            await asyncio.sleep(0.01)
    finally:
        flusher.cancel()
        await asyncio.gather(flusher, return_exceptions=True)
    # Each INSERT takes at most `turns` batches, oldest first.
    for number in range(7):
        await backlog.write([Entry("count:2", "test", "in", "text", f"vraag {number}")])
    with inserts(history) as seen:
        assert await backlog.flush() == 7
    assert len(seen) == 3
    assert [m.text for m in await logged(history, "count:2")] == [
        f"vraag {number}" for number in range(7)]


async def test_erasure_removes_the_chats_queued_rows_so_none_is_ever_written(
    services: Services,
) -> None:
    balie, history, client = services.balie, services.history, services.store.client
    with inserts(history) as seen:
        await balie.handle(turn("erase:1", "mijn naam is Henkie", 1))
        await balie.handle(turn("erase:2", "wanneer moet ik betalen", 2))
        await forget(history, client, "erase:1")
        await services.backlog.flush()
    assert not [statement for statement in seen if "erase:1" in statement]
    assert await logged(history, "erase:1") == []
    assert await logged(history, "erase:2"), "another chat's rows are written"


async def test_reading_a_chat_includes_its_queued_rows(services: Services) -> None:
    await services.balie.handle(turn("read:1", "wanneer moet ik betalen", 1))
    assert await services.store.client.llen(BACKLOG) == 1
    assert [m.direction for m in await services.history.conversation("read:1")][:2] == [
        "in", "out"]


def _migrate(connection: Connection, revision: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    config.attributes["tenant"] = "voorbeeld"
    if revision == "0006":
        command.downgrade(config, revision)
    else:
        command.upgrade(config, revision)


async def test_the_row_key_migration_keeps_existing_rows(history: History) -> None:
    async with history.engine.begin() as connection:
        await connection.run_sync(_migrate, "0006")
        await connection.execute(sqlalchemy.text(
            "INSERT INTO messages (chat_id, channel, direction, kind, text, created_at) "
            "VALUES ('old:1', 'test', 'in', 'text', 'oud', CURRENT_TIMESTAMP), "
            "('old:1', 'test', 'out', 'answer', 'ook oud', CURRENT_TIMESTAMP)"))
        await connection.run_sync(_migrate, "head")
    old = await logged(history, "old:1")
    assert [(m.text, m.row_key) for m in old] == [("oud", None), ("ook oud", None)]
    row = {"chat_id": "new:1", "channel": "test", "direction": "in", "kind": "text",
           "text": "nieuw", "created_at": old[0].created_at, "row_key": "abc:0"}
    await history.insert([row, {**row, "row_key": None}])
    await history.insert([row])
    async with history.sessions() as session:
        count = await session.scalar(select(func.count()).select_from(Message))
    assert count == 4, "a key written before is skipped; NULL keys never clash"


async def test_a_batch_the_database_refuses_is_dropped_and_the_rest_written(
    services: Services,
) -> None:
    """A batch no database takes (here a row without text) must not hold up the log forever."""
    backlog, client = Backlog(services.store.client, services.history), services.store.client
    await backlog.write([Entry("refused:1", "test", "in", "text", "voor")])
    await client.rpush(BACKLOG, '{"at": "2026-12-01T10:00:00+00:00", "entries": [{"chat_id":'
                       ' "refused:1", "channel": "test", "direction": "in", "kind": "text",'
                       ' "text": null, "row_key": "poison:0"}]}')
    await client.rpush(BACKLOG, "not json")
    await backlog.write([Entry("refused:1", "test", "in", "text", "na")])
    assert await backlog.flush() == 4
    assert [m.text for m in await logged(services.history, "refused:1")] == ["voor", "na"]
    assert await client.llen(BACKLOG) == 0
