"""The in-process executor with a municipality of the test's own making and a cases table."""

from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy.ext.asyncio import create_async_engine

from bot.acting.executor import ActionServices, Executor
from bot.handoff.cases import SqlCases
from bot.history.log import History
from bot.replies import municipality, tenants
from bot.replies.tenants import Tenants
from bot.settings import PROJECT_DIR


@pytest.fixture
async def executor(
    demo_tenants: Tenants, tmp_path: Path
) -> AsyncIterator[Executor]:
    """The executor as Services builds it: the demo town, and cases in a database of its own.

    That database has no tables: a test of an action that looks up cases uses `backend_cases`.
    """
    engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'no-cases.db'}")
    try:
        yield Executor(ActionServices(SqlCases(engine), demo_tenants))
    finally:
        await engine.dispose()


@pytest.fixture
def configure_town(
    tmp_path: Path, executor: Executor
) -> Callable[..., municipality.Municipality]:
    """Write a facts file: the demo facts with some values changed; the actions use it."""

    def configure(**changes: Any) -> municipality.Municipality:
        facts = yaml.safe_load((PROJECT_DIR / "intents/facts/voorbeeld.yml").read_text())
        facts.update(changes)
        (tmp_path / "facts").mkdir(exist_ok=True)
        (tmp_path / "facts" / "proef.yml").write_text(yaml.safe_dump(facts, allow_unicode=True))
        town = tenants.load(tmp_path / "facts", "proef")
        assert executor.services
        executor.services = replace(executor.services, tenants=Tenants({town.key: town}, town))
        return town

    return configure


@pytest.fixture
async def backend_cases(
    history: History, backend: dict[str, str], executor: Executor
) -> AsyncIterator[SqlCases]:
    """The cases table of the test's database, which the executor hands the actions."""
    engine = create_async_engine(backend["DATABASE_URL"])
    cases = SqlCases(engine)
    assert executor.services
    executor.services = replace(executor.services, cases=cases)
    try:
        yield cases
    finally:
        await engine.dispose()
