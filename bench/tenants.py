"""Start-up time and memory of a deployment per tenant: 1 municipality against N of them.

Copies `intents/` to a temporary folder and writes there the facts of a collaboration of N
municipalities (default 30): the demo collaboration's shared file, its water board, and N
members that `extends:` it, each with its own rates, dates and links, its own postcode range
and its own response (`overrides/<member>.yml`). Then, in a fresh process for each run, it
does what `balie run` does before it serves: the start-up check (every tenant's facts, the
responses, the overrides and `render.check` per municipality, as `bot/cli.py`), then
`Services.open` (the tenants again, the NLU model from the cache, the embedded Redis and a new
SQLite log) and measures its seconds, the growth of the process's RSS, and, in a run of its
own, the memory still allocated afterwards (tracemalloc, which slows the run it traces); and
the process's CPU seconds, which a busy machine moves less than the wall-clock ones. One
deployment serves one member (`BALIE_TENANTS=<member>`), the other all N and the water board.
Prints one JSON object with the medians and the cost per extra tenant (targets: < 10 s extra
in total, <= 1 MB per tenant).

    PYTHONPATH=. .venv/bin/python bench/tenants.py [--tenants 30] [--runs 5]
"""

import argparse
import asyncio
import gc
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
COLLABORATION = "samenwerking-voorbeeld"
WATER_BOARD = "waterschap-voorbeeld"
TARGET_EXTRA_SECONDS = 10.0
TARGET_BYTES_PER_TENANT = 1_000_000
OWN_RESPONSE = {
    "nl": "De hondenbelasting van {municipality} is in {tax_year} {dog_first_eur} voor je "
          "eerste hond. Zie {dog_url}",
    "en": "{municipality}'s dog tax in {tax_year} is {dog_first_eur} for your first dog. "
          "See {dog_url}",
}


def member(number: int) -> dict[str, Any]:
    """Return the facts of one member of the collaboration: the demo member's, its own rates."""
    facts = yaml.safe_load((ROOT / "intents/facts/oosterdorp.yml").read_text(encoding="utf-8"))
    key = f"gemeente-{number:02d}"
    return {**facts, "municipality": f"Gemeente Proef {number:02d}",
            "dog_url": f"https://www.bs-voorbeeld.example/{key}/hondenbelasting",
            "tourist_tax_url": f"https://www.bs-voorbeeld.example/{key}/toeristenbelasting",
            "ozb_home_owner_pct": round(0.07 + number / 1000, 4),
            "waste_single_eur": 250.0 + number, "waste_multi_eur": 320.0 + number,
            "sewage_eur": 200.0 + number * 2, "dog_first_eur": 60.0 + number,
            "dog_extra_eur": 90.0 + number, "tourist_tax_eur": 1.5 + number / 100}


def write_intents(folder: Path, count: int) -> Path:
    """Copy intents/ with a collaboration of `count` members as its facts; return the copy."""
    intents = folder / "intents"
    shutil.copytree(ROOT / "intents", intents, ignore=shutil.ignore_patterns("facts"))
    facts = intents / "facts"
    facts.mkdir()
    for key in (COLLABORATION, WATER_BOARD):
        shutil.copy(ROOT / "intents/facts" / f"{key}.yml", facts)
    ranges = ["from;to;tenant"]
    for number in range(1, count + 1):
        key = f"gemeente-{number:02d}"
        (facts / f"{key}.yml").write_text(yaml.safe_dump(member(number), allow_unicode=True))
        ranges.append(f"{1000 + number * 100};{1099 + number * 100};{key}")
        variants = [{"condition": [{"type": "slot", "name": "language", "value": language}],
                     "text": text} for language, text in OWN_RESPONSE.items()]
        (intents / "overrides" / f"{key}.yml").write_text(yaml.safe_dump(
            {"version": "3.1", "responses": {"utter_dog_tax": variants}}, allow_unicode=True))
    (facts / "postcodes.csv").write_text("\n".join(ranges) + "\n")
    return intents


