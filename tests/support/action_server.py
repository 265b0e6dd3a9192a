"""`python -m rasa_sdk --actions actions` on 127.0.0.1, as docker-compose runs it."""

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

from bot.settings import PROJECT_DIR
from tests.conftest import free_port, reachable


@contextmanager
def action_server(env: dict[str, str]) -> Iterator[str]:
    """Run the rasa-sdk action server with these extra variables; yield its address."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "rasa_sdk", "--actions", "actions", "--port", str(port)],
        cwd=PROJECT_DIR, env={**os.environ, **env, "SANIC_HOST": "127.0.0.1"},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
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
        except subprocess.TimeoutExpired:  # Sanic may wait for open keep-alive connections
            process.kill()
            process.wait()
