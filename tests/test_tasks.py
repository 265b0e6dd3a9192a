"""Stopping background loops: one that lost its cancellation inside a library still ends."""

import asyncio

import pytest

from bot.ops import tasks


async def test_a_loop_that_lost_its_cancellation_is_cancelled_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(tasks, "AGAIN_SECONDS", 0.1)
    lost = 0

    async def retrying() -> None:
        nonlocal lost
        while True:
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                if lost:
                    raise
                lost += 1  # as a library call that turns it into an error the loop retries

    async def failing() -> None:
        raise RuntimeError("gone before the stop")

    loops = [asyncio.create_task(retrying()), asyncio.create_task(failing())]
    await asyncio.sleep(0)
    await asyncio.wait_for(tasks.stop(*loops), timeout=30)
    assert lost == 1 and loops[0].cancelled()
    assert isinstance(loops[1].exception(), RuntimeError)
