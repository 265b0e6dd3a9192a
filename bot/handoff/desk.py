"""Handing a chat to staff: queue, claim, relay, release and close, the same for every channel.

A chat's handoff moves through: bot → confirming → queued → with_staff(agent) → bot. The first
step is dialogue state (ChatState.mode); queued and with_staff live here, in Redis, because the
staff side changes them. Every transition is also written to SQL (tables handoffs and
handoff_events), and announced on a Redis stream that the staff desk and the citizen's channel
read, so any process can serve either side and a restart loses nothing.
"""

import json
import logging
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from statistics import median
from typing import Any

import redis.asyncio as redis
from redis.asyncio.client import Pipeline
from sqlalchemy import select, update

from bot.handoff import events
from bot.handoff.events import Kind, as_text
from bot.history.log import Handoff, HandoffEvent, History
from bot.history.masking import mask, phone_numbers
from bot.history.tenancy import EVERYTHING, Scope
from bot.state import keys
from bot.state.store import trim_by_age

log = logging.getLogger(__name__)

QUEUE = keys.HANDOFF_QUEUE
TOPICS = keys.HANDOFF_TOPICS
ALIVE = keys.HANDOFF_ALIVE
EVENTS_MAX = 100_000

# Moves a queued chat to with_staff for one agent; refuses if it is not (or no longer) queued.
CLAIM = """
local mode = redis.call('HGET', KEYS[1], 'mode')
if mode ~= 'queued' then
  return {0, mode or '', redis.call('HGET', KEYS[1], 'agent_name') or ''}
end
redis.call('HSET', KEYS[1], 'mode', 'with_staff', 'agent', ARGV[2], 'agent_name', ARGV[3],
           'claimed_at', ARGV[4])
redis.call('ZREM', KEYS[2], ARGV[1])
return {1, 'with_staff', ARGV[3]}
"""
# Gives a chat to a named agent: a waiting one, or (a transfer) one that ARGV[5] has now.
ASSIGN = """
local mode = redis.call('HGET', KEYS[1], 'mode')
if mode == 'queued' then
  redis.call('HSET', KEYS[1], 'claimed_at', ARGV[4])
elseif mode ~= 'with_staff' or redis.call('HGET', KEYS[1], 'agent') ~= ARGV[5] then
  return 0
end
redis.call('HSET', KEYS[1], 'mode', 'with_staff', 'agent', ARGV[2], 'agent_name', ARGV[3])
redis.call('ZREM', KEYS[2], ARGV[1])
return 1
"""
# Takes a waiting chat out of the queue if its page was not heard from since ARGV[2].
ABANDON = """
local seen = redis.call('ZSCORE', KEYS[3], ARGV[1])
if not seen or tonumber(seen) > tonumber(ARGV[2]) then return 0 end
if redis.call('HGET', KEYS[1], 'mode') ~= 'queued' then return 0 end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
return 1
"""


@dataclass(frozen=True)
class Ticket:
    """A chat's current handoff, as kept in Redis."""

    chat_id: str
    mode: str
    case: int
    kind: str
    language: str
    agent: str = ""
    agent_name: str = ""
    queued_at: float = 0.0
    claimed_at: float = 0.0
    tenant: str = ""

    @classmethod
    def from_hash(cls, chat_id: str, data: Mapping[Any, Any]) -> "Ticket | None":
        """Read a ticket from its Redis hash; None when the chat has no handoff."""
        if not data:
            return None
        text = {as_text(k): as_text(v) for k, v in data.items()}
        return cls(
            chat_id=chat_id, mode=text["mode"], case=int(text["case"]), kind=text["kind"],
            language=text["language"], agent=text.get("agent", ""),
            agent_name=text.get("agent_name", ""), queued_at=float(text.get("queued_at", 0)),
            claimed_at=float(text.get("claimed_at", 0)), tenant=text.get("tenant", ""),
        )


@dataclass(frozen=True)
class Claim:
    """The outcome of pressing Claim: whether this agent won, and who owns the chat now."""

    won: bool
    owner: str


def _now() -> datetime:
    return datetime.now(UTC)


def beat(client: "redis.Redis | Pipeline", chat_id: str) -> Any:
    """Note that a citizen's web chat page is still open (its polls and messages), or queue it.

    Noted for every web chat, so one queued by the message that was its last is noted too;
    `HandoffDesk.abandon` forgets the chats that went quiet and are not at the desk.
    """
    return client.zadd(ALIVE, {chat_id: time.time()})


