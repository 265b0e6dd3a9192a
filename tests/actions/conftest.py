"""A municipality of the test's own making, and the cases table the actions use."""

from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy.ext.asyncio import create_async_engine

from bot.handoff.cases import SqlCases
from bot.history.log import History
from bot.replies import municipality
from bot.settings import PROJECT_DIR


@pytest.fixture
def configure_town(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[..., municipality.Municipality]]:
    """Write a facts file: the demo facts with some values changed, and select it."""

    def configure(**changes: Any) -> municipality.Municipality:
        facts = yaml.safe_load((PROJECT_DIR / "intents/facts/voorbeeld.yml").read_text())
        facts.update(changes)
        (tmp_path / "facts").mkdir(exist_ok=True)
        (tmp_path / "facts" / "proef.yml").write_text(yaml.safe_dump(facts, allow_unicode=True))
        monkeypatch.setenv("BALIE_FACTS_DIR", str(tmp_path / "facts"))
        monkeypatch.setenv("BALIE_MUNICIPALITY", "proef")
        municipality.configured.cache_clear()
        return municipality.configured()

    yield configure
    municipality.configured.cache_clear()


@pytest.fixture
async def backend_cases(
    history: History, backend: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[SqlCases]:
    """The cases table of the test's database, which the actions find through DATABASE_URL."""
    monkeypatch.setenv("DATABASE_URL", backend["DATABASE_URL"])
    engine = create_async_engine(backend["DATABASE_URL"])
    try:
        yield SqlCases(engine)
    finally:
        await engine.dispose()
