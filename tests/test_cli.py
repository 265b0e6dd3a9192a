"""The `balie` command as a user runs it: chat, run without a token, nlu train and evaluate."""

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
import yaml

from bot.nlu import content
from bot.settings import PROJECT_DIR
from tests.conftest import MODEL_CACHE, free_port

pytestmark = pytest.mark.process


def balie(
    *args: str, tmp_path: Path, stdin: str = "", **env: str
) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items()
             if not k.startswith("BALIE_") and k not in {"REDIS_URL", "DATABASE_URL",
                                                        "TELEGRAM_TOKEN"}}
    return subprocess.run(
        [sys.executable, "-m", "bot", *args], input=stdin, capture_output=True, text=True,
        timeout=120, cwd=tmp_path,
        # PYTHONPATH: this checkout's `bot`, not the one the virtualenv has installed.
        env={**clean, "BALIE_CACHE_DIR": str(MODEL_CACHE), "BALIE_LOG_LEVEL": "WARNING",
             "PYTHONPATH": str(PROJECT_DIR), **env},
    )


def test_chat_on_embedded_defaults_answers_the_objection_period(tmp_path: Path) -> None:
    # The defaults serve every demo tenant: the question waits for the municipality's postcode.
    result = balie("chat", tmp_path=tmp_path, stdin="hoe lang heb ik om bezwaar te maken?\n"
                   "1234 AB\nhow do I object to my WOZ value\n")
    assert result.returncode == 0, result.stderr
    asked, answered = result.stdout.split("ik help je voor Gemeente Voorbeeld")
    assert "In welke gemeente woon je?" in asked, "after /start"
    assert "Je vraag beantwoord ik zodra ik weet in welke gemeente je woont" in asked
    assert "[3] Gemeente Westerstad" in asked and "6 weken" not in asked
    assert "6 weken" in answered
    assert "6 weeks" in result.stdout
    assert (tmp_path / ".balie" / "balie.db").exists(), "SQLite log in the data dir"
    assert (tmp_path / ".balie" / "redis" / "redis.rdb").exists(), "embedded Redis saved state"


def few_examples(folder: Path) -> Path:
    """A copy of intents/ with three examples of each intent: a model trained in seconds."""
    shutil.copytree(PROJECT_DIR / "intents", folder)
    for path in (folder / "nlu").glob("*.yml"):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        for block in data["nlu"]:
            block["examples"] = "".join(block["examples"].splitlines(keepends=True)[:3])
        path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return folder


def test_data_files_are_for_balies_user_alone(tmp_path: Path) -> None:
    # A fresh cache: Balie trains and writes the model there (on few examples, to be quick).
    result = balie("chat", tmp_path=tmp_path, stdin="hoi\n", BALIE_CACHE_DIR=str(tmp_path / "c"),
                   BALIE_INTENTS_DIR=str(few_examples(tmp_path / "intents")))
    assert result.returncode == 0, result.stderr
    data = tmp_path / ".balie"
    made = [data, *data.rglob("*")]
    assert {path.name for path in made} >= {"balie.db", "redis", "redis.rdb", "redis.log"}
    assert (tmp_path / "c").exists(), "the NLU cache was written"
    for path in [*made, tmp_path / "c", *(tmp_path / "c").rglob("*")]:
        assert path.stat().st_mode & 0o077 == 0, f"{path} is {oct(path.stat().st_mode)}"


def test_chat_buttons_are_pressed_by_number(tmp_path: Path) -> None:
    result = balie("chat", tmp_path=tmp_path, stdin="xq zzv plop\n1\n", BALIE_TENANTS="voorbeeld")
    assert "[1] Medewerker spreken" in result.stdout
    assert "14 0123" in result.stdout.split("[1] Medewerker spreken")[1]


def test_run_without_token_serves_the_web_chat(tmp_path: Path) -> None:
    port = free_port()
    clean = {k: v for k, v in os.environ.items()
             if not k.startswith("BALIE_") and k not in {"REDIS_URL", "DATABASE_URL",
                                                        "TELEGRAM_TOKEN"}}
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "run"], cwd=tmp_path, stderr=subprocess.PIPE, text=True,
        env={**clean, "BALIE_CACHE_DIR": str(MODEL_CACHE), "BALIE_CONSOLE_PORT": str(port),
             "BALIE_LOG_LEVEL": "WARNING"})
    try:
        assert process.stderr
        lines = [process.stderr.readline()]
        while "web chat:" not in lines[-1]:
            lines.append(process.stderr.readline())
            assert lines[-1], "".join(lines)
        assert "TELEGRAM_TOKEN is not set" in lines[0]
        assert f"http://127.0.0.1:{port}/chat" in lines[-1]
        page = httpx.get(f"http://127.0.0.1:{port}/chat", timeout=10)
        assert page.status_code == 200 and "Typ je vraag" in page.text
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
        if process.stderr:
            process.stderr.close()


