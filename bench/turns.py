"""Per-turn latency in process: p50/p99 of `Balie.handle` over the conversation tests' turns.

Starts Balie on the embedded Redis and SQLite in a temporary folder (a staff desk set up, the
demo municipality's real opening hours), plays every conversation of
`tests/data/conversations.yml` once to warm up, then again until at least `--turns` turns are
timed, each play in fresh chats. Every turn is timed from the call to `Balie.handle` to its
return: sanitising, the privacy guard, parsing, memory, the dialogue, actions, rendering,
state and the log, in wall-clock and in this process's CPU time; and the pipeline's own time as
it logs it (`latency_ms`: the turn up to its answer, before the state is saved and the log
queued). Prints one JSON object (target: p50 < 2 ms).

    PYTHONPATH=. .venv/bin/python bench/turns.py [--turns 600]
"""

import argparse
import asyncio
import json
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

from bot.services import Services
from bot.settings import Settings
from bot.types import Reply, Turn
from tests.support.conversations import Conversation, load, play

ROOT = Path(__file__).resolve().parent.parent
STAFF_CHAT = -1001313  # a desk, so requests for a person are offered one as in production


async def timed(services: Services, conversation: Conversation, chat_id: str,
                timings: list[tuple[float, float]]) -> None:
    """Play one conversation in a fresh chat, adding each turn's wall and CPU milliseconds."""

    async def handle(made: Turn) -> list[Reply]:
        started, started_cpu = time.perf_counter(), time.process_time()
        replies = await services.balie.handle(made)
        timings.append(((time.perf_counter() - started) * 1000,
                        (time.process_time() - started_cpu) * 1000))
        return replies

    await play(conversation, chat_id, handle)


async def recorded(services: Services, chats: list[str]) -> list[float]:
    """Return the latency the pipeline logged for each answered turn of the chats."""
    latencies = []
    for chat in chats:
        answered = True
        for message in await services.history.conversation(chat):
            if message.direction == "in":
                answered = False
            elif not answered and message.latency_ms is not None:
                latencies.append(message.latency_ms)
                answered = True
    return sorted(latencies)


async def measure(wanted: int) -> dict[str, object]:
    """Warm up on every conversation, then time turns until `wanted` are timed."""
    conversations = load()
    with tempfile.TemporaryDirectory() as folder:
        os.environ.update(BALIE_DATA_DIR=folder, BALIE_CACHE_DIR=str(ROOT / ".balie" / "cache"),
                          BALIE_FLOOD_PER_MINUTE="100000",
                          BALIE_STAFF_CHAT_ID=str(STAFF_CHAT))
        settings = Settings(_env_file=None)  # type: ignore[call-arg]
        async with Services.opened(settings) as services:
            for number, conversation in enumerate(conversations):
                await timed(services, conversation, f"warm:{number}", [])
            timings: list[tuple[float, float]] = []
            chats: list[str] = []
            while len(timings) < wanted:
                for number, conversation in enumerate(conversations):
                    chats.append(f"bench:{len(chats)}:{number}")
                    await timed(services, conversation, chats[-1], timings)
            logged = await recorded(services, chats)
    wall, cpu = sorted(t[0] for t in timings), sorted(t[1] for t in timings)
    return {
        "python": platform.python_version(),
        "conversations": len(conversations),
        "turns": len(timings),
        "p50_ms": round(statistics.median(wall), 2),
        "p90_ms": round(wall[int(len(wall) * 0.9)], 2),
        "p99_ms": round(wall[int(len(wall) * 0.99)], 2),
        "max_ms": round(wall[-1], 2),
        "mean_ms": round(statistics.fmean(wall), 2),
        # This process's CPU time (the aiosqlite thread's too), not Redis's: on a busy machine
        # it moves less than the wall-clock figures.
        "cpu_p50_ms": round(statistics.median(cpu), 2),
        "cpu_p99_ms": round(cpu[int(len(cpu) * 0.99)], 2),
        "pipeline_p50_ms": round(statistics.median(logged), 2),
        "pipeline_p99_ms": round(logged[int(len(logged) * 0.99)], 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=600, help="turns to time (at least)")
    print(json.dumps(asyncio.run(measure(parser.parse_args().turns)), indent=2))


if __name__ == "__main__":
    main()
