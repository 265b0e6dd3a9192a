"""Console login benchmark: how long a refusal takes, and what 40 logins at once cost others.

Serves the console in process (embedded Redis and SQLite in a temporary folder) with argon2
at the production cost (or `--time-cost`, `--memory-kib`). Phase 1 times a wrong password, a
locked account and an unknown name, one after another: the three should take equally long,
so a refusal says nothing about which names exist. Phase 2 sends 40 logins with unknown names
at once, each from its own loopback address, while a citizen opens the web chat, and times the
citizen's `/chat/api/start`. Prints one JSON object.

    PYTHONPATH=. .venv/bin/python bench/logins.py [--rounds 10]
"""

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from pathlib import Path

import httpx

from bot.console import create_app, serve
from bot.history.accounts import MAX_FAILED_LOGINS, Accounts
from bot.services import Services
from bot.settings import Settings
from tests.conftest import MODEL_CACHE, free_port
from tests.console.conftest import csrf_of

PASSWORD = "a long enough password"


async def login_ms(url: str, name: str, address: str) -> float:
    """Return how long one wrong login takes, in milliseconds."""
    transport = httpx.AsyncHTTPTransport(local_address=address)
    async with httpx.AsyncClient(base_url=url, transport=transport, timeout=300) as client:
        token = csrf_of((await client.get("/login")).text)
        start = time.perf_counter()
        await client.post("/login", data={"name": name, "password": "wrong", "csrf": token})
        return (time.perf_counter() - start) * 1000


async def chat_start_ms(url: str) -> float:
    """Return how long a citizen waits for the web chat to start, in milliseconds."""
    async with httpx.AsyncClient(base_url=url, timeout=300) as client:
        start = time.perf_counter()
        response = await client.post("/chat/api/start", json={"language": "nl"})
        response.raise_for_status()
        return (time.perf_counter() - start) * 1000


async def bench(settings: Settings, rounds: int) -> dict[str, object]:
    """Run both phases against a console on these settings."""
    url = f"http://127.0.0.1:{settings.console_port}"
    async with Services.opened(settings) as services, serve(
            create_app(settings, services), settings):
        accounts = Accounts(services.history, settings.password_time_cost,
                            settings.password_memory_kib)
        await accounts.add("locked", "staff", PASSWORD, actor="bench")
        await accounts.add("known", "staff", PASSWORD, actor="bench")
        for _ in range(MAX_FAILED_LOGINS):
            await login_ms(url, "locked", "127.0.5.1")
        phase1 = {kind: [await login_ms(url, name, f"127.0.6.{n % 200 + 1}")
                         for n in range(rounds)]
                  for kind, name in (("wrong_password", "known"), ("locked", "locked"),
                                     ("unknown_name", "nobody"))}
        quiet = await chat_start_ms(url)
        start = time.perf_counter()
        logins = [login_ms(url, f"nobody{n}", f"127.0.7.{n + 1}") for n in range(40)]
        *_, busy = await asyncio.gather(*logins, chat_start_ms(url))
        phase2 = (time.perf_counter() - start) * 1000
    return {
        "argon2": {"time_cost": settings.password_time_cost,
                   "memory_kib": settings.password_memory_kib,
                   "concurrency": settings.password_concurrency},
        "refusal_ms_median": {kind: round(statistics.median(times), 1)
                              for kind, times in phase1.items()},
        "chat_start_ms": {"quiet": round(quiet, 1), "during_40_logins": round(busy, 1)},
        "forty_logins_ms": round(phase2, 1),
    }


def main() -> None:
    """Parse the arguments, run the benchmark and print its numbers."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--time-cost", type=int)
    parser.add_argument("--memory-kib", type=int)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(_env_file=None, data_dir=Path(folder), cache_dir=MODEL_CACHE,
                            console_port=free_port(), log_level="ERROR",
                            login_failures_per_address=1000)
        costs = {"password_time_cost": args.time_cost, "password_memory_kib": args.memory_kib}
        settings = settings.model_copy(update={k: v for k, v in costs.items() if v})
        print(json.dumps(asyncio.run(bench(settings, args.rounds)), indent=2))


if __name__ == "__main__":
    main()
