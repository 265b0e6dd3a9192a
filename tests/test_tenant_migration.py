"""Migration 0009 on SQLite and PostgreSQL: older rows become the configured municipality's."""

from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import pytest
import sqlalchemy
from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from bot.history.log import MIGRATIONS, History
from tests.conftest import Servers, _asyncpg_dsn

NOW = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
ROWS = {
    "messages": {"chat_id": "tg:1", "channel": "telegram", "direction": "in", "kind": "text",
                 "text": "hallo", "created_at": NOW},
    "handoffs": {"chat_id": "tg:1", "kind": "live", "language": "nl", "queued_at": NOW,
                 "outcome": "closed"},
    "cases": {"reference": "BZ-ABCDEF", "kind": "objection", "status": "received",
              "address_digest": "0" * 64, "language": "nl", "created_at": NOW,
              "updated_at": NOW},
    "subscriptions": {"chat_id": "tg:1", "topic": "aanslag", "language": "nl",
                      "created_at": NOW},
    "announcements": {"text_nl": "Let op", "text_en": "Note", "valid_from": NOW,
                      "valid_until": NOW, "inline": True, "created_by": "sue",
                      "created_at": NOW},
    "polls": {"question_nl": "Duidelijk?", "question_en": "Clear?", "options": "[]",
              "free_text": False, "active": True, "created_at": NOW},
    "votes": {"poll_id": 1, "chat_id": "tg:1", "choice": 0, "created_at": NOW},
    "answer_feedback": {"chat_id": "tg:1", "intent": "greet", "useful": True,
                        "created_at": NOW},
    "broadcasts": {"topic": "aanslag", "created_at": NOW},
    "audit_log": {"actor": "cli", "action": "purge", "at": NOW},
    "users": {"name": "sam", "role": "staff", "password_hash": "x", "active": True,
              "failed_logins": 0, "created_at": NOW},
}


def _to_0008(connection: Connection) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    command.upgrade(config, "0008")


async def _database_at_0008(url: str) -> None:
    """Migrate an empty database to the revision before tenants and put a row in each table."""
    engine = create_async_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_to_0008)
            for table, row in ROWS.items():
                await connection.execute(
                    sqlalchemy.table(table, *map(sqlalchemy.column, row)).insert().values(row))
    finally:
        await engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
async def url_at_0008(request: pytest.FixtureRequest, tmp_path: Path, servers: Servers) -> str:
    """An empty database on each backend, at revision 0008 with one row in every table."""
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'old.db'}"
    elif servers.postgres is None:
        pytest.skip("no PostgreSQL server on 127.0.0.1:5432")
    else:
        # The session's database, emptied; the next test's fixture migrates it again.
        url = servers.postgres
        connection = await asyncpg.connect(_asyncpg_dsn(url))
        try:
            await connection.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
        finally:
            await connection.close()
    await _database_at_0008(url)
    return url


async def test_existing_rows_become_the_configured_municipalitys(url_at_0008: str) -> None:
    history = await History.open(url_at_0008, tenant="oosterdorp")
    try:
        async with history.engine.connect() as connection:
            for table in set(ROWS) - {"users"}:
                found = (await connection.execute(
                    sqlalchemy.text(f"SELECT tenant FROM {table}"))).scalars().all()
                assert found == ["oosterdorp"], table
            assert (await connection.scalar(
                sqlalchemy.text("SELECT tenants FROM users"))) == "*"
            version = await connection.scalar(sqlalchemy.text(
                "SELECT version_num FROM alembic_version"))
    finally:
        await history.close()
    assert version >= "0009"


async def test_a_row_an_older_balie_writes_without_a_tenant_is_the_configured_ones(
    url_at_0008: str
) -> None:
    history = await History.open(url_at_0008, tenant="oosterdorp")
    try:
        async with history.engine.begin() as connection:
            await connection.execute(sqlalchemy.text(
                "INSERT INTO audit_log (actor, action, at) VALUES ('x', 'y', :at)"), {"at": NOW})
            tenant = await connection.scalar(sqlalchemy.text(
                "SELECT tenant FROM audit_log WHERE actor = 'x'"))
        assert tenant == "oosterdorp"
    finally:
        await history.close()


async def test_rows_without_a_tenant_to_give_them_stop_the_upgrade(url_at_0008: str) -> None:
    with pytest.raises(RuntimeError, match="no tenant"):
        await History.open(url_at_0008)
