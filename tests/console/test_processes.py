"""BALIE_CONSOLE_PROCESSES: several real console processes serving one port and one chat."""

import asyncio
import signal
import socket
from pathlib import Path

import aiohttp
import psutil
import pytest

from bot.console.app import shared_socket
from tests.conftest import holders
from tests.support.browser import console

CONNECTIONS = 16  # all on one of two processes by chance: 1 in 2**15


def listening(port: int) -> set[int]:
    """The processes with a listening socket on the port."""
    return set(holders(port, psutil.CONN_LISTEN))


async def say(url: str, token: str, text: str) -> str:
    """Send a text over a connection of its own; return the answer's texts."""
    async with aiohttp.ClientSession(url) as session, session.post(
            "/chat/api/send", json={"text": text}, headers={"X-Chat-Token": token}) as response:
        assert response.status == 200, await response.text()
        return "\n".join(reply["text"] for reply in (await response.json())["replies"])


@pytest.mark.process
async def test_two_console_processes_share_the_port_and_hold_one_conversation(
    environment: dict[str, str], backend: dict[str, str], tmp_path: Path
) -> None:
    # On the embedded defaults the first process starts the redis-server both use.
    shared = {"REDIS_URL": ""} if backend["DATABASE_URL"].startswith("sqlite") else {}
    env = {**environment, **shared, "BALIE_CONSOLE_PROCESSES": "2"}
    port = int(env["BALIE_CONSOLE_PORT"])
    async with console(env, tmp_path / "console.log") as url:
        for _ in range(300):
            if len(listening(port)) == 2:
                break
            await asyncio.sleep(0.1)
        first, joined = sorted(listening(port))
        assert psutil.Process(joined).ppid() == first

        sessions = [aiohttp.ClientSession(url) for _ in range(CONNECTIONS)]
        try:
            for session in sessions:  # each keeps its connection open (the page read whole)
                async with session.get("/chat") as page:
                    assert page.status == 200 and "<html" in await page.text()
            serving = set(holders(port, psutil.CONN_ESTABLISHED))
            assert serving == {first, joined}, "the kernel shares the connections out"
            async with sessions[0].post("/chat/api/start", json={"language": "nl"}) as started:
                token = (await started.json())["token"]
        finally:
            for session in sessions:
                await session.close()

        # Each message on a new connection, to either process: the conversation holds.
        assert "(2 honden)" in await say(url, token, "hoeveel hondenbelasting voor 2 honden?")
        assert "(3 honden)" in await say(url, token, "en voor 3?")

        killed = psutil.Process(joined)
        killed.send_signal(signal.SIGKILL)
        killed.wait(30)  # connections it had not accepted yet are reset with it
        for _ in range(5):  # the one left answers meanwhile
            assert "(3 honden)" in await say(url, token, "hoeveel hondenbelasting voor 3 honden?")
        for _ in range(300):
            if len(listening(port)) == 2:
                break
            await asyncio.sleep(0.1)
        [again] = listening(port) - {first}
        assert again != joined and psutil.Process(again).ppid() == first, "started again"
        assert "(4 honden)" in await say(url, token, "en voor 4?")  # the chat goes on
    assert not psutil.pid_exists(again) or psutil.Process(again).status() == psutil.STATUS_ZOMBIE
    assert "process exited; starting it again" in (tmp_path / "console.log").read_text()


def test_a_port_is_shared_only_among_console_processes() -> None:
    with socket.socket() as other:  # another program's (or a console of one process)
        other.bind(("127.0.0.1", 0))
        other.listen()
        with pytest.raises(OSError):
            shared_socket("127.0.0.1", other.getsockname()[1])
    with shared_socket("127.0.0.1", 0) as first:
        port = first.getsockname()[1]
        first.listen()
        with shared_socket("127.0.0.1", port) as second:
            assert second.getsockname() == first.getsockname()
