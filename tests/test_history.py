"""The conversation log in SQLite and PostgreSQL."""


import sqlalchemy
from alembic.config import Config
from alembic.script import ScriptDirectory

from bot.history.log import MIGRATIONS, Entry, History


async def test_messages_are_stored_masked_in_order(history: History) -> None:
    await history.record([
        Entry("tg:1", "telegram", "in", "text", "mijn iban NL91ABNA0417164300 en 0612345678",
              language="nl", intent="direct_debit", confidence=0.91, update_id=5),
        Entry("tg:1", "telegram", "out", "answer", "Antwoord", language="nl",
              intent="direct_debit", latency_ms=12.5),
    ])
    first, second = await history.conversation("tg:1")
    assert first.text == "mijn iban [iban] en [phone]"
    assert (first.intent, first.confidence, first.update_id) == ("direct_debit", 0.91, 5)
    assert second.direction == "out" and second.latency_ms == 12.5
    assert first.created_at is not None
    assert await history.conversation("tg:2") == []


async def test_migrations_are_idempotent(backend: dict[str, str], history: History) -> None:
    again = await History.open(backend["DATABASE_URL"])
    async with again.engine.connect() as connection:
        query = sqlalchemy.text("SELECT version_num FROM alembic_version")
        version = await connection.scalar(query)
    await again.close()
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    head = ScriptDirectory.from_config(config).get_current_head()
    assert head is not None and head >= "0006"
    assert version == head
