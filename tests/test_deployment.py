"""docker-compose.yml and the Dockerfile describe a working deployment."""

import os
import shutil
import subprocess

import pytest
import yaml

from bot.settings import PROJECT_DIR

COMPOSE = PROJECT_DIR / "docker-compose.yml"


def test_compose_runs_bot_with_redis_and_postgres() -> None:
    services = yaml.safe_load(COMPOSE.read_text())["services"]
    assert set(services) >= {"bot", "redis", "postgres", "actions"}
    assert services["actions"]["command"][:4] == ["python", "-m", "rasa_sdk", "--actions"]
    assert services["bot"]["environment"]["BALIE_ACTION_ENDPOINT"] == "http://actions:5055"
    bot = services["bot"]
    assert bot["environment"]["REDIS_URL"].startswith("redis://redis:")
    assert bot["environment"]["DATABASE_URL"].startswith("postgresql+asyncpg://")
    assert "@postgres:5432/" in bot["environment"]["DATABASE_URL"]
    assert set(bot["depends_on"]) == {"redis", "postgres", "actions"}
    assert all("healthcheck" in services[name] for name in ("redis", "postgres"))
    assert bot["environment"]["BALIE_CONSOLE_HOST"] == "0.0.0.0"
    assert any(port.endswith(":8080") for port in bot["ports"])


def test_compose_file_is_accepted_by_docker_compose() -> None:
    if shutil.which("docker") and subprocess.run(
        ["docker", "compose", "version"], capture_output=True
    ).returncode == 0:
        command = ["docker", "compose"]
    elif shutil.which("docker-compose"):
        command = ["docker-compose"]
    else:
        pytest.skip("neither `docker compose` nor `docker-compose` is installed")
    result = subprocess.run(
        [*command, "-f", str(COMPOSE), "config", "-q"], capture_output=True, text=True,
        env={**os.environ, "TELEGRAM_TOKEN": "123:abc", "BALIE_WEBHOOK_SECRET": "s" * 32},
        cwd=PROJECT_DIR,
    )
    assert result.returncode == 0, result.stderr


def test_compose_requires_the_webhook_secret() -> None:
    bot = yaml.safe_load(COMPOSE.read_text())["services"]["bot"]["environment"]
    assert bot["BALIE_WEBHOOK_SECRET"].startswith("${BALIE_WEBHOOK_SECRET:?")
    assert bot["BALIE_HEALTH_TOKEN"] == "${BALIE_HEALTH_TOKEN:-}"


def test_dockerfile_copies_what_exists() -> None:
    for line in (PROJECT_DIR / "Dockerfile").read_text().splitlines():
        if line.startswith("COPY "):
            for source in line.split()[1:-1]:
                assert (PROJECT_DIR / source).exists(), source


def test_compose_scales_workers_behind_one_intake() -> None:
    services = yaml.safe_load(COMPOSE.read_text())["services"]
    assert services["bot"]["command"] == ["balie", "run", "--intake-only"]
    worker = services["worker"]
    assert worker["command"] == ["balie", "worker"]
    assert "ports" not in worker and "container_name" not in worker, "must scale with --scale"
    for name in ("TELEGRAM_TOKEN", "REDIS_URL", "DATABASE_URL", "BALIE_ACTION_ENDPOINT"):
        assert worker["environment"][name] == services["bot"]["environment"][name]
