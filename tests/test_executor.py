"""Every action gives the same events and messages in process and on a real rasa-sdk server."""

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from bot.executor import Executor, UnknownAction, tracker
from bot.settings import PROJECT_DIR
from bot.state import ChatState
from bot.types import Parse
from tests.conftest import free_port, reachable

TEXTS = ["zijn jullie nu open?", "wanneer moet ik betalen",
         "we zijn met z'n drieën, huis van 410.000 en een hond, wat betalen we?",
         "hoeveel betaal ik"]


@pytest.fixture(scope="module")
def action_server() -> Iterator[str]:
    """`python -m rasa_sdk --actions actions` on 127.0.0.1, as docker-compose runs it."""
    port = free_port()
    env = {**os.environ, "SANIC_HOST": "127.0.0.1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "rasa_sdk", "--actions", "actions", "--port", str(port)],
        cwd=PROJECT_DIR, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(300):
            if reachable(port):
                break
            time.sleep(0.1)
        else:
            raise TimeoutError("the rasa-sdk action server did not start")
        yield f"http://127.0.0.1:{port}"
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.mark.parametrize("language", ["nl", "en"])
@pytest.mark.parametrize("text", TEXTS)
async def test_every_action_is_the_same_in_process_and_over_http(
    action_server: str, language: str, text: str
) -> None:
    local, remote = Executor(), Executor(endpoint=action_server)
    parse = Parse("tax_calculation", 0.9, (("tax_calculation", 0.9),), None)
    state = ChatState(language=language)  # type: ignore[arg-type]
    try:
        assert local.names == remote.names and len(local.names) >= 3
        for name in local.names:
            here = await local.run(name, tracker("c", state, text, parse))
            there = await remote.run(name, tracker("c", state, text, parse))
            assert here == there, name
            assert here.messages, f"{name} said nothing"
    finally:
        await remote.close()


async def test_an_unknown_action_is_refused_both_ways(action_server: str) -> None:
    remote = Executor(endpoint=action_server)
    try:
        for executor in (Executor(), remote):
            with pytest.raises(UnknownAction, match="nope"):
                await executor.run("nope", tracker("c", ChatState(), "", None))
    finally:
        await remote.close()
