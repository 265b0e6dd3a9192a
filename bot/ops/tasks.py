"""Stopping background loops for certain: a cancellation that a library loses is sent again."""

import asyncio
from typing import Any

AGAIN_SECONDS = 5.0


async def stop(*tasks: "asyncio.Task[Any]") -> None:
    """Cancel the loops and wait until every one has ended, cancelling again every 5 s.

    On Python 3.11 a cancellation can be lost inside a library call (seen in redis-py reads
    with a timeout); a loop that retries after errors then runs on, and its process never
    stops. The loops' own clean-up is short, so a second cancellation does not cut it off.
    Their errors are collected here: at stop-time they no longer matter.
    """
    pending = {task for task in tasks if not task.done()}
    while pending:
        for task in pending:
            task.cancel()
        _, pending = await asyncio.wait(pending, timeout=AGAIN_SECONDS)
    for task in tasks:
        if not task.cancelled():
            task.exception()
