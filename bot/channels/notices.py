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

from bot.handoff.desk import EVENTS, decode

log = logging.getLogger(__name__)

Handle = Callable[[dict[str, Any]], Awaitable[None]]
# Event type → the response the citizen gets, and which event fields fill its placeholders.
NOTICES: dict[str, tuple[str, dict[str, str]]] = {
    "claimed": ("utter_handoff_claimed", {"agent": "agent_name"}),
    "staff": ("utter_handoff_staff_message", {"agent": "agent_name", "text": "text"}),
    "released": ("utter_handoff_released", {"position": "position"}),
    "closed": ("utter_handoff_closed", {"case": "case"}),
    "position": ("utter_handoff_position", {"position": "position", "minutes": "minutes"}),
}


@dataclass(frozen=True)
class Notice:
    """What to tell a citizen about their handoff: a response with its values."""

    chat_id: str
    response: str
    values: dict[str, object]
    case: int | None = None


def notice(event: dict[str, Any]) -> Notice | None:
    """Return what the citizen of an event is told, or None when it is staff-side only."""
    if event["type"] not in NOTICES:
        return None
    response, fields = NOTICES[event["type"]]
    values = {name: event[field] for name, field in fields.items()}
    case = int(event["case"]) if event["type"] == "closed" else None
    return Notice(event["chat"], response, values, case)


async def join(client: "redis.Redis", group: str, start: str = "$") -> None:
    """Create a consumer group on the event stream if it is not there yet.

    A new group starts at `start`: "$" (from now on) for citizen channels, so a new channel
    does not replay old notices; "0" when the whole backlog still matters.
    """
    with contextlib.suppress(ResponseError):
        await client.xgroup_create(EVENTS, group, id=start, mkstream=True)


async def follow(client: "redis.Redis", group: str, consumer: str, handle: Handle) -> None:
    """Handle the group's events until cancelled; unacknowledged ones are read again first."""
    backlog = True
    while True:
        try:
            batches: Any = await client.xreadgroup(
                group, consumer, {EVENTS: "0" if backlog else ">"}, count=50, block=1000
            )
            entries: list[Any] = [entry for _, stream in batches or [] for entry in stream]
            backlog = backlog and bool(entries)
            for entry_id, fields in entries:
                await handle(decode(fields))
                await client.xack(EVENTS, group, entry_id)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("handoff event failed; retrying", extra={"group": group})
            await asyncio.sleep(1)
