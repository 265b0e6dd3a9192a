"""Masking benchmark: recall and false positives per category, and the worst-case time.

Runs the corpus `tests/data/masking.yml` through `mask()` with the demo municipality's own
contact details kept, then times 20,000-character adversarial texts (the slowest of five runs
each counts its fastest, so another process on the machine does not count). Prints one JSON
object.

    PYTHONPATH=. .venv/bin/python bench/masking.py
"""

import json
import platform
import random
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from bot.history.masking import Keep, mask
from bot.replies import municipality

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "data" / "masking.yml"
LENGTH = 20_000
PIECES = ["a", "1", ".", "@", "+", " ", "a.", "a@", "@a", "0 ", "1 ", "a@a.", "+31 6 ", "0612345678 ",
          "x@y.nl ", "NL12", "NL91 ABNA ", "1234 AB ", "1234 AB 1 ", "Kerkstraat 1 ", "Ik ben Jan ",
          "Groet, Jan\n", "mijn naam is Jan de ", "KvK ", "klantnummer 1", "06-12-2026 ", "€ 1.234,",
          "(020) ", "00", "a'", "Aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa "]


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


def worst_case() -> tuple[str, float]:
    """Return the slowest adversarial text and its time in milliseconds."""
    timings = {}
    for name, text in adversarial().items():
        runs = []
        for _ in range(5):
            started = time.perf_counter()
            mask(text)
            runs.append(time.perf_counter() - started)
        timings[name] = min(runs) * 1000
    name = max(timings, key=timings.__getitem__)
    return name, timings[name]


def main() -> None:
    scores, failures = score(load(), own_contacts())
    slowest, milliseconds = worst_case()
    result: dict[str, Any] = {
        "python": platform.python_version(),
        "categories": {name: {"positives": s.positives, "recall": round(s.recall, 4),
                              "negatives": s.negatives,
                              "false_positives": round(s.false_positive_rate, 4)}
                       for name, s in sorted(scores.items())},
        "failures": failures,
        "worst_case_ms_20000_chars": round(milliseconds, 2),
        "worst_case_input": slowest,
    }
    print(json.dumps(result, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
