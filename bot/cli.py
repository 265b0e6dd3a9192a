"""The `balie` command: run, worker, console, chat, users, nlu and the supervisor commands."""

import argparse
import asyncio
import getpass
import json
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from bot.history.accounts import ROLES, AccountError, Accounts, scope_of
from bot.history.log import History
from bot.nlu import content, serving
from bot.ops import commands, logs
from bot.replies import municipality, render, tenants
from bot.settings import Settings, prepare_libraries


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="balie", description=__doc__)
    subcommands = parser.add_subparsers(dest="command", required=True)
    run = subcommands.add_parser(
        "run", help="run the web chat and console, and Telegram (intake and workers) with a token")
    run.add_argument("--workers", type=int, default=0, metavar="N",
                     help="start N worker processes (default: one worker in this process)")
    run.add_argument("--intake-only", action="store_true",
                     help="no worker here: `balie worker` processes run elsewhere")
    subcommands.add_parser("worker", help="answer updates from the Redis stream (needs REDIS_URL)")
    console = subcommands.add_parser("console", help="run only the web chat and the staff console")
    # One of the BALIE_CONSOLE_PROCESSES that a `balie console` or `balie run` started.
    console.add_argument("--joined", action="store_true", help=argparse.SUPPRESS)
    subcommands.add_parser("chat", help="chat with Balie in this terminal")
    users = subcommands.add_parser("users", help="console accounts")
    user_commands = users.add_subparsers(dest="users_command", required=True)
    add = user_commands.add_parser("add", help="create a user (asks for the password)")
    add.add_argument("name")
    add.add_argument("--role", required=True, choices=ROLES)
    add.add_argument("--password-stdin", action="store_true",
                     help="read the password from standard input instead of asking")
    add.add_argument("--tenants", default="*", metavar="KEYS",
                     help="the municipalities the user works for: keys with commas, or * (all)")
    assign = user_commands.add_parser("tenants", help="set the municipalities a user works for")
    assign.add_argument("name")
    assign.add_argument("keys", help="keys with commas, or * (all)")
    user_commands.add_parser("list", help="list users, roles and municipalities")
    nlu_parser = subcommands.add_parser("nlu", help="train or evaluate the intent classifier")
    nlu_commands = nlu_parser.add_subparsers(dest="nlu_command", required=True)
    nlu_commands.add_parser("train", help="train the model (cached by a hash of the data)")
    evaluate = nlu_commands.add_parser("evaluate", help="score the model on a Rasa NLU YAML file")
    evaluate.add_argument("file")
    evaluate.add_argument("--json", action="store_true", help="print one JSON object")
    evaluate.add_argument("--cv", action="store_true", help="also report 5-fold cross-validation")
    commands.add_commands(subcommands)
    return parser


def _nlu(settings: Settings, args: argparse.Namespace) -> int:
    loaded = content.load(settings.intents_dir)
    started = time.perf_counter()
    model = serving.load_or_train(loaded, settings.model_cache)
    if args.nlu_command == "train":
        print(f"model ready for {len(loaded.examples)} examples, {len(loaded.intents)} intents "
              f"in {time.perf_counter() - started:.1f} s")
        return 0
    # Imported here: only evaluating (and training) needs scikit-learn, which loads slowly.
    from bot.nlu import training

    held_out = content.read_examples(Path(args.file))
    report = training.evaluate(model, held_out, settings.nlu_threshold)
    if args.cv:
        report["cv_macro_f1"] = training.cross_validate(loaded.examples, settings.nlu_threshold)
    if args.json:
        print(json.dumps(report))
    else:
        for name, value in report.items():
            if name != "per_intent_f1":
                print(f"{name:>14}: {value}")
        for intent, score in sorted(report["per_intent_f1"].items(), key=lambda item: item[1]):
            print(f"{intent:>22}  {score:.3f}")
    return 0


async def _users(settings: Settings, args: argparse.Namespace) -> int:
    history = await History.open(settings.sqlalchemy_url, tenant=settings.municipality)
    known = tuple(tenants.open_all(settings.facts, settings.tenant_keys,
                                   settings.municipality).all)
    try:
        accounts = Accounts(history, settings.password_time_cost, settings.password_memory_kib)
        if args.users_command == "list":
            for user in await accounts.users():
                print(f"{user.name:<24} {user.role:<10} {'active' if user.active else 'off':<6} "
                      f"{user.tenants}")
            return 0
        try:
            if args.users_command == "tenants":
                await accounts.change(args.name, "cli", scope=scope_of(args.keys, known))
                print(f"{args.name} works for {args.keys}")
                return 0
            scope = scope_of(args.tenants, known)
            password = (sys.stdin.readline().rstrip("\n") if args.password_stdin
                        else getpass.getpass(f"Password for {args.name}: "))
            await accounts.add(args.name, args.role, password, actor="cli", scope=scope)
        except AccountError as error:
            print(f"not done: {error}", file=sys.stderr)
            return 2
        print(f"added {args.name} as {args.role} for {scope.text}")
        return 0
    finally:
        await history.close()


def _checked(settings: Settings) -> bool:
    """Check the tenants' facts files and the responses' placeholders; say what is wrong."""
    try:
        served = tenants.open_all(settings.facts, settings.tenant_keys, settings.municipality)
        loaded, own = content.load(settings.intents_dir), render.overrides(settings.intents_dir,
                                                                           served)
        for town in served.municipalities:
            render.check(loaded, town, own.get(town.key))
        from bot.services import channel_tenants

        channel_tenants(settings, served)  # a town's own bot names one of the municipalities
    except municipality.FactsError as error:
        print(error, file=sys.stderr)
        return False
    return True


async def _chat(settings: Settings) -> None:
    from bot.channels import terminal
    from bot.services import Services

    async with Services.opened(settings) as services:
        await terminal.chat(services.balie)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line."""
    args = _parser().parse_args(argv)
    # Everything Balie and its redis-server create (the SQLite log and its -wal/-shm, the data
    # dir, Redis's files, the NLU cache, the console secret) is for Balie's user alone.
    os.umask(0o077)
    settings = Settings()
    telegram = args.command == "run" and settings.telegram_token is not None
    if telegram and args.workers and settings.metrics_dir is None:
        # Worker processes write their metrics to files the intake's /metrics reads.
        settings = settings.model_copy(
            update={"metrics_dir": Path(tempfile.mkdtemp(prefix="balie-metrics-"))})
    prepare_libraries(settings)
    logs.configure(settings.log_level, settings.log_format)
    if args.command == "nlu":
        return _nlu(settings, args)
    if args.command == "users":
        return asyncio.run(_users(settings, args))
    if args.command in {"announce", "broadcast", "poll", "feedback", "policy", "report", "purge"}:
        return asyncio.run(commands.run(settings, args))
    if not _checked(settings):
        return 2

    if args.command == "chat":
        asyncio.run(_chat(settings))
        return 0

    from bot.ops import runner

    if telegram:
        try:
            asyncio.run(runner.run(settings, None if args.intake_only else args.workers))
        except runner.NotStarted as error:
            print(error, file=sys.stderr)
            return 2
        return 0
    if args.command == "worker":
        if settings.telegram_token is None:
            print("TELEGRAM_TOKEN is not set.", file=sys.stderr)
            return 2
        asyncio.run(runner.until_signal(runner.work(settings)))
        return 0
    if args.command == "run":
        print("TELEGRAM_TOKEN is not set: running the web chat only.", file=sys.stderr)
    joined = args.command == "console" and args.joined
    asyncio.run(runner.until_signal(runner.console(settings, joined=joined)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
