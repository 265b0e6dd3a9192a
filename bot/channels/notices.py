"""Handoff events as the citizen hears them, and the loop each channel runs to read them.

Every channel (Telegram, web chat) and the Telegram staff group read the handoff event stream
with a consumer group of their own, so each sees every event once, whichever process wrote it.
"""

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import redis.asyncio as redis
from redis.exceptions import ResponseError

from bot.handoff import events
from bot.handoff.events import STREAM, Claimed, Closed, Event, FromStaff, Moved, Released

log = logging.getLogger(__name__)

Handle = Callable[[Event], Awaitable[None]]


@dataclass(frozen=True)
class Notice:
    """What to tell a citizen about their handoff: a response with its values."""

    chat_id: str
    response: str
    values: dict[str, object]
    case: int | None = None


def notice(event: Event) -> Notice | None:
    """Return what the citizen of an event is told, or None when it is staff-side only."""
    chat = event.chat_id
    match event:
        case Claimed(agent_name=agent):
            return Notice(chat, "utter_handoff_claimed", {"agent": agent})
        case FromStaff(text=text, agent_name=agent):
            return Notice(chat, "utter_handoff_staff_message", {"agent": agent, "text": text})
        case Released(position=position):
            return Notice(chat, "utter_handoff_released", {"position": position})
        case Closed(case=case):
            return Notice(chat, "utter_handoff_closed", {"case": case}, case)
        case Moved(position=position, minutes=minutes):
            return Notice(chat, "utter_handoff_position",
                          {"position": position, "minutes": minutes})
    return None


async def join(client: "redis.Redis", group: str, start: str = "$") -> None:
    """Create a consumer group on the event stream if it is not there yet.

    A new group starts at `start`: "$" (from now on) for citizen channels, so a new channel
    does not replay old notices; "0" when the whole backlog still matters.
    """
    with contextlib.suppress(ResponseError):
        await client.xgroup_create(STREAM, group, id=start, mkstream=True)


async def follow(client: "redis.Redis", group: str, consumer: str, handle: Handle) -> None:
    """Handle the group's events until cancelled; unacknowledged ones are read again first."""
    backlog = True
    while True:
        try:
            batches: Any = await client.xreadgroup(
                group, consumer, {STREAM: "0" if backlog else ">"}, count=50, block=1000
            )
            entries: list[Any] = [entry for _, stream in batches or [] for entry in stream]
            backlog = backlog and bool(entries)
            for entry_id, fields in entries:
                event = events.decode(fields)
                if event is not None:  # a kind a newer Balie writes: not for this version
                    await handle(event)
                await client.xack(STREAM, group, entry_id)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("handoff event failed; retrying", extra={"group": group})
            await asyncio.sleep(1)