def test_webhook_mode_without_a_long_secret_stops_with_exit_2(tmp_path: Path) -> None:
    # Which secrets are refused: tests/test_intake.py, in process.
    env = {"TELEGRAM_TOKEN": "123:abc", "TELEGRAM_BASE_URL": f"http://127.0.0.1:{free_port()}/",
           "BALIE_WEBHOOK_URL": "https://balie.example.nl/hook", "BALIE_WEBHOOK_SECRET": "x" * 31,
           "BALIE_WEBHOOK_PORT": str(free_port()), "BALIE_CONSOLE_PORT": str(free_port())}
    result = balie("run", tmp_path=tmp_path, **env)
    assert result.returncode == 2, result.stderr
    assert "BALIE_WEBHOOK_SECRET" in result.stderr and "32 characters" in result.stderr
    assert "Traceback" not in result.stderr


def test_users_are_added_and_listed(tmp_path: Path) -> None:
    added = balie("users", "add", "anna", "--role", "supervisor", "--password-stdin",
                  tmp_path=tmp_path, stdin="a long enough password\n")
    assert added.returncode == 0, added.stderr
    weak = balie("users", "add", "bram", "--role", "staff", "--password-stdin",
                 tmp_path=tmp_path, stdin="short\n")
    assert weak.returncode == 2 and "12 characters" in weak.stderr
    repeated = balie("users", "add", "bram", "--role", "staff", "--password-stdin",
                     tmp_path=tmp_path, stdin="aaaaaaaaaaaa\n")
    assert repeated.returncode == 2 and "repeated" in repeated.stderr
    listed = balie("users", "list", tmp_path=tmp_path)
    assert "anna" in listed.stdout and "supervisor" in listed.stdout
    assert "bram" not in listed.stdout


def test_a_users_municipalities_are_set_on_the_command_line(tmp_path: Path) -> None:
    added = balie("users", "add", "olga", "--role", "staff", "--tenants", "oosterdorp",
                  "--password-stdin", tmp_path=tmp_path, stdin="a long enough password\n")
    assert added.returncode == 0 and "for oosterdorp" in added.stdout, added.stderr
    unknown = balie("users", "tenants", "olga", "nergens", tmp_path=tmp_path)
    assert unknown.returncode == 2 and "tenants are * or some of" in unknown.stderr
    moved = balie("users", "tenants", "olga", "westerstad, oosterdorp", tmp_path=tmp_path)
    assert moved.returncode == 0, moved.stderr
    listed = balie("users", "list", tmp_path=tmp_path)
    assert "oosterdorp,westerstad" in listed.stdout


def test_nlu_evaluate_prints_one_json_object(tmp_path: Path) -> None:
    heldout = PROJECT_DIR / "tests" / "data" / "nlu_heldout.yml"
    result = balie("nlu", "evaluate", str(heldout), "--json", tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert set(report) == {"n", "accuracy", "macro_f1", "per_intent_f1", "parse_ms_p50",
                           "parse_ms_p99"}
    assert report["n"] == 448
    assert 0.9 <= report["macro_f1"] <= 1
    assert set(report["per_intent_f1"]) == {e.intent for e in content.read_examples(heldout)}


def test_nlu_train_reports_the_model(tmp_path: Path) -> None:
    result = balie("nlu", "train", tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    assert f"{len(content.load(PROJECT_DIR / 'intents').contract)} intents" in result.stdout


def test_announce_and_policy_from_the_command_line(tmp_path: Path) -> None:
    result = balie("announce", "--nl", "Storing in het portaal", "--en", "Portal outage",
                   "--topic", "storing", "--until", "2099-01-01", tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("announcement 1 valid ")
    wrong = balie("announce", "--nl", "x", "--en", "x", "--topic", "weer", tmp_path=tmp_path)
    assert wrong.returncode != 0 and "unknown topic" in wrong.stderr
    feedback = balie("feedback", "--csv", tmp_path=tmp_path)
    assert feedback.stdout.splitlines() == ["intent,up,down"]
    policy = balie("policy", tmp_path=tmp_path)
    assert "Gemeente Voorbeeld" in policy.stdout and "180 dagen" in policy.stdout
    assert "{" not in policy.stdout


def test_report_gives_response_times_against_the_policy(tmp_path: Path) -> None:
    balie("chat", tmp_path=tmp_path, stdin="hoe lang heb ik om bezwaar te maken?\n",
          BALIE_TENANTS="voorbeeld")
    report = balie("report", tmp_path=tmp_path)
    assert report.returncode == 0, report.stderr
    lines = report.stdout.splitlines()
    assert lines[0] == "Last 30 days"
    assert lines[1].startswith("Balie's answers: median ") and "over 2" in lines[1]
    assert lines[2] == "Staff taking a live chat: no data"


def test_purge_from_the_command_line(tmp_path: Path) -> None:
    balie("chat", tmp_path=tmp_path, stdin="hoi\n", BALIE_TENANTS="voorbeeld")
    kept = balie("purge", tmp_path=tmp_path)
    assert kept.returncode == 0, kept.stderr
    assert json.loads(kept.stdout)["messages"] == 0, "nothing is older than 180 days"
    gone = balie("purge", "--days", "0", tmp_path=tmp_path)
    assert json.loads(gone.stdout)["messages"] == 4, "/start and hoi, each with an answer"
