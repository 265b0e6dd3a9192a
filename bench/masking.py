"""Masking benchmark: recall and false positives per category, the worst-case time, the loop.

Runs the corpus `tests/data/masking.yml` through `mask()` with the demo municipality's own
contact details kept. Times 20,000-character adversarial texts: per text the fastest of
fifteen runs (so a busy machine moves it less), in CPU time of the thread and in wall-clock
time, and prints the slowest text. Then starts Balie (embedded Redis and SQLite in a temporary
folder) with its console, has it handle three copies of the slowest text at once, and times a
`GET /chat` made meanwhile (target < 100 ms). Prints one JSON object.

    PYTHONPATH=. .venv/bin/python bench/masking.py
"""

import asyncio
import json
import os
import platform
import random
import socket
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import yaml

from bot.console import create_app, serve
from bot.history.masking import Keep, mask
from bot.replies import municipality
from bot.services import Services
from bot.settings import Settings
from bot.types import Turn

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "data" / "masking.yml"
LENGTH = 20_000
PIECES = ["a", "1", ".", "@", "+", " ", "a.", "a@", "@a", "0 ", "1 ", "a@a.", "+31 6 ",
          "0612345678 ", "x@y.nl ", "NL12", "NL91 ABNA ", "1234 AB ", "1234 AB 1 ",
          "Kerkstraat 1 ", "Ik ben Jan ", "Groet, Jan\n", "mijn naam is Jan de ", "KvK ",
          "klantnummer 1", "06-12-2026 ", "€ 1.234,", "(020) ", "00", "a'",
          "Aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa "]
CONCURRENT = 3
RUNS = 15


def adversarial() -> dict[str, str]:
    """Return 20,000-character texts made to be slow: runs and repeats of tricky pieces."""
    texts = {repr(piece): (piece * (LENGTH // len(piece) + 1))[:LENGTH] for piece in PIECES}
    rng = random.Random(14)
    texts["random mix"] = "".join(rng.choice("a1.@+ -\n(A'") for _ in range(LENGTH))
    texts["long local part"] = "a" * (LENGTH - 10) + "@b.example"
    return texts


def load() -> list[dict[str, str]]:
    """Return the corpus cases: kind, text and (when something is masked) the masked text."""
    cases: list[dict[str, str]] = yaml.safe_load(CORPUS.read_text(encoding="utf-8"))["cases"]
    return cases


def own_contacts() -> Keep:
    """Return what the demo municipality's answers hold that masking must keep."""
    return Keep.of(municipality.load(ROOT / "intents" / "facts", "voorbeeld").facts.values())


@dataclass
class Score:
    """How one category of the corpus came out."""

    positives: int = 0
    found: int = 0
    negatives: int = 0
    false_positives: int = 0

    @property
    def recall(self) -> float:
        """Share of texts with personal data that came out exactly as expected."""
        return self.found / self.positives if self.positives else 1.0

    @property
    def false_positive_rate(self) -> float:
        """Share of texts without personal data that masking changed."""
        return self.false_positives / self.negatives if self.negatives else 0.0


def score(cases: list[dict[str, str]], keep: Keep) -> tuple[dict[str, Score], list[str]]:
    """Score every case per kind and under "all"; return the scores and the failed cases."""
    scores: dict[str, Score] = {"all": Score()}
    failures = []
    for case in cases:
        expected, got = case.get("masked", case["text"]), mask(case["text"], keep)
        for name in (case["kind"], "all"):
            kind = scores.setdefault(name, Score())
            if expected != case["text"]:
                kind.positives += 1
                kind.found += got == expected
            else:
                kind.negatives += 1
                kind.false_positives += got != expected
        if got != expected:
            failures.append(f"{case['kind']}: {case['text']!r} -> {got!r}, expected {expected!r}")
    return scores, failures


def worst_case(keep: Keep) -> tuple[str, float, float]:
    """Return the slowest adversarial text, its CPU and its wall-clock time in milliseconds."""
    timings = {}
    for name, text in adversarial().items():
        cpu, wall = [], []
        for _ in range(RUNS):
            started, started_cpu = time.perf_counter(), time.thread_time()
            mask(text, keep)
            cpu.append(time.thread_time() - started_cpu)
            wall.append(time.perf_counter() - started)
        timings[name] = (min(cpu) * 1000, min(wall) * 1000)
    name = max(timings, key=lambda text: timings[text][0])
    return name, *timings[name]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def other_request_ms(text: str) -> float:
    """Time a `GET /chat` made while Balie handles a few copies of `text` at once."""
    with tempfile.TemporaryDirectory() as folder:
        os.environ.update(BALIE_DATA_DIR=folder, BALIE_CONSOLE_PORT=str(_free_port()),
                          BALIE_CACHE_DIR=str(ROOT / ".balie" / "cache"))
        settings = Settings(_env_file=None)
        async with Services.opened(settings) as services, serve(
                create_app(settings, services), settings), httpx.AsyncClient(
                base_url=settings.console_url, timeout=60) as client:
            await client.get("/chat")
            handled = asyncio.gather(*(services.balie.handle(Turn(f"bench:{n}", "web", "text",
                                                                  text))
                                       for n in range(CONCURRENT)))
            await asyncio.sleep(0)  # the turns have started
            started = time.perf_counter()
            (await client.get("/chat")).raise_for_status()
            milliseconds = (time.perf_counter() - started) * 1000
            await handled
    return milliseconds


def main() -> None:
    keep = own_contacts()
    scores, failures = score(load(), keep)
    slowest, cpu_ms, wall_ms = worst_case(keep)
    result: dict[str, Any] = {
        "python": platform.python_version(),
        "categories": {name: {"positives": s.positives, "recall": round(s.recall, 4),
                              "negatives": s.negatives,
                              "false_positives": round(s.false_positive_rate, 4)}
                       for name, s in sorted(scores.items())},
        "failures": failures,
        "worst_case_input": slowest,
        "worst_case_cpu_ms_20000_chars": round(cpu_ms, 2),
        "worst_case_wall_ms_20000_chars": round(wall_ms, 2),
        f"get_chat_ms_while_{CONCURRENT}_such_texts_are_handled": round(
            asyncio.run(other_request_ms(adversarial()[slowest])), 1),
    }
    print(json.dumps(result, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
