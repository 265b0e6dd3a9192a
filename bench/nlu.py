"""NLU benchmark: training time, model load time and parse latency, printed as JSON.

    .venv/bin/python bench/nlu.py [--parses N]
"""

import argparse
import json
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from bot.nlu import content, serving, training

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--parses", type=int, default=2000)
    args = parser.parse_args()

    loaded = content.load(ROOT / "intents")
    trainings = []
    for _ in range(3):
        started = time.perf_counter()
        fitted = training.fit(loaded.examples, loaded.digest)
        trainings.append(time.perf_counter() - started)

    loads = []
    with tempfile.TemporaryDirectory() as cache:
        path = serving.cached(Path(cache), loaded.digest)
        training.save(fitted, path)
        for _ in range(3):
            started = time.perf_counter()
            model = serving.load(path)
            loads.append(time.perf_counter() - started)

    texts = [e.text for e in content.read_examples(ROOT / "tests" / "data" / "nlu_heldout.yml")]
    for text in texts[:50]:
        model.parse(text)
    latencies = []
    for number in range(args.parses):
        started = time.perf_counter()
        model.parse(texts[number % len(texts)])
        latencies.append((time.perf_counter() - started) * 1000)

    print(json.dumps({
        "examples": len(loaded.examples),
        "intents": len(loaded.intents),
        "train_s_median_of_3": round(statistics.median(trainings), 2),
        "load_s_median_of_3": round(statistics.median(loads), 3),
        "parses": args.parses,
        "parse_ms_p50": round(float(np.percentile(latencies, 50)), 3),
        "parse_ms_p99": round(float(np.percentile(latencies, 99)), 3),
        "python": platform.python_version(),
        "cpu_count": os.cpu_count(),
    }))


if __name__ == "__main__":
    main()
