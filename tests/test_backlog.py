"""While the database refuses writes, answers go on and the log waits in Redis."""

import pytest
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from bot.history.backlog import BACKLOG, Backlog
from bot.pipeline import Balie
from bot.types import Turn

CHAT = "backlog:1"


async def rename(balie: Balie, old: str, new: str) -> None:
    async with balie.history.engine.begin() as connection:
        await connection.execute(text(f"ALTER TABLE {old} RENAME TO {new}"))


async def test_log_waits_in_redis_until_the_database_takes_it(balie: Balie) -> None:
    await rename(balie, "messages", "messages_away")  # every log write now fails
    try:
        replies = await balie.handle(Turn(CHAT, "test", "text", "bel me op 0612345678"))
        assert replies, "the citizen is answered while the database refuses"
        assert await balie.store.client.llen(BACKLOG) == 1
        backlog = Backlog(balie.store.client, balie.history)
        with pytest.raises(SQLAlchemyError):
            await backlog.flush()  # still refused: the batch stays
        assert await balie.store.client.llen(BACKLOG) == 1
        assert b"0612345678" not in await balie.store.client.lindex(BACKLOG, 0)
    finally:
        await rename(balie, "messages_away", "messages")
    assert await backlog.flush() == 1
    assert await balie.store.client.llen(BACKLOG) == 0
    messages = await balie.history.conversation(CHAT)
    assert [m.direction for m in messages][:2] == ["in", "out"]
    assert messages[0].text == "bel me op [phone]"