class HandoffDesk:
    """The channel-agnostic handoff service on Redis and SQL.

    One queue holds every tenant's chats; a chat's place counts only its own tenant's, whose
    staff serve it. A chat without a tenant is the configured municipality's.
    """

    def __init__(
        self, client: "redis.Redis", history: History, minutes_per_citizen: float,
        events_max_age: int, abandon_seconds: float = 300,
    ) -> None:
        self.client = client
        self.history = history
        self.minutes_per_citizen = minutes_per_citizen
        self.events_max_age = events_max_age
        self.abandon_seconds = abandon_seconds
        self._claim = client.register_script(CLAIM)
        self._assign = client.register_script(ASSIGN)
        self._abandon = client.register_script(ABANDON)

    # -- reading -----------------------------------------------------------------------------

    async def ticket(self, chat_id: str) -> Ticket | None:
        """Return the chat's open handoff, if any."""
        ticket = Ticket.from_hash(chat_id, await self.client.hgetall(keys.handoff(chat_id)))
        # Queued before tenants: the configured municipality's.
        if ticket and not ticket.tenant:
            return replace(ticket, tenant=self.history.tenant)
        return ticket

    async def queue(self, scope: Scope = EVERYTHING) -> list[Ticket]:
        """Return the scope's waiting tickets, first in line first (abandoned ones left first)."""
        await self.abandon()
        return [ticket for ticket in await self._waiting() if scope.allows(ticket.tenant)]

    async def _waiting(self) -> list[Ticket]:
        chats = [as_text(c) for c in await self.client.zrange(QUEUE, 0, -1)]
        tickets = [await self.ticket(chat) for chat in chats]
        return [ticket for ticket in tickets if ticket]

    async def position(self, chat_id: str) -> int:
        """Return the chat's place in its tenant's queue, 1 for first; 0 when not waiting."""
        await self.abandon()
        if await self.client.zrank(QUEUE, chat_id) is None:
            return 0
        waiting = await self._waiting()
        tenant = next((t.tenant for t in waiting if t.chat_id == chat_id), None)
        line = [ticket.chat_id for ticket in waiting if ticket.tenant == tenant]
        return line.index(chat_id) + 1 if chat_id in line else 0

    async def expected_minutes(self, position: int) -> int:
        """Estimate the wait from recent handling times, or the configured default."""
        async with self.history.sessions() as session:
            rows = (await session.scalars(
                select(Handoff.handled_seconds).where(Handoff.handled_seconds.is_not(None))
                .order_by(Handoff.id.desc()).limit(20)
            )).all()
        recent = [seconds for seconds in rows if seconds is not None]
        per_citizen = median(recent) / 60 if len(recent) >= 5 else self.minutes_per_citizen
        return max(1, round(position * per_citizen))

    async def topic_of(self, chat_id: str) -> int | None:
        """Return the staff topic used for this citizen before, if any."""
        topic = await self.client.hget(TOPICS, chat_id)
        return int(topic) if topic else None

    async def chat_of_topic(self, topic: int) -> str | None:
        """Return the citizen chat a staff topic belongs to."""
        chat = await self.client.hget(TOPICS, f"t:{topic}")
        return as_text(chat) if chat else None

    async def remember_topic(self, chat_id: str, topic: int) -> None:
        """Link a staff topic and a citizen chat both ways."""
        await self.client.hset(TOPICS, mapping={chat_id: topic, f"t:{topic}": chat_id})

    # -- transitions -------------------------------------------------------------------------

    async def enqueue(self, chat_id: str, kind: Kind, language: str, reason: str | None,
                      tenant: str = "") -> int:
        """Put a chat of a tenant in the queue for a live chat with staff; return its place."""
        now = _now()
        tenant = tenant or self.history.tenant
        async with self.history.sessions.begin() as session:
            case = Handoff(chat_id=chat_id, kind=kind, language=language, reason=reason,
                           queued_at=now, outcome="open", tenant=tenant)
            session.add(case)
            await session.flush()
            session.add(HandoffEvent(handoff_id=case.id, event="queued", actor="citizen", at=now))
        stamp = now.timestamp()
        async with self.client.pipeline(transaction=True) as pipe:
            pipe.delete(keys.handoff(chat_id))
            pipe.hset(keys.handoff(chat_id), mapping={
                "mode": "queued", "case": case.id, "kind": kind, "language": language,
                "queued_at": stamp, "tenant": tenant,
            })
            pipe.zadd(QUEUE, {chat_id: stamp})
            await pipe.execute()
        position = await self.position(chat_id)
        await self.client.hset(keys.handoff(chat_id), "told", position)
        await self.publish(events.Queued(chat_id, case.id, kind, language, position,
                                         reason or "", tenant))
        return position

    # Staff see a call-back request's phone numbers (that is what it is for), kept in Redis
    # only while the task is open; the note itself is masked everywhere.
    async def keep_numbers(self, chat_id: str, task: int, note: str) -> None:
        """Keep the phone numbers of a call-back request for staff, until the task ends."""
        numbers = " ".join(phone_numbers(note))
        if numbers:
            await self.client.hset(keys.callback_numbers(chat_id), str(task), numbers)

    async def numbers(self, tasks: list[Handoff]) -> dict[int, str]:
        """Return the phone numbers to call back, per open task."""
        found = {}
        for task in tasks:
            numbers = await self.client.hget(keys.callback_numbers(task.chat_id), str(task.id))
            if numbers:
                found[task.id] = as_text(numbers)
        return found

    async def drop_numbers(self, chat_id: str, tasks: list[int]) -> None:
        """Forget the phone numbers of tasks that ended."""
        if tasks:
            await self.client.hdel(keys.callback_numbers(chat_id), *map(str, tasks))

    async def claim(self, chat_id: str, agent: str, agent_name: str) -> Claim:
        """Give a waiting chat to one agent; of two at the same moment exactly one wins."""
        won, _, raw_owner = await self._claim(
            keys=[keys.handoff(chat_id), QUEUE],
            args=[chat_id, agent, agent_name, time.time()],
        )
        owner = as_text(raw_owner)
        ticket = await self.ticket(chat_id)
        if not won or ticket is None:
            if ticket:
                await self._event(ticket.case, "claim_lost", agent_name, owner)
            return Claim(False, owner)
        waited = ticket.claimed_at - ticket.queued_at
        await self._update(ticket.case, claimed_at=_now(), agent_id=agent, agent_name=agent_name,
                           waited_seconds=round(waited, 3))
        await self._event(ticket.case, "claimed", agent_name)
        await self.publish(events.Claimed(chat_id, agent_name))
        await self._tell_positions()
        return Claim(True, agent_name)

    async def assign(self, chat_id: str, agent: str, agent_name: str, actor: str,
                     owner: str = "") -> bool:
        """Give a waiting chat, or one `owner` has (a transfer), to a named agent."""
        ticket = await self.ticket(chat_id)
        if ticket is None or not await self._assign(
            keys=[keys.handoff(chat_id), QUEUE],
            args=[chat_id, agent, agent_name, time.time(), owner],
        ):
            await self.refuse(chat_id, actor, "assign")
            return False
        if ticket.mode == "queued":
            await self._update(ticket.case, claimed_at=_now(), agent_id=agent,
                               agent_name=agent_name,
                               waited_seconds=round(time.time() - ticket.queued_at, 3))
        else:
            await self._update(ticket.case, agent_id=agent, agent_name=agent_name)
        await self._event(ticket.case, "assigned" if ticket.mode == "queued" else "transferred",
                          actor, agent_name)
        await self.publish(events.Claimed(chat_id, agent_name))
        if ticket.mode == "queued":
            await self._tell_positions()
        return True

    async def abandon(self) -> list[Ticket]:
        """Take the web chats whose page went quiet out of the queue; the log keeps them."""
        quiet = time.time() - self.abandon_seconds
        left = []
        for raw in await self.client.zrangebyscore(ALIVE, "-inf", quiet):
            chat_id = as_text(raw)
            ticket = await self.ticket(chat_id)
            if ticket is None:
                await self.client.zrem(ALIVE, chat_id)
            elif await self._abandon(keys=[keys.handoff(chat_id), QUEUE, ALIVE],
                                     args=[chat_id, quiet]):
                await self._update(ticket.case, closed_at=_now(), outcome="abandoned")
                await self._event(ticket.case, "abandoned", "balie")
                await self.publish(events.Cancelled(chat_id, ticket.case))
                log.info("abandoned chat left the queue", extra={"case": ticket.case})
                left.append(ticket)
        if left:
            await self._tell_positions()
        return left

    async def from_citizen(self, chat_id: str, text: str) -> None:
        """Pass a citizen's message to the staff side (masked)."""
        await self.publish(events.FromCitizen(chat_id, mask(text)))

    async def from_staff(
        self, chat_id: str, agent: str, text: str, source: str = "telegram"
    ) -> bool:
        """Pass the owning agent's message to the citizen; False if this agent is not the owner."""
        ticket = await self.ticket(chat_id)
        if ticket is None or ticket.mode != "with_staff" or ticket.agent != agent:
            return False
        await self.publish(events.FromStaff(chat_id, text, ticket.agent_name, source))
        return True

    async def release(self, chat_id: str, actor: str) -> bool:
        """Put a claimed chat back in the queue, keeping its place (/transfer)."""
        ticket = await self.ticket(chat_id)
        if ticket is None or ticket.mode != "with_staff":
            return False
        async with self.client.pipeline(transaction=True) as pipe:
            pipe.hset(keys.handoff(chat_id), mapping={"mode": "queued", "agent": "",
                                                        "agent_name": ""})
            pipe.zadd(QUEUE, {chat_id: ticket.queued_at})
            await pipe.execute()
        await self._update(ticket.case, agent_id=None, agent_name=None, claimed_at=None)
        await self._event(ticket.case, "released", actor)
        await self.publish(events.Released(chat_id, await self.position(chat_id)))
        return True

    async def close(self, chat_id: str, actor: str) -> Ticket | None:
        """End a handoff: the chat goes back to the bot (hand back, or the citizen cancels)."""
        ticket = await self.ticket(chat_id)
        if ticket is None:
            return None
        async with self.client.pipeline(transaction=True) as pipe:
            pipe.delete(keys.handoff(chat_id))
            pipe.zrem(QUEUE, chat_id)
            pipe.zrem(ALIVE, chat_id)
            await pipe.execute()
        handled = time.time() - ticket.claimed_at if ticket.mode == "with_staff" else None
        outcome = "closed" if ticket.mode == "with_staff" else "cancelled"
        await self._update(ticket.case, closed_at=_now(), outcome=outcome,
                           handled_seconds=round(handled, 3) if handled is not None else None)
        await self._event(ticket.case, outcome, actor)
        ended = events.Closed if ticket.mode == "with_staff" else events.Cancelled
        await self.publish(ended(chat_id, ticket.case))
        if ticket.mode == "queued":
            await self._tell_positions()
        return ticket

    async def erase(self, chat_id: str) -> None:
        """The citizen erases the chat (/vergeet): it leaves the desk, and staff hear only that."""
        ticket = await self.ticket(chat_id)
        if ticket is None:
            return
        async with self.client.pipeline(transaction=True) as pipe:
            pipe.delete(keys.handoff(chat_id))
            pipe.zrem(QUEUE, chat_id)
            pipe.zrem(ALIVE, chat_id)
            await pipe.execute()
        await self.publish(events.Erased("", topic=await self.topic_of(chat_id) or 0))
        if ticket.mode == "queued":
            await self._tell_positions()

    async def rate(self, case: int, rating: int | None = None, comment: str | None = None) -> None:
        """Store the citizen's rating (1 to 5) or comment on a handled chat."""
        values: dict[str, Any] = {}
        if rating is not None:
            values["rating"] = rating
        if comment is not None:
            values["comment"] = mask(comment)
        await self._update(case, **values)
        await self._event(case, "rated", "citizen", json.dumps(values, ensure_ascii=False))

    async def refuse(self, chat_id: str | None, actor: str, action: str) -> None:
        """Record a staff action refused because the actor is not allowed to do it."""
        log.warning("staff action refused", extra={"chat": chat_id, "actor": actor,
                                                   "action": action})
        ticket = await self.ticket(chat_id) if chat_id else None
        await self._event(ticket.case if ticket else 0, "refused", actor, action)

    async def overdue(self, seconds: float) -> list[Ticket]:
        """Return waiting tickets older than `seconds` that got no reminder yet, and mark them."""
        late = []
        for ticket in await self.queue():
            if time.time() - ticket.queued_at >= seconds and await self.client.hsetnx(
                keys.handoff(ticket.chat_id), "reminded", 1
            ):
                late.append(ticket)
        return late

    # -- helpers -----------------------------------------------------------------------------

    async def publish(self, event: events.Event) -> None:
        """Announce an event on the handoff stream."""
        body: dict[Any, Any] = events.encode(event)
        async with self.client.pipeline(transaction=True) as pipe:
            pipe.xadd(events.STREAM, body, maxlen=EVENTS_MAX, approximate=True)
            trim_by_age(pipe, events.STREAM, self.events_max_age)
            await pipe.execute()

    async def _tell_positions(self) -> None:
        """Tell waiting citizens their new place when it moved notably (two up, or first)."""
        places: Counter[str] = Counter()
        for ticket in await self._waiting():
            places[ticket.tenant] += 1
            place = places[ticket.tenant]
            told = int(await self.client.hget(keys.handoff(ticket.chat_id), "told") or 0)
            if place < told and (told - place >= 2 or place == 1):
                await self.client.hset(keys.handoff(ticket.chat_id), "told", place)
                await self.publish(events.Moved(ticket.chat_id, place,
                                                await self.expected_minutes(place)))

    async def _update(self, case: int, **values: Any) -> None:
        async with self.history.sessions.begin() as session:
            await session.execute(update(Handoff).where(Handoff.id == case).values(**values))

    async def _event(self, case: int, event: str, actor: str, detail: str | None = None) -> None:
        async with self.history.sessions.begin() as session:
            session.add(HandoffEvent(handoff_id=case, event=event, actor=actor, detail=detail,
                                     at=_now()))