def rss_bytes() -> int:
    """Return this process's resident set size."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


async def start_up(traced: bool) -> dict[str, Any]:
    """Check and open what `balie run` opens, in this (fresh) process; return what it cost."""
    from bot import cli
    from bot.services import Services
    from bot.settings import Settings

    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    gc.collect()
    before = rss_bytes()
    if traced:
        tracemalloc.start()
    started, started_cpu = time.perf_counter(), time.process_time()
    assert cli._checked(settings), "the facts did not pass the start-up check"
    services = await Services.open(settings)
    seconds, cpu = time.perf_counter() - started, time.process_time() - started_cpu
    gc.collect()
    kept = tracemalloc.get_traced_memory()[0] if traced else None
    grown = rss_bytes() - before
    served = len(services.tenants.all)
    await services.close()
    return {"tenants": served, "seconds": seconds, "cpu_seconds": cpu, "rss_bytes": grown,
            "traced_bytes": kept}


def run_child(intents: Path, keys: str, default: str, traced: bool) -> dict[str, Any]:
    """Start up once in a fresh process with its own data folder; return its measurements."""
    with tempfile.TemporaryDirectory() as data:
        env = {**os.environ, "PYTHONPATH": str(ROOT), "BALIE_INTENTS_DIR": str(intents),
               "BALIE_FACTS_DIR": str(intents / "facts"), "BALIE_TENANTS": keys,
               "BALIE_MUNICIPALITY": default, "BALIE_DATA_DIR": data,
               "BALIE_CACHE_DIR": str(ROOT / ".balie" / "cache"), "BALIE_LOG_LEVEL": "WARNING"}
        for name in ("REDIS_URL", "DATABASE_URL", "TELEGRAM_TOKEN", "BALIE_TELEGRAM_TENANT"):
            env.pop(name, None)  # the embedded Redis and SQLite, no bot
        done = subprocess.run(
            [sys.executable, __file__, "--child", *(["--traced"] if traced else [])],
            env=env, cwd=data, capture_output=True, text=True, check=False, timeout=600)
    if done.returncode:
        raise RuntimeError(f"the start-up failed:\n{done.stderr}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def deployment(intents: Path, keys: str, runs: int) -> dict[str, Any]:
    """Start a deployment `runs` times (and once traced); return the medians."""
    timed = [run_child(intents, keys, "gemeente-01", traced=False) for _ in range(runs)]
    traced = run_child(intents, keys, "gemeente-01", traced=True)
    return {"tenants": timed[0]["tenants"],
            "startup_s": round(statistics.median(r["seconds"] for r in timed), 3),
            "startup_s_all": [round(r["seconds"], 3) for r in timed],
            # This process's CPU, not the embedded redis-server's: it moves less with the load.
            "startup_cpu_s": round(statistics.median(r["cpu_seconds"] for r in timed), 3),
            "rss_mib": round(statistics.median(r["rss_bytes"] for r in timed) / 2**20, 2),
            "traced_mib": round(traced["traced_bytes"] / 2**20, 2)}


def measure(count: int, runs: int) -> dict[str, Any]:
    """Write the collaboration, start one member's deployment and all members', compare."""
    with tempfile.TemporaryDirectory() as folder:
        intents = write_intents(Path(folder), count)
        run_child(intents, "", "gemeente-01", traced=False)  # warm the disk cache and the model
        one = deployment(intents, "gemeente-01", runs)
        many = deployment(intents, "", runs)
    extra = many["tenants"] - one["tenants"]
    extra_seconds = many["startup_s"] - one["startup_s"]
    rss_per = (many["rss_mib"] - one["rss_mib"]) * 2**20 / extra
    traced_per = (many["traced_mib"] - one["traced_mib"]) * 2**20 / extra
    return {
        "python": platform.python_version(), "members": count, "runs": runs,
        "one": one, "many": many, "extra_tenants": extra,
        "extra_startup_s": round(extra_seconds, 3),
        "startup_ms_per_tenant": round(extra_seconds * 1000 / extra, 1),
        "startup_cpu_ms_per_tenant": round(
            (many["startup_cpu_s"] - one["startup_cpu_s"]) * 1000 / extra, 1),
        "rss_kib_per_tenant": round(rss_per / 1024, 1),
        "traced_kib_per_tenant": round(traced_per / 1024, 1),
        "target_extra_startup_s": TARGET_EXTRA_SECONDS,
        "target_kib_per_tenant": TARGET_BYTES_PER_TENANT / 1024,
        "met": extra_seconds < TARGET_EXTRA_SECONDS
        and max(rss_per, traced_per) <= TARGET_BYTES_PER_TENANT,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tenants", type=int, default=30, help="members of the collaboration")
    parser.add_argument("--runs", type=int, default=5, help="start-ups timed per deployment")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--traced", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(asyncio.run(start_up(args.traced))))
        return
    print(json.dumps(measure(args.tenants, args.runs), indent=2))


if __name__ == "__main__":
    main()
