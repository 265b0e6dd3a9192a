"""The `balie` command: run, worker, chat, nlu train, nlu evaluate."""

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from bot import content, logs, nlu, supervisor
from bot.settings import Settings


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="balie", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser(
        "run", help="run the Telegram bot (terminal chat when no token is set)")
    run.add_argument("--workers", type=int, default=0, metavar="N",
                     help="start N worker processes (default: one worker in this process)")
    run.add_argument("--intake-only", action="store_true",
                     help="no worker here: `balie worker` processes run elsewhere")
    commands.add_parser("worker", help="answer updates from the Redis stream (needs REDIS_URL)")
    commands.add_parser("chat", help="chat with Balie in this terminal")
    nlu_parser = commands.add_parser("nlu", help="train or evaluate the intent classifier")
    nlu_commands = nlu_parser.add_subparsers(dest="nlu_command", required=True)
    nlu_commands.add_parser("train", help="train the model (cached by a hash of the data)")
    evaluate = nlu_commands.add_parser("evaluate", help="score the model on a Rasa NLU YAML file")
    evaluate.add_argument("file")
    evaluate.add_argument("--json", action="store_true", help="print one JSON object")
    evaluate.add_argument("--cv", action="store_true", help="also report 5-fold cross-validation")
    supervisor.add_commands(commands)
    return parser


def _nlu(settings: Settings, args: argparse.Namespace) -> int:
    loaded = content.load(settings.intents_dir)
    started = time.perf_counter()
    model = nlu.load_or_train(loaded, settings.model_cache)
    if args.nlu_command == "train":
        print(f"model ready for {len(loaded.examples)} examples, {len(loaded.intents)} intents "
              f"in {time.perf_counter() - started:.1f} s")
        return 0
    report = nlu.evaluate(model, content.read_examples(Path(args.file)), settings.nlu_threshold)
    if args.cv:
        report["cv_macro_f1"] = nlu.cross_validate(loaded.examples, settings.nlu_threshold)
    if args.json:
        print(json.dumps(report))
    else:
        for name, value in report.items():
            if name != "per_intent_f1":
                print(f"{name:>14}: {value}")
        for intent, score in sorted(report["per_intent_f1"].items(), key=lambda item: item[1]):
            print(f"{intent:>22}  {score:.3f}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line."""
    # Opt in to PTB's coming behaviour: durations such as RetryAfter.retry_after are
    # timedeltas (PTB 22 warns on every read otherwise).
    os.environ.setdefault("PTB_TIMEDELTA", "true")
    args = _parser().parse_args(argv)
    settings = Settings()
    logs.configure(settings.log_level, settings.log_format)
    if args.command == "nlu":
        return _nlu(settings, args)
    if args.command in {"announce", "broadcast", "poll", "feedback", "policy", "report", "purge"}:
        return asyncio.run(supervisor.run(settings, args))

    if args.command == "run" and settings.telegram_token is not None:
        if args.workers and "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
            # Worker processes write their metrics to files the intake's /metrics reads.
            os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="balie-metrics-")
        from bot import runner

        asyncio.run(runner.run(settings, None if args.intake_only else args.workers))
        return 0
    if args.command == "worker":
        if settings.telegram_token is None:
            print("TELEGRAM_TOKEN is not set.", file=sys.stderr)
            return 2
        from bot import runner

        asyncio.run(runner.until_signal(runner.work(settings)))
        return 0

    from bot.channels import terminal
    from bot.pipeline import Balie

    balie = Balie(settings)
    if args.command == "run":
        print("TELEGRAM_TOKEN is not set: starting the terminal chat instead.", file=sys.stderr)
    asyncio.run(terminal.chat(balie))
    return 0


if __name__ == "__main__":
    sys.exit(main())
